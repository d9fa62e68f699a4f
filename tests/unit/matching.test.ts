import { amountConsistent, durationMs, matchDocuments } from '../../workflows/matching';
import type { Tolerance } from '../../workflows/types';

const exact: Tolerance = { quantity: '0', amount: '0.01', unitPricePct: '0', dateWindowDays: 3 };
const sender = { quantity: '10', unitPrice: '12.5', amount: '125.00', date: '2026-11-20' };

describe('matchDocuments', () => {
  it('matches identical figures, and amounts within 0.01', () => {
    expect(matchDocuments(sender, { ...sender }, '2026-11', exact)).toEqual([]);
    expect(matchDocuments(sender, { ...sender, amount: '125.01' }, '2026-11', exact)).toEqual([]);
  });

  it('lists each difference with sender value, receiver value and delta', () => {
    const diffs = matchDocuments(sender, { quantity: '9', unitPrice: '12.6', amount: '113.40', date: '2026-11-27' }, '2026-11', exact);
    expect(diffs).toEqual([
      { field: 'quantity', senderValue: '10', receiverValue: '9', delta: '-1' },
      { field: 'unitPrice', senderValue: '12.5', receiverValue: '12.6', delta: '0.1' },
      { field: 'amount', senderValue: '125', receiverValue: '113.4', delta: '-11.6' },
      { field: 'date', senderValue: '2026-11-20', receiverValue: '2026-11-27', delta: '7' },
    ]);
  });

  it('uses exact decimal arithmetic (no float drift)', () => {
    const s = { quantity: null, unitPrice: null, amount: '0.30', date: '2026-11-20' };
    expect(matchDocuments(s, { ...s, amount: '0.31' }, '2026-11', { ...exact, amount: '0.01' })).toEqual([]);
    expect(matchDocuments(s, { ...s, amount: '0.32' }, '2026-11', exact)).toHaveLength(1);
  });

  it('applies a percentage tolerance to the unit price and flags another period', () => {
    const tol = { ...exact, unitPricePct: '1' };
    expect(matchDocuments(sender, { ...sender, unitPrice: '12.6' }, '2026-11', tol)).toEqual([]);
    expect(matchDocuments(sender, { ...sender, unitPrice: '12.7' }, '2026-11', tol)).toHaveLength(1);
    expect(matchDocuments(sender, { ...sender, date: '2026-12-01' }, '2026-11', { ...exact, dateWindowDays: 30 })).toEqual([
      { field: 'period', senderValue: '2026-11', receiverValue: '2026-12', delta: null },
    ]);
  });

  it('reports a side that has no quantity when the other has one', () => {
    expect(matchDocuments(sender, { ...sender, quantity: null, unitPrice: null }, '2026-11', exact).map((d) => d.field)).toEqual(['quantity', 'unitPrice']);
  });
});

describe('amountConsistent', () => {
  it('accepts quantity × unit price to the cent, and rejects anything else', () => {
    expect(amountConsistent('3', '1000.10', '3000.30')).toBe(true);
    expect(amountConsistent('3', '0.333', '1.00')).toBe(true); // 0.999 rounds to 1.00
    expect(amountConsistent('3', '1000.10', '3000.40')).toBe(false);
    expect(amountConsistent(null, null, '5.00')).toBe(true);
  });
});

describe('durationMs', () => {
  it('reads ISO 8601 durations', () => {
    expect(durationMs('PT48H')).toBe(48 * 3600_000);
    expect(durationMs('P2DT1H30M')).toBe((49 * 60 + 30) * 60_000);
    expect(durationMs('PT0.5S')).toBe(500);
    expect(() => durationMs('48h')).toThrow('not an ISO 8601 duration');
    expect(() => durationMs('P')).toThrow();
  });
});
