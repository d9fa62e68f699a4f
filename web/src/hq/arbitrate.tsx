// HQ finance's decision on a dispute, drawn on the transfer detail page (transferPanels)
// when GET /api/transfers/:id/actions says `arbitrate`: uphold the sender, uphold the
// receiver, or set adjusted figures, always with a written rationale
// (POST /api/transfers/:id/arbitrate, body ArbitrateBody in api/schemas.ts).
// What was typed survives a refusal; the refusal is shown in plain words above the form.
import { useState } from 'preact/hooks';
import { api } from '../core/api';
import { useForm } from '../core/form';
import { t } from '../core/i18n';
import { amountConsistent, expectedAmount, isDecimal, padFraction } from '../core/money';
import type { TransferDetail } from '../core/types';
import { ErrorBox, Field, Money } from '../core/ui';
import type { TransferPanelProps } from './index';

const DECISIONS = ['UPHOLD_SENDER', 'UPHOLD_RECEIVER', 'ADJUST'] as const;
type Decision = (typeof DECISIONS)[number];

function figureErrors(v: { quantity: string; unitPrice: string; amount: string; date: string }) {
  const e: Partial<Record<'quantity' | 'unitPrice' | 'amount' | 'date', string>> = {};
  const dec = (x: string) => (isDecimal(x) ? undefined : t('form.decimal'));
  if (v.quantity.trim() || v.unitPrice.trim()) {
    e.quantity = v.quantity.trim() ? dec(v.quantity) : t('form.required');
    e.unitPrice = v.unitPrice.trim() ? dec(v.unitPrice) : t('form.required');
  }
  e.amount = v.amount.trim() ? (dec(v.amount) ?? (/^-?\d+(\.\d{1,2})?$/.test(v.amount.trim()) ? undefined : t('form.amount'))) : t('form.required');
  if (!e.amount && !e.quantity && !e.unitPrice && v.quantity.trim() && !amountConsistent(v.quantity, v.unitPrice, v.amount)) {
    e.amount = t('form.amountMismatch', { expected: expectedAmount(v.quantity, v.unitPrice) });
  }
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v.date)) e.date = t('form.required');
  return Object.fromEntries(Object.entries(e).filter(([, x]) => x)) as typeof e;
}

export function ArbitrationPanel({ transfer: tr, actions, onDone }: TransferPanelProps) {
  const start = tr.receiver ?? tr.sender;
  const form = useForm({
    decision: '' as string,
    rationale: '',
    quantity: start.quantity ?? '',
    unitPrice: start.unitPrice ?? '',
    amount: padFraction(start.amount),
    date: start.date ?? tr.sender.date ?? '',
  });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  if (!actions.arbitrate) return null;
  const v = form.values;
  const decision = v.decision as Decision | '';
  const adjust = decision === 'ADJUST';
  const errs = adjust ? figureErrors(v) : {};
  const ready = !!decision && !!v.rationale.trim() && Object.keys(errs).length === 0;
  const fieldError = (f: string) => (error as { fieldMessage?: (f: string) => string | undefined } | null)?.fieldMessage?.(f) ?? (error as { fieldMessage?: (f: string) => string | undefined } | null)?.fieldMessage?.(`figures.${f}`);

  async function submit(e: Event) {
    e.preventDefault();
    if (!ready) return;
    setBusy(true);
    setError(null);
    const figures = adjust
      ? {
          ...(v.quantity.trim() ? { quantity: v.quantity.trim(), unitPrice: v.unitPrice.trim() } : {}),
          amount: v.amount.trim(),
          date: v.date,
        }
      : undefined;
    try {
      const r = await api<{ status: string; transfer: TransferDetail }>('POST', `/api/transfers/${tr.id}/arbitrate`, { decision, rationale: v.rationale.trim(), ...(figures ? { figures } : {}) });
      onDone(r.transfer, `${t('hq.arb.done', { decision: t(`decision.${decision}`) })} ${t('detail.statusNow', { status: t(`status.${r.transfer.status}`) })}`);
    } catch (err) {
      setError(err);
    }
    setBusy(false);
  }

  const side = (d: Decision) =>
    d === 'UPHOLD_SENDER' ? (
      <Money amount={tr.sender.amount} currency={tr.currency} />
    ) : d === 'UPHOLD_RECEIVER' ? (
      tr.receiver?.amount ? <Money amount={tr.receiver.amount} currency={tr.currency} /> : <span class="muted">{t('hq.arb.noReceiverFigures')}</span>
    ) : (
      <span class="muted">{t('hq.arb.adjustHint')}</span>
    );

  return (
    <section class="card" id="arbitrate" data-testid="arbitration-panel">
      <h2>{t('hq.arb.title')}</h2>
      <p class="muted">{t('hq.arb.help')}</p>
      <ErrorBox error={error} />
      <form onSubmit={submit} data-testid="form-arbitrate">
        <fieldset class="choices">
          <legend class="field-label">{t('hq.arb.decision')}</legend>
          {DECISIONS.map((d) => (
            <label key={d} class={`choice${decision === d ? ' selected' : ''}`}>
              <input type="radio" name="decision" value={d} checked={decision === d} disabled={d === 'UPHOLD_RECEIVER' && !tr.receiver?.amount} onChange={() => form.setValues((o) => ({ ...o, decision: d }))} data-testid={`decision-${d}`} />
              <span>
                <strong>{t(`hq.arb.decision.${d}`)}</strong>
                <span class="choice-sub">{side(d)}</span>
              </span>
            </label>
          ))}
        </fieldset>
        {adjust && (
          <div class="form-grid" data-testid="arb-figures">
            <Field label={`${t('field.quantity')}${tr.unit ? ` (${tr.unit})` : ''}`} error={errs.quantity ?? fieldError('quantity')}>
              <input inputMode="decimal" {...form.bind('quantity')} />
            </Field>
            <Field label={t('field.unitPrice')} error={errs.unitPrice ?? fieldError('unitPrice')}>
              <input inputMode="decimal" {...form.bind('unitPrice')} />
            </Field>
            <Field label={`${t('field.amount')} (${tr.currency})`} error={errs.amount ?? fieldError('amount')}>
              <input inputMode="decimal" {...form.bind('amount')} required />
            </Field>
            <Field label={t('field.date')} error={errs.date ?? fieldError('date')}>
              <input type="date" {...form.bind('date')} required />
            </Field>
          </div>
        )}
        <Field label={t('hq.arb.rationale')} hint={t('hq.arb.rationaleHint')} error={fieldError('rationale')}>
          <textarea {...form.bind('rationale')} required maxLength={4000} />
        </Field>
        <button type="submit" disabled={busy || !ready}>
          {busy ? t('common.loading') : t('hq.arb.submit')}
        </button>
      </form>
    </section>
  );
}
