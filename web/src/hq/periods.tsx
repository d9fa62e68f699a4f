// Accounting periods (HQ): status, how many open items (PENDING or DISPUTED transfers) a
// freeze affects, freeze with the choice of what happens to them (ESCALATE: HQ finance
// takes them now; ROLL_FORWARD: moved to the next open period) and reopen with a reason.
// GET /api/periods, POST /api/periods/:period/freeze, POST /api/periods/:period/reopen.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, ApiError } from '../core/api';
import { useForm, useSubmit } from '../core/form';
import { formatDateTime, t } from '../core/i18n';
import { Link, type RouteProps } from '../core/router';
import { Badge, Empty, ErrorBox, Field, Spinner } from '../core/ui';
import { FREEZE_CHOICES, type FreezeResult, type PeriodView } from './types';

const PERIOD = /^\d{4}-(0[1-9]|1[0-2])$/;

function FreezeForm({ p, onDone }: { p: PeriodView; onDone: (msg: string) => void }) {
  const form = useForm({ choice: '', reason: '' });
  const { busy, error, submit } = useSubmit(async () => {
    const body: Record<string, string> = {};
    if (form.values.choice) body.choice = form.values.choice;
    if (form.values.reason.trim()) body.reason = form.values.reason.trim();
    const r = await api<FreezeResult>('POST', `/api/periods/${p.period}/freeze`, body);
    if ('workflowId' in r) onDone(t('hq.periods.freezeRunning', { period: p.period }));
    else if (r.moved > 0 && r.toPeriod) onDone(t('hq.periods.frozenMoved', { period: p.period, n: r.moved, to: r.toPeriod }));
    else if (r.moved > 0) onDone(t('hq.periods.frozenEscalated', { period: p.period, n: r.moved }));
    else onDone(t('hq.periods.frozen', { period: p.period }));
  });
  const needsChoice = p.openTransfers > 0;
  const ready = !needsChoice || !!form.values.choice;
  return (
    <form onSubmit={submit} data-testid="form-freeze" class="subform">
      <ErrorBox error={error} />
      {needsChoice ? (
        <fieldset class="choices">
          <legend class="field-label">{t('hq.periods.choice', { n: p.openTransfers })}</legend>
          {FREEZE_CHOICES.map((c) => (
            <label key={c} class={`choice${form.values.choice === c ? ' selected' : ''}`}>
              <input type="radio" name={`choice-${p.period}`} value={c} checked={form.values.choice === c} onChange={() => form.setValues((o) => ({ ...o, choice: c }))} data-testid={`choice-${c}`} />
              <span>
                <strong>{t(`hq.periods.choice.${c}`)}</strong>
                <span class="choice-sub">{t(`hq.periods.choice.${c}.help`, { n: p.openTransfers })}</span>
              </span>
            </label>
          ))}
        </fieldset>
      ) : (
        <p class="muted">{t('hq.periods.noOpen')}</p>
      )}
      <Field label={t('hq.periods.reason')} hint={t('hq.periods.reasonOptional')}>
        <textarea {...form.bind('reason')} maxLength={1000} />
      </Field>
      <button type="submit" class="danger" disabled={busy || !ready} data-testid="freeze-submit">
        {busy ? t('common.loading') : t('hq.periods.freeze')}
      </button>
    </form>
  );
}

function ReopenForm({ p, onDone }: { p: PeriodView; onDone: (msg: string) => void }) {
  const form = useForm({ reason: '' });
  const { busy, error, submit } = useSubmit(async () => {
    await api<PeriodView>('POST', `/api/periods/${p.period}/reopen`, { reason: form.values.reason.trim() });
    onDone(t('hq.periods.reopened', { period: p.period }));
  });
  return (
    <form onSubmit={submit} data-testid="form-reopen" class="subform">
      <ErrorBox error={error} />
      <Field label={t('hq.periods.reopenReason')} error={error instanceof ApiError ? error.fieldMessage('reason') : undefined}>
        <textarea {...form.bind('reason')} required maxLength={1000} />
      </Field>
      <button type="submit" disabled={busy || !form.values.reason.trim()} data-testid="reopen-submit">
        {busy ? t('common.loading') : t('hq.periods.reopen')}
      </button>
    </form>
  );
}

