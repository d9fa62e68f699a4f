// Matching of the sender's document against the receiver's receipt (只有完全一致才允许
// 进入结算流程). Pure and deterministic: runs inside the workflow and in unit tests.
import Decimal from 'decimal.js';
import type { Difference, DocumentFigures, Tolerance } from './types';

const DAY_MS = 86_400_000;

function num(v: string | null): Decimal | null {
  return v === null || v === undefined || v === '' ? null : new Decimal(v);
}

function dayNumber(date: string): number {
  return Math.round(Date.parse(`${date}T00:00:00Z`) / DAY_MS);
}

/** Returns every difference beyond tolerance; an empty list means the two sides match. */
export function matchDocuments(sender: DocumentFigures, receiver: DocumentFigures, period: string, tol: Tolerance): Difference[] {
  const diffs: Difference[] = [];
  const numeric = (field: 'quantity' | 'unitPrice' | 'amount', allowed: (s: Decimal) => Decimal) => {
    const s = num(sender[field]);
    const r = num(receiver[field]);
    if (s === null && r === null) return;
    if (s === null || r === null) {
      diffs.push({ field, senderValue: s?.toString() ?? null, receiverValue: r?.toString() ?? null, delta: null });
      return;
    }
    const delta = r.minus(s);
    if (delta.abs().greaterThan(allowed(s))) {
      diffs.push({ field, senderValue: s.toString(), receiverValue: r.toString(), delta: delta.toString() });
    }
  };
  numeric('quantity', () => new Decimal(tol.quantity));
  numeric('unitPrice', (s) => s.abs().times(tol.unitPricePct).dividedBy(100));
  numeric('amount', () => new Decimal(tol.amount));

  const days = dayNumber(receiver.date) - dayNumber(sender.date);
  if (Math.abs(days) > tol.dateWindowDays) {
    diffs.push({ field: 'date', senderValue: sender.date, receiverValue: receiver.date, delta: String(days) });
  }
  if (receiver.date.slice(0, 7) !== period) {
    diffs.push({ field: 'period', senderValue: period, receiverValue: receiver.date.slice(0, 7), delta: null });
  }
  return diffs;
}

/** amount must equal quantity × unit price, to the cent (half-up), when both are given. */
export function amountConsistent(quantity: string | null, unitPrice: string | null, amount: string): boolean {
  if (quantity === null || unitPrice === null) return true;
  const expected = new Decimal(quantity).times(unitPrice).toDecimalPlaces(2, Decimal.ROUND_HALF_UP);
  return expected.minus(amount).abs().lessThanOrEqualTo('0.01');
}

/** ISO 8601 duration (PnDTnHnMnS) to milliseconds. */
export function durationMs(iso: string): number {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(iso);
  if (!m || iso === 'P' || iso.endsWith('T')) throw new Error(`not an ISO 8601 duration: ${iso}`);
  const [, d, h, min, s] = m;
  return ((Number(d ?? 0) * 24 + Number(h ?? 0)) * 60 + Number(min ?? 0)) * 60_000 + Math.round(Number(s ?? 0) * 1000);
}
