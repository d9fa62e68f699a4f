// Helpers of the bulk import tests (tests/e2e/import.test.ts, tests/heavy).
import { apiUrl } from './http';
import type { Fixture } from './fixtures';

/** POST a CSV file (as an ERP would). */
export async function postCsv(token: string, csv: string, query = '') {
  const res = await fetch(`${apiUrl()}/api/transfers/import${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv; charset=utf-8' },
    body: csv,
  });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, headers: res.headers };
}

/** Line i of a generated file: goods with quantity × price (exact to the cent) or a service without. */
export function line(fx: Fixture, i: number) {
  const externalRef = `BULK-${fx.tag}-${String(i + 1).padStart(5, '0')}`;
  const receiverEntity = i % 2 === 0 ? fx.receiver.code : fx.third.code;
  if (i % 5 === 4) {
    return { senderEntity: fx.sender.code, receiverEntity, type: 'SERVICE', externalRef, amount: `${1000 + i}.00`, currency: 'CNY', documentDate: '2026-11-20', period: '2026-11' };
  }
  return goodsLine({ senderEntity: fx.sender.code, receiverEntity, externalRef, i, memo: `批量导入 line ${i + 1}` });
}

/** Goods line i: (i % 97) + 1 pieces at 12.34 CNY, the amount exact to the cent (also bench/import.ts). */
export function goodsLine(l: { senderEntity: string; receiverEntity: string; externalRef: string; i: number; memo: string }) {
  const q = (l.i % 97) + 1;
  const cents = q * 1234;
  return {
    senderEntity: l.senderEntity,
    receiverEntity: l.receiverEntity,
    type: 'GOODS',
    externalRef: l.externalRef,
    quantity: String(q),
    unit: 'PCS',
    unitPrice: '12.34',
    amount: `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`,
    currency: 'CNY',
    documentDate: '2026-11-20',
    period: '2026-11',
    memo: l.memo,
  };
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
