// HQ screens: arbitration queue (+ the decision form on the transfer page), periods
// (freeze / reopen), the reconciliation matrix (+ one pair's items), payment freezes,
// robot channels and failed deliveries, approval policies. Each route carries
// `allow: isHq` so only HQ sees it; texts in web/src/i18n/hq.ts.
import type { RouteDef } from '../core/router';
import { isHq } from '../core/session';
import { ArbitrationPanel } from './arbitrate';
import { DisputesPage, useDisputeCount } from './disputes';
import { PeriodsPage } from './periods';
import { PairItemsPage, ReconciliationPage } from './reconciliation';
import { PaymentsPage } from './payments';
import { RobotsPage } from './robots';
import { PoliciesPage } from './policies';

export const hqRoutes: RouteDef[] = [
  { path: '/hq/disputes', component: DisputesPage, nav: 'hq.nav.disputes', allow: isHq, useBadge: useDisputeCount },
  { path: '/hq/periods', component: PeriodsPage, nav: 'hq.nav.periods', allow: isHq },
  { path: '/hq/reconciliation', component: ReconciliationPage, nav: 'hq.nav.reconciliation', allow: isHq },
  { path: '/hq/reconciliation/:period/:sender/:receiver', component: PairItemsPage, allow: isHq },
  { path: '/hq/payments', component: PaymentsPage, nav: 'hq.nav.payments', allow: isHq },
  { path: '/hq/robots', component: RobotsPage, nav: 'hq.nav.robots', allow: isHq },
  { path: '/hq/policies', component: PoliciesPage, nav: 'hq.nav.policies', allow: isHq },
];

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
export const transferPanels: Array<import('preact').ComponentType<TransferPanelProps>> = [ArbitrationPanel];
