// HQ finance's arbitration queue (GET /api/disputes): the group's disputed transfers,
// soonest due first, refreshed live. Each row opens the transfer, where the decision form
// (arbitrate.tsx) sits next to both sides' documents.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api } from '../core/api';
import { onEvent } from '../core/events';
import { t } from '../core/i18n';
import { band } from '../core/money';
import { Link, type RouteProps } from '../core/router';
import { useSession } from '../core/session';
import type { Page, TransferSummary } from '../core/types';
import { Badge, Empty, ErrorBox, Spinner, TransferLines } from '../core/ui';

export function DisputesPage(_: RouteProps) {
  const { session } = useSession();
  const [data, setData] = useState<Page<TransferSummary> | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(async () => {
    try {
      setData(await api<Page<TransferSummary>>('GET', '/api/disputes?pageSize=200'));
      setError(null);
    } catch (err) {
      setError(err);
    }
  }, []);
  useEffect(() => {
    void load();
    return onEvent(() => void load());
  }, [load]);

  if (!data) return error ? <ErrorBox error={error} onRetry={() => void load()} /> : <Spinner />;
  return (
    <section data-testid="disputes-page">
      <h1>
        {t('hq.disputes.title')} <span class="muted">({data.total})</span>
      </h1>
      <p class="muted">{t('hq.disputes.help')}</p>
      <ErrorBox error={error} />
      {data.items.length === 0 ? (
        <Empty>{t('hq.disputes.empty')}</Empty>
      ) : (
        <ul class="task-list" data-testid="dispute-list">
          {data.items.map((tr) => {
            const b = band(tr.amount, session?.config.thresholds ?? null);
            return (
              <li key={tr.id}>
                <Link to={`/transfers/${tr.id}`} class={`task band-${b}${tr.overdue ? ' overdue' : ''}`}>
                  <span data-testid="dispute-row" data-transfer-id={tr.id} data-band={b}>
                    <TransferLines tr={tr} dueAt={tr.dueAt} />
                    <span class="task-tags">
                      <Badge tone="amber">{t('status.DISPUTED')}</Badge>
                      {tr.overdue && <Badge tone="red">{t('inbox.overdue')}</Badge>}
                      {b !== 'green' && <Badge tone={b}>{t(`band.${b}`)}</Badge>}
                      <span class="link-like">{t('hq.disputes.decide')} →</span>
                    </span>
                  </span>
                </Link>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

// ---- nav badge: how many disputes wait for HQ --------------------------------------------
let disputeCount = 0;
let fetching = false;
const countListeners = new Set<(n: number) => void>();
async function refreshCount(): Promise<void> {
  if (fetching) return;
  fetching = true;
  try {
    disputeCount = (await api<Page<TransferSummary>>('GET', '/api/disputes?pageSize=1')).total;
    countListeners.forEach((fn) => fn(disputeCount));
  } catch {
    /* the badge is a hint; the page shows errors */
  }
  fetching = false;
}

/** Number of disputed transfers in the group (the HQ nav badge); live. */
export function useDisputeCount(): number {
  const [n, setN] = useState(disputeCount);
  useEffect(() => {
    countListeners.add(setN);
    void refreshCount();
    const off = onEvent((e) => {
      if (e.transferId) void refreshCount();
    });
    return () => {
      countListeners.delete(setN);
      off();
    };
  }, []);
  return n;
}
