// Create a transfer (sender side): validated as you type with the API's own rules
// (api/schemas.ts CreateTransferBody + the amount = quantity × unit price rule); server
// refusals are shown in plain words next to the field they name, nothing typed is lost.
import { useState } from 'preact/hooks';
import { api, ApiError } from '../core/api';
import { compact, useForm } from '../core/form';
import { t } from '../core/i18n';
import { amountConsistent, expectedAmount } from '../core/money';
import { navigate, type RouteProps } from '../core/router';
import { entitiesOf, useSession } from '../core/session';
import { TRANSFER_TYPES, type TransferDetail } from '../core/types';
import { ErrorBox, Field } from '../core/ui';

const AMOUNT = /^-?\d{1,14}(\.\d{1,2})?$/;
const DECIMAL6 = /^-?\d{1,14}(\.\d{1,6})?$/;

type Values = Record<'senderEntity' | 'receiverEntity' | 'type' | 'externalRef' | 'quantity' | 'unit' | 'unitPrice' | 'amount' | 'currency' | 'documentDate' | 'period' | 'memo', string>;

/** Field → message in plain words, or nothing when valid. */
export function validateTransfer(v: Values): Partial<Record<keyof Values, string>> {
  const e: Partial<Record<keyof Values, string>> = {};
  if (!v.senderEntity) e.senderEntity = t('form.required');
  if (!v.receiverEntity) e.receiverEntity = t('form.required');
  else if (v.receiverEntity === v.senderEntity) e.receiverEntity = t('create.sameEntity');
  if (!v.externalRef.trim()) e.externalRef = t('form.required');
  const q = v.quantity.trim();
  const p = v.unitPrice.trim();
  if (q && !DECIMAL6.test(q)) e.quantity = t('form.decimal');
  else if (q && /^-|^0+(\.0+)?$/.test(q)) e.quantity = t('form.positive');
  if (p && !DECIMAL6.test(p)) e.unitPrice = t('form.decimal');
  if (q && !p && !e.quantity) e.unitPrice = t('create.together');
  if (p && !q && !e.unitPrice) e.quantity = t('create.together');
  if (q && !v.unit.trim()) e.unit = t('create.unitRequired');
  if (!v.amount.trim()) e.amount = t('form.required');
  else if (!AMOUNT.test(v.amount.trim())) e.amount = t('form.amount');
  else if (q && p && !e.quantity && !e.unitPrice && !amountConsistent(q, p, v.amount.trim())) e.amount = t('form.amountMismatch', { expected: expectedAmount(q, p) });
  if (!/^[A-Z]{3}$/.test(v.currency)) e.currency = t('create.currency');
  if (!v.documentDate) e.documentDate = t('form.required');
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(v.period)) e.period = t('create.period');
  return e;
}

export function CreatePage(_: RouteProps) {
  const { session } = useSession();
  const mine = entitiesOf(session, 'ACCOUNTANT');
  const today = new Date().toISOString().slice(0, 10);
  const form = useForm<Values>({
    senderEntity: mine[0]?.code ?? '',
    receiverEntity: '',
    type: 'GOODS',
    externalRef: '',
    quantity: '',
    unit: '',
    unitPrice: '',
    amount: '',
    currency: session?.config.thresholds?.currency ?? 'CNY',
    documentDate: today,
    period: today.slice(0, 7),
    memo: '',
  });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [submitted, setSubmitted] = useState(false);
  if (!session) return null;
  const v = form.values;
  const errors = validateTransfer(v);
  const show = (f: keyof Values) => (submitted || form.touched[f] ? errors[f] : undefined) ?? (error instanceof ApiError ? error.fieldMessage(f) : undefined);
  const counterparties = session.config.entities.filter((e) => e.code !== v.senderEntity);
  const onSelect = (f: keyof Values) => ({ ...form.bind(f), onChange: form.bind(f).onInput });

  async function submit(e: Event) {
    e.preventDefault();
    setSubmitted(true);
    if (Object.keys(errors).length > 0) return;
    setBusy(true);
    setError(null);
    try {
      const body = { ...compact(v, ['senderEntity', 'receiverEntity', 'type', 'externalRef', 'quantity', 'unit', 'unitPrice', 'amount', 'currency', 'documentDate', 'period', 'memo']) };
      const created = await api<TransferDetail>('POST', '/api/transfers', body);
      navigate(`/transfers/${created.id}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section>
      <h1>{t('create.title')}</h1>
      <form class="card" onSubmit={submit} noValidate data-testid="form-create">
        <ErrorBox error={error} />
        <div class="form-grid">
          <Field label={t('field.senderEntity')} error={show('senderEntity')}>
            <select {...onSelect('senderEntity')}>
              {mine.map((e) => (
                <option key={e.code} value={e.code}>
                  {e.code} {e.name}
                </option>
              ))}
            </select>
          </Field>
          <Field label={t('field.receiverEntity')} error={show('receiverEntity')}>
            <select {...onSelect('receiverEntity')} data-testid="receiver">
              <option value="">—</option>
              {counterparties.map((e) => (
                <option key={e.code} value={e.code}>
                  {e.code} {e.name}
                </option>
              ))}
            </select>
          </Field>
          <Field label={t('field.type')}>
            <select {...onSelect('type')}>
              {TRANSFER_TYPES.map((x) => (
                <option key={x} value={x}>
                  {t(`type.${x}`)}
                </option>
              ))}
            </select>
          </Field>
          <Field label={t('field.externalRef')} error={show('externalRef')}>
            <input {...form.bind('externalRef')} maxLength={64} />
          </Field>
          <Field label={t('field.quantity')} error={show('quantity')}>
            <input inputMode="decimal" {...form.bind('quantity')} />
          </Field>
          <Field label={t('field.unit')} error={show('unit')} hint={t('create.unitHint')}>
            <input {...form.bind('unit')} maxLength={16} />
          </Field>
          <Field label={t('field.unitPrice')} error={show('unitPrice')}>
            <input inputMode="decimal" {...form.bind('unitPrice')} />
          </Field>
          <Field label={t('field.amount')} error={show('amount')}>
            <input inputMode="decimal" {...form.bind('amount')} />
          </Field>
          <Field label={t('field.currency')} error={show('currency')}>
            <input {...form.bind('currency')} maxLength={3} />
          </Field>
          <Field label={t('field.documentDate')} error={show('documentDate')}>
            <input type="date" {...form.bind('documentDate')} />
          </Field>
          <Field label={t('field.period')} error={show('period')} hint="YYYY-MM">
            <input {...form.bind('period')} maxLength={7} />
          </Field>
          <Field label={t('field.memo')}>
            <input {...form.bind('memo')} maxLength={500} />
          </Field>
        </div>
        <button type="submit" disabled={busy}>
          {t('create.submit')}
        </button>
      </form>
    </section>
  );
}