function PeriodCard({ p, onDone }: { p: PeriodView; onDone: (msg: string) => void }) {
  const [open, setOpen] = useState(false);
  const frozen = p.status === 'FROZEN';
  return (
    <li class="card period" data-testid="period-row" data-period={p.period} data-status={p.status}>
      <div class="period-head">
        <strong class="period-name">{p.period}</strong>
        <Badge tone={frozen ? 'grey' : 'green'}>{t(`hq.periods.status.${p.status}`)}</Badge>
        <span class={p.openTransfers > 0 ? 'open-count has-open' : 'open-count'} data-testid="open-count" data-count={p.openTransfers}>
          {t('hq.periods.openItems', { n: p.openTransfers })}
        </span>
        <Link to={`/hq/reconciliation?period=${p.period}`} class="small-link">
          {t('hq.periods.toMatrix')}
        </Link>
        <button type="button" class={open || frozen ? 'secondary' : 'danger'} aria-expanded={open} onClick={() => setOpen(!open)} data-testid={frozen ? 'reopen-button' : 'freeze-button'}>
          {open ? t('common.cancel') : frozen ? t('hq.periods.reopen') : t('hq.periods.freeze')}
        </button>
      </div>
      {p.changedAt && (
        <p class="muted">
          {t(frozen ? 'hq.periods.frozenAt' : 'hq.periods.reopenedAt', { at: formatDateTime(p.changedAt) })}
          {frozen && p.choice ? ` · ${t(`hq.periods.choice.${p.choice}`)}` : ''}
          {p.reason ? ` · ${p.reason}` : ''}
        </p>
      )}
      {open && (frozen ? <ReopenForm p={p} onDone={onDone} /> : <FreezeForm p={p} onDone={onDone} />)}
    </li>
  );
}

export function PeriodsPage(_: RouteProps) {
  const [periods, setPeriods] = useState<PeriodView[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  const [other, setOther] = useState('');
  const load = useCallback(async () => {
    try {
      setPeriods(await api<PeriodView[]>('GET', '/api/periods'));
      setError(null);
    } catch (err) {
      setError(err);
    }
  }, []);
  useEffect(() => void load(), [load]);
  const done = (msg: string) => {
    setMessage(msg);
    setVersion((n) => n + 1); // close the forms
    void load();
  };

  if (!periods) return error ? <ErrorBox error={error} onRetry={() => void load()} /> : <Spinner />;
  const otherValid = PERIOD.test(other.trim());
  const known = periods.some((p) => p.period === other.trim());
  const list = otherValid && !known ? [{ period: other.trim(), status: 'OPEN' as const, choice: null, changedAt: null, reason: null, openTransfers: 0 }, ...periods] : periods;
  return (
    <section data-testid="periods-page">
      <h1>{t('hq.periods.title')}</h1>
      <p class="muted">{t('hq.periods.help')}</p>
      {message && (
        <div class="ok-box" role="status" data-testid="period-done">
          {message}
        </div>
      )}
      <ErrorBox error={error} />
      <div class="toolbar">
        <Field label={t('hq.periods.other')} hint={t('hq.periods.otherHint')} error={other.trim() && !otherValid ? t('hq.periods.badPeriod') : undefined}>
          <input value={other} onInput={(e) => setOther(e.currentTarget.value)} inputMode="numeric" placeholder="2026-12" data-testid="other-period" />
        </Field>
      </div>
      {list.length === 0 ? (
        <Empty>{t('hq.periods.empty')}</Empty>
      ) : (
        <ul class="plain-list" key={version}>
          {list.map((p) => (
            <PeriodCard key={p.period} p={p} onDone={done} />
          ))}
        </ul>
      )}
    </section>
  );
}
