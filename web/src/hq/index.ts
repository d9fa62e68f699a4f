// HQ screens: add their routes here (arbitration queue, periods, reconciliation,
// payment freezes, robot channels, approval policies). Each route should carry
// `allow: isHq` (or isHqFinance) from core/session so that only HQ sees it, and
// `nav: 'hq.nav.<name>'` to appear in the navigation. Texts go in web/src/i18n/hq.ts.
import type { RouteDef } from '../core/router';

export const hqRoutes: RouteDef[] = [];

/**
 * Extra panels on the transfer detail page (e.g. HQ's arbitration decision form). Each is
 * rendered with the transfer, the user's allowed actions and a callback to call with the
 * API's ActionResponse transfer after a successful action (the page refreshes itself).
 */
export interface TransferPanelProps {
  transfer: import('../core/types').TransferDetail;
  actions: import('../core/types').TransferActions;
  onDone: (transfer: import('../core/types').TransferDetail, message: string) => void;
}
export const transferPanels: Array<import('preact').ComponentType<TransferPanelProps>> = [];
