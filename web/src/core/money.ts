// Money and quantities are exact decimal strings end to end ("1234.50"); they are never
// parsed into floating-point numbers. These helpers format and compare the strings
// (arithmetic with decimal.js, the library the server uses).
import Decimal from 'decimal.js';

const DECIMAL = /^-?\d+(\.\d+)?$/;

export function isDecimal(s: string): boolean {
  return DECIMAL.test(s.trim());
}

/** "1234567.5" → "1,234,567.50" (minFraction decimals at least; never rounds). */
export function formatDecimal(s: string | null | undefined, minFraction = 0): string {
  if (s === null || s === undefined || s === '') return '—';
  const str = s.trim();
  if (!DECIMAL.test(str)) return str;
  const neg = str.startsWith('-');
  const [int, frac = ''] = (neg ? str.slice(1) : str).split('.');
  const grouped = int.replace(/^0+(?=\d)/, '').replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const f = frac.padEnd(minFraction, '0');
  return `${neg ? '-' : ''}${grouped}${f ? `.${f}` : ''}`;
}

/** Compares two decimal strings exactly: -1, 0 or 1 (decimal.js, never floats). */
export function compareDecimal(a: string, b: string): number {
  return new Decimal(a.trim()).comparedTo(new Decimal(b.trim()));
}

/** quantity × unitPrice rounded half-up to the cent, as the server computes it. */
export function expectedAmount(quantity: string, unitPrice: string): string {
  return new Decimal(quantity).times(unitPrice).toDecimalPlaces(2, Decimal.ROUND_HALF_UP).toFixed(2);
}

/** The server's rule (workflows/matching.ts amountConsistent): amount within a cent of quantity × unitPrice. */
export function amountConsistent(quantity: string, unitPrice: string, amount: string): boolean {
  return new Decimal(expectedAmount(quantity, unitPrice)).minus(amount).abs().lessThanOrEqualTo('0.01');
}

/** Same value? ("100.5" equals "100.50") */
export const sameDecimal = (a: string | null, b: string | null): boolean =>
  a === b || (a !== null && b !== null && isDecimal(a) && isDecimal(b) && compareDecimal(a, b) === 0);

export type Band = 'red' | 'amber' | 'green';
/** Amount band: above red → red, above amber → amber, else green. */
export function band(amount: string, thresholds: { red: string; amber: string } | null): Band {
  if (!thresholds) return 'green';
  const abs = amount.replace(/^-/, '');
  if (compareDecimal(abs, thresholds.red) > 0) return 'red';
  if (compareDecimal(abs, thresholds.amber) > 0) return 'amber';
  return 'green';
}

/** "100.5" → "100.50": at least `n` decimals, no grouping (for form fields). */
export function padFraction(s: string | null | undefined, n = 2): string {
  if (!s || !isDecimal(s)) return s ?? '';
  const [i, f = ''] = s.trim().split('.');
  return `${i}.${f.padEnd(n, '0')}`;
}
