// The reconciliation matrix of a period (GET /api/reports/reconciliation): one row per
// sending entity, one column per receiving entity; each cell is a directed pair, coloured
// by its grade (RED / AMBER / GREEN by open difference against the group's thresholds;
// red means someone is waiting, not that something is wrong) and opens the pair's items.
// Below: the ageing of open items as a small SVG bar chart, totals, and the CSV export.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api } from '../core/api';
import { formatDateTime, t } from '../core/i18n';
import { Link, navigate, type RouteProps } from '../core/router';
import { formatDecimal } from '../core/money';
import type { EntityRef } from '../core/session';
import { STATUS_TONE, type Page, type TransferSummary } from '../core/types';
import { Badge, Empty, ErrorBox, Money, Spinner } from '../core/ui';
import { BUCKETS, REPORT_STATUSES, type AgeCell, type Bucket, type PairReport, type PeriodView, type ReconciliationReport } from './types';

const openCount = (p: Pick<PairReport, 'byStatus'>) => p.byStatus.PENDING.count + p.byStatus.DISPUTED.count;
const pairPath = (period: string, p: PairReport) => `/hq/reconciliation/${period}/${encodeURIComponent(p.sender.code)}/${encodeURIComponent(p.receiver.code)}`;

/** Open items by age: one bar per bucket (count), drawn as inline SVG (no chart library). */
export function AgeingChart({ ageing, currency }: { ageing: Record<Bucket, AgeCell>; currency: string }) {
  const max = Math.max(1, ...BUCKETS.map((b) => ageing[b].count));
  const W = 320;
  const H = 150;
  const barW = 56;
  const gap = (W - BUCKETS.length * barW) / (BUCKETS.length + 1);
  const top = 22;
  const bottom = 26;
  const tone = ['#2e7d32', '#e59500', '#e4572e', '#c62828'];
  const summary = BUCKETS.map((b) => `${t(`hq.rec.bucket.${b}`)}: ${ageing[b].count}`).join(', ');
  return (
    <figure class="chart" data-testid="ageing-chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${t('hq.rec.ageing')}: ${summary}`} preserveAspectRatio="xMidYMid meet">
        <line x1="0" y1={H - bottom} x2={W} y2={H - bottom} stroke="#b9c1cc" />
        {BUCKETS.map((b, i) => {
          const c = ageing[b].count;
          const h = ((H - top - bottom) * c) / max;
          const x = gap + i * (barW + gap);
          const y = H - bottom - h;
          return (
            <g key={b} data-bucket={b} data-count={c}>
              <title>{`${t(`hq.rec.bucket.${b}`)}: ${c} · ${formatDecimal(ageing[b].amountGroup, 2)} ${currency}`}</title>
              <rect x={x} y={y} width={barW} height={Math.max(h, c > 0 ? 2 : 0)} rx="3" fill={tone[i]} />
              <text x={x + barW / 2} y={y - 6} text-anchor="middle" font-size="13" fill="#1d2330">
                {c}
              </text>
              <text x={x + barW / 2} y={H - 8} text-anchor="middle" font-size="12" fill="#5f6b7a">
                {t(`hq.rec.bucket.${b}`)}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption class="muted">{t('hq.rec.ageingHelp')}</figcaption>
    </figure>
  );
}

function Matrix({ report }: { report: ReconciliationReport }) {
  const byCode = new Map<string, EntityRef>();
  for (const p of report.pairs) {
    byCode.set(p.sender.code, p.sender);
    byCode.set(p.receiver.code, p.receiver);
  }
  const senders = [...new Set(report.pairs.map((p) => p.sender.code))].sort();
  const receivers = [...new Set(report.pairs.map((p) => p.receiver.code))].sort();
  const pair = (s: string, r: string) => report.pairs.find((p) => p.sender.code === s && p.receiver.code === r);
  return (
    <div class="table-wrap matrix-wrap" tabIndex={0} aria-label={t('hq.rec.matrix')}>
      <table class="matrix" data-testid="matrix">
        <caption class="muted">{t('hq.rec.axes')}</caption>
        <thead>
          <tr>
            <th scope="col" class="corner">
              {t('hq.rec.senderReceiver')}
            </th>
            {receivers.map((r) => (
              <th scope="col" key={r} title={byCode.get(r)?.name}>
                <span class="ent-code">{r}</span>
                <span class="ent-name">{byCode.get(r)?.name}</span>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {senders.map((s) => (
            <tr key={s}>
              <th scope="row" title={byCode.get(s)?.name}>
                <span class="ent-code">{s}</span>
                <span class="ent-name">{byCode.get(s)?.name}</span>
              </th>
              {receivers.map((r) => {
                const p = pair(s, r);
                if (!p) return <td key={r} class="cell-none" aria-label={t('hq.rec.noItems')}>·</td>;
                const open = openCount(p);
                const total = REPORT_STATUSES.reduce((n, st) => n + p.byStatus[st].count, 0);
                const label = t('hq.rec.cellLabel', { sender: s, receiver: r, total, open, overdue: p.overdue, grade: t(`hq.rec.grade.${p.grade}`) });
                return (
                  <td key={r} class={`cell cell-${p.grade}${open === 0 ? ' cell-clear' : ''}`}>
                    <Link to={pairPath(report.period, p)} class="cell-link">
                      <span data-testid="matrix-cell" data-sender={s} data-receiver={r} data-grade={p.grade} aria-label={label} title={label}>
                        <span class="cell-count">{t('hq.rec.openShort', { open, total })}</span>
                        <Money amount={p.openDifference} fraction={2} class="cell-money" />
                        {p.overdue > 0 && <span class="cell-overdue">{t('hq.rec.overdueShort', { n: p.overdue })}</span>}
                      </span>
                    </Link>
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

async function downloadCsv(period: string, setError: (e: unknown) => void) {
  try {
    const res = await api<Response>('GET', `/api/reports/reconciliation?period=${period}&format=csv`, undefined, { raw: true, headers: { accept: 'text/csv' } });
    const blob = await res.blob();
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = `reconciliation-${period}.csv`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (err) {
    setError(err);
  }
}

export function ReconciliationPage({ query }: RouteProps) {
  const [periods, setPeriods] = useState<PeriodView[] | null>(null);
  const [report, setReport] = useState<ReconciliationReport | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const period = query.get('period') ?? periods?.[0]?.period ?? '';

  useEffect(() => {
    api<PeriodView[]>('GET', '/api/periods').then(setPeriods, setError);
  }, []);
  const load = useCallback(async () => {
    if (!period) return;
    setLoading(true);
    try {
      setReport(await api<ReconciliationReport>('GET', `/api/reports/reconciliation?period=${encodeURIComponent(period)}`));
      setError(null);
    } catch (err) {
      setError(err);
    }
    setLoading(false);
  }, [period]);
  useEffect(() => void load(), [load]);

  if (!periods) return error ? <ErrorBox error={error} /> : <Spinner />;
  const options = periods.some((p) => p.period === period) || !period ? periods.map((p) => p.period) : [period, ...periods.map((p) => p.period)];
  const r = report && report.period === period ? report : null;
  return (
    <section data-testid="reconciliation-page">
      <h1>{t('hq.rec.title')}</h1>
      <div class="toolbar">
        <label class="field">
          <span class="field-label">{t('field.period')}</span>
          <select value={period} onChange={(e) => navigate(`/hq/reconciliation?period=${e.currentTarget.value}`, { replace: true })} data-testid="rec-period">
            {options.map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
        </label>
        {r && (
          <button type="button" class="secondary" onClick={() => void downloadCsv(period, setError)} data-testid="rec-csv">
            {t('hq.rec.csv')}
          </button>
        )}
      </div>
      <ErrorBox error={error} onRetry={() => void load()} />
      {!period ? (
        <Empty>{t('hq.periods.empty')}</Empty>
      ) : !r ? (
        loading ? <Spinner /> : null
      ) : (
        <>
          <p class="muted">
            {t('hq.rec.thresholds', { amber: formatDecimal(r.thresholds.amber, 2), red: formatDecimal(r.thresholds.red, 2), currency: r.groupCurrency })} ·{' '}
            {t('hq.rec.generated', { at: formatDateTime(r.generatedAt) })}
          </p>
          <div class="legend">
            <Badge tone="red">{t('hq.rec.grade.RED')}</Badge>
            <Badge tone="amber">{t('hq.rec.grade.AMBER')}</Badge>
            <Badge tone="green">{t('hq.rec.grade.GREEN')}</Badge>
          </div>
          {r.pairs.length === 0 ? <Empty>{t('hq.rec.empty')}</Empty> : <Matrix report={r} />}
          {r.totals.missingFxRates.length > 0 && <p class="error-box">{t('hq.rec.missingFx', { list: r.totals.missingFxRates.join(', ') })}</p>}
          <div class="grid2">
            <section class="card">
              <h2>{t('hq.rec.ageing')}</h2>
              <AgeingChart ageing={r.totals.ageing} currency={r.groupCurrency} />
            </section>
            <section class="card" data-testid="rec-totals">
              <h2>{t('hq.rec.totals')}</h2>
              <dl class="kv">
                {REPORT_STATUSES.map((s) => (
                  <div key={s}>
                    <dt>
                      <Badge tone={STATUS_TONE[s]}>{t(`status.${s}`)}</Badge>
                    </dt>
                    <dd>
                      {r.totals.byStatus[s].count} · <Money amount={r.totals.byStatus[s].amountGroup} currency={r.groupCurrency} />
                    </dd>
                  </div>
                ))}
                <div>
                  <dt>{t('hq.rec.overdue')}</dt>
                  <dd>{r.totals.overdue}</dd>
                </div>
                <div>
                  <dt>{t('hq.rec.openDifference')}</dt>
                  <dd>
                    <Money amount={r.totals.openDifference} currency={r.groupCurrency} />
                  </dd>
                </div>
              </dl>
            </section>
          </div>
        </>
      )}
    </section>
  );
}

// ---- one pair's items ---------------------------------------------------------------------

/** The transfers of one directed pair in a period (cell click-through). */
export function PairItemsPage({ params }: RouteProps) {
  const { period, sender, receiver } = params;
  const [items, setItems] = useState<TransferSummary[] | null>(null);
  const [pair, setPair] = useState<PairReport | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(async () => {
    try {
      // GET /api/transfers filters a pair in both directions: keep this direction only.
      const all: TransferSummary[] = [];
      for (let page = 1; page <= 20; page++) {
        const q = new URLSearchParams({ entity: sender, counterparty: receiver, period, pageSize: '200', page: String(page) });
        const r = await api<Page<TransferSummary>>('GET', `/api/transfers?${q}`);
        all.push(...r.items);
        if (page * r.pageSize >= r.total) break;
      }
      setItems(all.filter((x) => x.senderEntity.code === sender && x.receiverEntity.code === receiver));
      const rep = await api<ReconciliationReport>('GET', `/api/reports/reconciliation?period=${encodeURIComponent(period)}`);
      setPair(rep.pairs.find((p) => p.sender.code === sender && p.receiver.code === receiver) ?? null);
      setError(null);
    } catch (err) {
      setError(err);
    }
  }, [period, sender, receiver]);
  useEffect(() => void load(), [load]);

  return (
    <section data-testid="pair-page" data-sender={sender} data-receiver={receiver}>
      <p>
        <Link to={`/hq/reconciliation?period=${period}`}>← {t('hq.rec.back')}</Link>
      </p>
      <h1 class="names">
        {pair ? `${pair.sender.name} → ${pair.receiver.name}` : `${sender} → ${receiver}`} · {period}
      </h1>
      {pair && (
        <p>
          <Badge tone={pair.grade === 'RED' ? 'red' : pair.grade === 'AMBER' ? 'amber' : 'green'}>{t(`hq.rec.grade.${pair.grade}`)}</Badge>{' '}
          {t('hq.rec.openDifference')}: <Money amount={pair.openDifference} /> · {t('hq.rec.overdue')}: {pair.overdue}
        </p>
      )}
      <ErrorBox error={error} onRetry={() => void load()} />
      {!items ? (
        error ? null : <Spinner />
      ) : items.length === 0 ? (
        <Empty>{t('hq.rec.noItems')}</Empty>
      ) : (
        <ul class="task-list" data-testid="pair-items">
          {items.map((x) => (
            <li key={x.id}>
              <Link to={`/transfers/${x.id}`} class={`task${x.overdue ? ' overdue' : ''}`}>
                <span data-testid="pair-item" data-transfer-id={x.id} data-status={x.status}>
                  <span class="task-top">
                    <span class="task-who">{x.externalRef}</span>
                    <Money amount={x.amount} currency={x.currency} />
                  </span>
                  <span class="task-tags">
                    <Badge tone={STATUS_TONE[x.status]}>{t(`status.${x.status}`)}</Badge>
                    {x.overdue && <Badge tone="red">{t('inbox.overdue')}</Badge>}
                    <span class="task-meta">
                      {t(`type.${x.type}`)} · {x.documentDate}
                    </span>
                  </span>
                </span>
              </Link>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
