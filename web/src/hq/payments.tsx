// Payment-freeze status per entity (GET /api/entities/:code/payment-status for each entity
// of the group): may it raise payment requests, and if not, since when, in which cycle,
// and which overdue unconfirmed transfers froze it (each one opens the transfer).
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api } from '../core/api';
import { formatDateTime, t } from '../core/i18n';
import { Link, type RouteProps } from '../core/router';
import { useSession } from '../core/session';
import { Badge, Empty, ErrorBox, Money, Spinner } from '../core/ui';
import type { PaymentStatus } from './types';

export function PaymentsPage(_: RouteProps) {
  const { session } = useSession();
  const [rows, setRows] = useState<PaymentStatus[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const entities = session?.config.entities ?? [];
  const load = useCallback(async () => {
    try {
      const all = await Promise.all(entities.map((e) => api<PaymentStatus>('GET', `/api/entities/${encodeURIComponent(e.code)}/payment-status`)));
      // frozen first, then by code
      all.sort((a, b) => Number(b.paymentsFrozen) - Number(a.paymentsFrozen) || a.entity.code.localeCompare(b.entity.code));
      setRows(all);
      setError(null);
    } catch (err) {
      setError(err);
    }
  }, [entities.map((e) => e.code).join(',')]);
  useEffect(() => void load(), [load]);

  if (!rows) return error ? <ErrorBox error={error} onRetry={() => void load()} /> : <Spinner />;
  const frozen = rows.filter((r) => r.paymentsFrozen).length;
  return (
    <section data-testid="payments-page">
      <h1>{t('hq.pay.title')}</h1>
      <p class="muted">{t('hq.pay.help')}</p>
      <p data-testid="pay-summary">{t('hq.pay.summary', { frozen, total: rows.length })}</p>
      <ErrorBox error={error} />
      {rows.length === 0 ? (
        <Empty />
      ) : (
        <ul class="plain-list">
          {rows.map((r) => (
            <li key={r.entity.code} class={`card pay${r.paymentsFrozen ? ' pay-frozen' : ''}`} data-testid="pay-row" data-entity={r.entity.code} data-frozen={String(r.paymentsFrozen)}>
              <div class="period-head">
                <strong class="ent-title" title={r.entity.name}>
                  {r.entity.code} · {r.entity.name}
                </strong>
                {r.paymentsFrozen ? <Badge tone="red">{t('hq.pay.frozen')}</Badge> : <Badge tone="green">{t('hq.pay.ok')}</Badge>}
              </div>
              {r.paymentsFrozen && (
                <>
                  <p class="muted">
                    {r.since ? t('hq.pay.since', { at: formatDateTime(r.since) }) : ''}
                    {r.cycle ? ` · ${t('hq.pay.cycle', { cycle: r.cycle })}` : ''}
                  </p>
                  <p>{t('hq.pay.reasons', { n: r.reasons.length })}</p>
                  <ul class="reason-list">
                    {r.reasons.map((x) => (
                      <li key={x.transferId}>
                        <Link to={`/transfers/${x.transferId}`}>{x.externalRef}</Link> · {x.counterparty} · <Money amount={x.amount} currency={x.currency} /> ·{' '}
                        <span class="muted">{t('hq.pay.due', { at: formatDateTime(x.dueAt) })}</span> · {t(`status.${x.status}`)}
                      </li>
                    ))}
                  </ul>
                </>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
