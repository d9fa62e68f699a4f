// FX rates and the reconciliation report over HTTP against the running stack. The
// report's figures are checked against sums computed here, independently, in SQL.
import { apiUrl, http, login } from '../helpers/http';
import { createFixture, PASSWORD, uid, type Fixture } from '../helpers/fixtures';
import { sql } from '../helpers/db';
import { until } from '../helpers/wait';

const PERIOD = '2026-11';
const STATUSES = ['PENDING', 'CONFIRMED', 'DISPUTED', 'REJECTED', 'WITHDRAWN', 'RESOLVED'] as const;
const BUCKETS = ['0-2d', '2-7d', '7-30d', '>30d'] as const;

type Who = 'senderAcc' | 'senderSup' | 'receiverAcc' | 'thirdAcc' | 'hq';
type Tokens = Record<Who, string>;
async function tokens(fx: Fixture): Promise<Tokens> {
  const who: Who[] = ['senderAcc', 'senderSup', 'receiverAcc', 'thirdAcc', 'hq'];
  const list = await Promise.all(who.map((w) => login(fx.users[w].username, PASSWORD)));
  return Object.fromEntries(who.map((w, i) => [w, list[i]])) as Tokens;
}

/** Creates a transfer through the API and waits until its workflow has routed it. */
async function transfer(token: string, from: string, to: string, amount: string, currency: string, over: Record<string, unknown> = {}) {
  const r = await http('POST', '/api/transfers', {
    token,
    body: { senderEntity: from, receiverEntity: to, type: 'SERVICE', externalRef: `DOC-${uid()}`, amount, currency, documentDate: '2026-11-18', period: PERIOD, ...over },
  });
  expect([r.status, r.body?.message]).toEqual([201, undefined]);
  await until(async () => (await sql(`SELECT 1 FROM "Task" WHERE "transferId" = $1`, [r.body.id])).length > 0);
  return r.body as { id: string };
}

async function act(token: string, id: string, action: string, body: unknown, expected: string) {
  const r = await http('POST', `/api/transfers/${id}/${action}`, { token, body });
  expect([r.status, r.body.status]).toEqual([200, expected]);
}

// ---- the expected report, computed independently in SQL -------------------------

const RATED = `
  FROM "Transfer" t
  JOIN "Entity" s ON s.id = t."senderEntityId"
  JOIN "Entity" r ON r.id = t."receiverEntityId"
  JOIN "Group" g ON g.id = s."groupId"
  LEFT JOIN "FxRate" fx ON fx."groupId" = g.id AND fx.period = t.period AND fx.currency = t.currency
  WHERE g.id = $1 AND t.period = $2`;
const RATE = `(CASE WHEN t.currency = g.currency THEN 1 ELSE fx.rate END)`;
const GROUP_SUM = (x: string) => `COALESCE(ROUND(SUM(${x} * ${RATE}), 2), 0)::numeric(30,2)::text`;

async function expectedReport(groupId: string) {
  const pairKey = `s.code || '>' || r.code`;
  const byStatus = await sql(
    `SELECT ${pairKey} AS pair, t.status::text AS status, count(*)::int AS n, ${GROUP_SUM('t.amount')} AS g ${RATED} GROUP BY 1, 2`,
    [groupId, PERIOD],
  );
  const byCurrency = await sql(
    `SELECT ${pairKey} AS pair, t.status::text AS status, t.currency::text AS currency, SUM(t.amount)::numeric(30,2)::text AS a ${RATED} GROUP BY 1, 2, 3 ORDER BY 3`,
    [groupId, PERIOD],
  );
  const overdue = await sql(
    `SELECT ${pairKey} AS pair, count(*)::int AS n ${RATED} AND t.status = 'PENDING' AND t."dueAt" < now() GROUP BY 1`,
    [groupId, PERIOD],
  );
  const ageing = await sql(
    `SELECT ${pairKey} AS pair,
       CASE WHEN now() - t."createdAt" < interval '2 days' THEN '0-2d' WHEN now() - t."createdAt" < interval '7 days' THEN '2-7d'
            WHEN now() - t."createdAt" < interval '30 days' THEN '7-30d' ELSE '>30d' END AS bucket,
       count(*)::int AS n, ${GROUP_SUM('t.amount')} AS g
     ${RATED} AND t.status IN ('PENDING', 'DISPUTED') GROUP BY 1, 2`,
    [groupId, PERIOD],
  );
  const open = await sql(
    `SELECT ${pairKey} AS pair,
       ${GROUP_SUM(`(CASE WHEN t.status = 'DISPUTED' AND t."receiptAmount" IS NOT NULL THEN abs(t."receiptAmount" - t.amount) ELSE t.amount END)`)} AS d
     ${RATED} AND t.status IN ('PENDING', 'DISPUTED') GROUP BY 1`,
    [groupId, PERIOD],
  );
  const missing = await sql(
    `SELECT ${pairKey} AS pair, t.currency::text AS currency ${RATED} AND t.currency <> g.currency AND fx.rate IS NULL GROUP BY 1, 2 ORDER BY 2`,
    [groupId, PERIOD],
  );
  const [thresholds] = await sql(`SELECT "redThreshold"::text AS red, "amberThreshold"::text AS amber FROM "Group" WHERE id = $1`, [groupId]);
  const [totals] = await sql(
    `SELECT count(*)::int AS n,
       (SELECT ${GROUP_SUM(`(CASE WHEN t.status = 'DISPUTED' AND t."receiptAmount" IS NOT NULL THEN abs(t."receiptAmount" - t.amount) ELSE t.amount END)`)}
        ${RATED} AND t.status IN ('PENDING', 'DISPUTED')) AS open_difference
     ${RATED}`,
    [groupId, PERIOD],
  );
  const totalByStatus = await sql(`SELECT t.status::text AS status, count(*)::int AS n, ${GROUP_SUM('t.amount')} AS g ${RATED} GROUP BY 1`, [groupId, PERIOD]);

  const pairs = new Map<string, any>();
  const pair = (k: string) => {
    if (!pairs.has(k)) {
      pairs.set(k, {
        byStatus: Object.fromEntries(STATUSES.map((s) => [s, { count: 0, amountGroup: '0.00', amounts: [] as unknown[] }])),
        overdue: 0,
        ageing: Object.fromEntries(BUCKETS.map((b) => [b, { count: 0, amountGroup: '0.00' }])),
        openDifference: '0.00',
        missingFxRates: [] as string[],
      });
    }
    return pairs.get(k);
  };
  for (const x of byStatus) Object.assign(pair(x.pair).byStatus[x.status], { count: x.n, amountGroup: x.g });
  for (const x of byCurrency) pair(x.pair).byStatus[x.status].amounts.push({ currency: x.currency, amount: x.a });
  for (const x of overdue) pair(x.pair).overdue = x.n;
  for (const x of ageing) pair(x.pair).ageing[x.bucket] = { count: x.n, amountGroup: x.g };
  for (const x of open) pair(x.pair).openDifference = x.d;
  for (const x of missing) pair(x.pair).missingFxRates.push(x.currency);
  for (const p of pairs.values()) {
    const d = Number(p.openDifference); // only compared with the thresholds
    p.grade = d > Number(thresholds.red) ? 'RED' : d > Number(thresholds.amber) ? 'AMBER' : 'GREEN';
  }
  return {
    pairs,
    totals: {
      count: totals.n,
      openDifference: totals.open_difference,
      byStatus: Object.fromEntries(STATUSES.map((s) => [s, totalByStatus.find((x) => x.status === s) ?? { n: 0, g: '0.00' }])),
    },
  };
}

const pairsOf = (report: any) => new Map<string, any>(report.pairs.map((p: any) => [`${p.sender.code}>${p.receiver.code}`, p]));
const strip = (p: any) => {
  const { sender: _s, receiver: _r, ...rest } = p;
  return rest;
};

// ---- a tiny RFC 4180 parser ------------------------------------------------------

function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else if (c === '\n' || c === '\r') throw new Error(`bare line break at ${i}`);
    else field += c;
  }
  if (quoted) throw new Error('unterminated quoted field');
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

// ---- tests --------------------------------------------------------------------------

describe('FX rates', () => {
  it('HQ sets rates for its group in one audited transaction; everyone of the group reads them', async () => {
    const fx = await createFixture();
    const t = await tokens(fx);
    const put = await http('PUT', '/api/fx-rates', {
      token: t.hq,
      body: [
        { period: PERIOD, currency: 'HKD', rate: '0.9' },
        { period: PERIOD, currency: 'USD', rate: '7.12345678' },
        { period: '2026-10', currency: 'HKD', rate: '0.91' },
      ],
    });
    expect(put.status).toBe(200);
    expect(put.body.map((r: any) => [r.period, r.currency, r.rate, r.group, r.groupCurrency])).toEqual([
      ['2026-10', 'HKD', '0.91', `G${fx.tag}`, 'CNY'],
      [PERIOD, 'HKD', '0.9', `G${fx.tag}`, 'CNY'],
      [PERIOD, 'USD', '7.12345678', `G${fx.tag}`, 'CNY'],
    ]);

    // Replacing one rate returns the rates of the periods touched only.
    const again = await http('PUT', '/api/fx-rates', { token: t.hq, body: [{ period: PERIOD, currency: 'HKD', rate: '0.92135' }] });
    expect(again.status).toBe(200);
    expect(again.body.map((r: any) => [r.period, r.currency, r.rate])).toEqual([
      [PERIOD, 'HKD', '0.92135'],
      [PERIOD, 'USD', '7.12345678'],
    ]);
    const audit = await sql(`SELECT * FROM "AuditEvent" WHERE action = 'FX_RATES_UPDATED' AND "objectId" = $1 ORDER BY id`, [`G${fx.tag}`]);
    expect(audit).toHaveLength(2);
    expect(audit[1]).toMatchObject({
      objectType: 'fx-rate',
      actorId: fx.users.hq.id,
      before: [{ period: PERIOD, currency: 'HKD', rate: '0.9' }],
      after: [{ period: PERIOD, currency: 'HKD', rate: '0.92135' }],
    });
    expect(audit[1].requestId).toBeTruthy();

    for (const token of [t.thirdAcc, t.senderAcc, t.hq]) {
      const all = await http('GET', '/api/fx-rates', { token });
      expect(all.status).toBe(200);
      expect(all.body).toHaveLength(3);
      const one = await http('GET', `/api/fx-rates?period=2026-10`, { token });
      expect(one.body.map((r: any) => [r.currency, r.rate])).toEqual([['HKD', '0.91']]);
    }
    // Another group sees none of them.
    const other = await createFixture();
    const otherHq = await login(other.users.hq.username, PASSWORD);
    expect((await http('GET', '/api/fx-rates', { token: otherHq })).body).toEqual([]);
    expect((await http('GET', '/api/fx-rates?period=2026-13', { token: otherHq })).status).toBe(400);
    expect((await http('GET', '/api/fx-rates')).status).toBe(401);
  });

  it('refuses non-HQ users (403), bad rates, currencies and periods (400 naming the field) and inconsistent bodies (422)', async () => {
    const fx = await createFixture();
    const t = await tokens(fx);
    const ok = { period: PERIOD, currency: 'HKD', rate: '0.92' };
    for (const token of [t.senderAcc, t.senderSup, t.thirdAcc]) {
      const r = await http('PUT', '/api/fx-rates', { token, body: [ok] });
      expect(r.status).toBe(403);
    }
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ rate: '0' }, '0.rate', 'pattern'],
      [{ rate: '0.00000000' }, '0.rate', 'pattern'],
      [{ rate: '-1.5' }, '0.rate', 'pattern'],
      [{ rate: '1.123456789' }, '0.rate', 'pattern'],
      [{ rate: 0.92 }, '0.rate', 'type'],
      [{ rate: 'abc' }, '0.rate', 'pattern'],
      [{ period: '2026-13' }, '0.period', 'pattern'],
      [{ period: '202611' }, '0.period', 'pattern'],
      [{ currency: 'hkd' }, '0.currency', 'pattern'],
      [{ currency: 'HKDX' }, '0.currency', 'pattern'],
      [{ group: 'X' }, '0.group', 'additionalProperties'],
    ];
    for (const [over, field, rule] of cases) {
      const r = await http('PUT', '/api/fx-rates', { token: t.hq, body: [{ ...ok, ...over }] });
      expect([JSON.stringify(over), r.status]).toEqual([JSON.stringify(over), 400]);
      expect(r.body.details).toEqual(expect.arrayContaining([expect.objectContaining({ field, rule })]));
    }
    const missingRate = await http('PUT', '/api/fx-rates', { token: t.hq, body: [{ period: PERIOD, currency: 'HKD' }] });
    expect(missingRate.status).toBe(400);
    expect(missingRate.body.details).toEqual([expect.objectContaining({ field: '0.rate', rule: 'required' })]);
    expect((await http('PUT', '/api/fx-rates', { token: t.hq, body: [] })).status).toBe(400);
    expect((await http('PUT', '/api/fx-rates', { token: t.hq, body: ok })).status).toBe(400);

    const dup = await http('PUT', '/api/fx-rates', { token: t.hq, body: [ok, { ...ok, rate: '0.93' }] });
    expect(dup.status).toBe(422);
    expect(dup.body.message).toBe(`1.currency: HKD appears twice for ${PERIOD}`);
    const groupCurrency = await http('PUT', '/api/fx-rates', { token: t.hq, body: [{ ...ok, currency: 'CNY', rate: '1' }] });
    expect(groupCurrency.status).toBe(422);
    expect(groupCurrency.body.message).toBe('0.currency: CNY is the group currency (its rate is always 1)');
    // Nothing was written by the refused calls.
    expect(await sql(`SELECT 1 FROM "FxRate" WHERE "groupId" = $1`, [fx.groupId])).toEqual([]);
    expect(await sql(`SELECT 1 FROM "AuditEvent" WHERE action = 'FX_RATES_UPDATED' AND "objectId" = $1`, [`G${fx.tag}`])).toEqual([]);
  });
});

describe('reconciliation report', () => {
  let fx: Fixture;
  let t: Tokens;
  let S: string, R: string, T: string;

  beforeAll(async () => {
    fx = await createFixture();
    t = await tokens(fx);
    [S, R, T] = [fx.sender.code, fx.receiver.code, fx.third.code];
    const put = await http('PUT', '/api/fx-rates', {
      token: t.hq,
      body: [
        { period: PERIOD, currency: 'HKD', rate: '0.92135' },
        { period: '2026-10', currency: 'USD', rate: '7.1' }, // another period: USD stays missing in 2026-11
      ],
    });
    expect(put.status).toBe(200);
    // A name a CSV must quote (comma, quote, line break) and Chinese text.
    await sql(`UPDATE "Entity" SET name = $2 WHERE id = $1`, [fx.third.id, `T "Trading", 贸易\n有限公司 ${fx.tag}`]);

    const receipt = (amount: string, extra: Record<string, unknown> = {}) => ({ receiptRef: `GR-${uid()}`, amount, date: '2026-11-19', ...extra });
    // S → R: RED (a large pending amount), every status but RESOLVED, CNY, HKD and USD (no rate).
    const big = await transfer(t.senderAcc, S, R, '60000.00', 'CNY');
    const goods = await transfer(t.senderAcc, S, R, '100.50', 'CNY', { type: 'GOODS', quantity: '4', unit: 'KG', unitPrice: '25.125' });
    await act(t.receiverAcc, goods.id, 'confirm', receipt('100.50', { quantity: '4', unitPrice: '25.125' }), 'CONFIRMED');
    const hkConfirmed = await transfer(t.senderAcc, S, R, '5000.00', 'HKD');
    await act(t.receiverAcc, hkConfirmed.id, 'confirm', receipt('5000.00'), 'CONFIRMED');
    const mismatch = await transfer(t.senderAcc, S, R, '1000.00', 'HKD');
    await act(t.receiverAcc, mismatch.id, 'confirm', receipt('900.00'), 'DISPUTED'); // open difference 100 HKD
    const disputed = await transfer(t.senderAcc, S, R, '2000.00', 'HKD');
    await act(t.receiverAcc, disputed.id, 'dispute', { reason: 'NOT_RECEIVED', text: '未收到' }, 'DISPUTED'); // no receiver amount: 2000 HKD
    const overdue = await transfer(t.senderAcc, S, R, '300.00', 'CNY');
    const aged10 = await transfer(t.senderAcc, S, R, '400.00', 'CNY');
    const aged3 = await transfer(t.senderAcc, S, R, '70.00', 'CNY');
    const aged40 = await transfer(t.senderAcc, S, R, '80.00', 'HKD');
    await transfer(t.senderAcc, S, R, '50.00', 'USD');
    const rejected = await transfer(t.senderAcc, S, R, '10.00', 'CNY');
    await act(t.receiverAcc, rejected.id, 'reject', { reason: 'not ours' }, 'REJECTED');
    const withdrawn = await transfer(t.senderAcc, S, R, '20.00', 'CNY');
    await act(t.senderAcc, withdrawn.id, 'withdraw', {}, 'WITHDRAWN');
    // Another period: not in the report.
    await transfer(t.senderAcc, S, R, '99999.00', 'CNY', { period: '2026-10', documentDate: '2026-10-20' });
    // R → S: AMBER. T → R: GREEN.
    await transfer(t.receiverAcc, R, S, '12000.00', 'CNY');
    await transfer(t.receiverAcc, R, S, '15.00', 'HKD');
    await transfer(t.thirdAcc, T, R, '500.00', 'CNY');

    await sql(`UPDATE "Transfer" SET "dueAt" = now() - interval '1 hour' WHERE id = $1`, [overdue.id]);
    await sql(`UPDATE "Transfer" SET "createdAt" = now() - interval '10 days' WHERE id = $1`, [aged10.id]);
    await sql(`UPDATE "Transfer" SET "createdAt" = now() - interval '3 days' WHERE id = $1`, [aged3.id]);
    await sql(`UPDATE "Transfer" SET "createdAt" = now() - interval '40 days' WHERE id = $1`, [aged40.id]);
    void big;
  });

  it("HQ: every pair of its group, each figure equal to SQL's, totals over all pairs", async () => {
    const r = await http('GET', `/api/reports/reconciliation?period=${PERIOD}`, { token: t.hq });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    const report = r.body;
    expect(report).toMatchObject({ period: PERIOD, group: `G${fx.tag}`, groupCurrency: 'CNY', thresholds: { amber: '10000.00', red: '50000.00' } });
    expect(Math.abs(Date.parse(report.generatedAt) - Date.now())).toBeLessThan(60_000);
    expect(report.pairs.map((p: any) => `${p.sender.code}>${p.receiver.code}`)).toEqual([`R${fx.tag}>S${fx.tag}`, `S${fx.tag}>R${fx.tag}`, `T${fx.tag}>R${fx.tag}`]);
    const sr = report.pairs[1];
    expect(sr.sender).toEqual({ id: fx.sender.id, code: S, name: expect.stringContaining('有限公司') });
    expect(sr.receiver).toMatchObject({ id: fx.receiver.id, code: R });

    const expected = await expectedReport(fx.groupId);
    const got = pairsOf(report);
    expect([...got.keys()].sort()).toEqual([...expected.pairs.keys()].sort());
    for (const [k, p] of got) expect([k, strip(p)]).toEqual([k, expected.pairs.get(k)]);

    // The same figures by hand, so the SQL above is the rule we mean.
    expect(sr.byStatus.PENDING).toEqual({
      count: 6,
      amountGroup: '60843.71', // 60770 CNY + 80 HKD × 0.92135 (= 73.708); USD 50 left out
      amounts: [
        { currency: 'CNY', amount: '60770.00' },
        { currency: 'HKD', amount: '80.00' },
        { currency: 'USD', amount: '50.00' },
      ],
    });
    expect(sr.byStatus.CONFIRMED).toEqual({
      count: 2,
      amountGroup: '4707.25', // 100.50 + 5000 × 0.92135 = 4606.75
      amounts: [
        { currency: 'CNY', amount: '100.50' },
        { currency: 'HKD', amount: '5000.00' },
      ],
    });
    expect(sr.byStatus.DISPUTED).toMatchObject({ count: 2, amountGroup: '2764.05', amounts: [{ currency: 'HKD', amount: '3000.00' }] });
    expect(sr.byStatus.REJECTED).toMatchObject({ count: 1, amountGroup: '10.00' });
    expect(sr.byStatus.WITHDRAWN).toMatchObject({ count: 1, amountGroup: '20.00' });
    expect(sr.byStatus.RESOLVED).toEqual({ count: 0, amountGroup: '0.00', amounts: [] });
    expect(sr.overdue).toBe(1);
    expect(sr.ageing).toEqual({
      '0-2d': { count: 5, amountGroup: '63064.05' }, // 60300 CNY + 3000 HKD (disputed) × 0.92135; USD counted, not converted
      '2-7d': { count: 1, amountGroup: '70.00' },
      '7-30d': { count: 1, amountGroup: '400.00' },
      '>30d': { count: 1, amountGroup: '73.71' },
    });
    // 60770 CNY + (100 [1000 vs 900] + 2000 [no receiver amount] + 80) HKD × 0.92135 = 62778.543
    expect(sr.openDifference).toBe('62778.54');
    expect(sr.grade).toBe('RED');
    expect(sr.missingFxRates).toEqual(['USD']);
    const rs = got.get(`${R}>${S}`);
    expect([rs.openDifference, rs.grade, rs.missingFxRates]).toEqual(['12013.82', 'AMBER', []]);
    const tr = got.get(`${T}>${R}`);
    expect([tr.openDifference, tr.grade, tr.overdue]).toEqual(['500.00', 'GREEN', 0]);

    // Totals: over all pairs, rounded from the exact sums.
    expect([report.totals.byStatus.PENDING.count, report.totals.byStatus.CONFIRMED.count]).toEqual([6 + 2 + 1, 2]);
    const totalCount = STATUSES.reduce((n, s) => n + report.totals.byStatus[s].count, 0);
    expect(totalCount).toBe(expected.totals.count);
    for (const s of STATUSES) {
      expect([s, report.totals.byStatus[s].count, report.totals.byStatus[s].amountGroup]).toEqual([
        s,
        expected.totals.byStatus[s].n,
        expected.totals.byStatus[s].g,
      ]);
    }
    expect(report.totals.byStatus.PENDING.amounts).toEqual([
      { currency: 'CNY', amount: '73270.00' },
      { currency: 'HKD', amount: '95.00' },
      { currency: 'USD', amount: '50.00' },
    ]);
    expect(report.totals.openDifference).toBe(expected.totals.openDifference);
    expect(report.totals.overdue).toBe(1);
    expect(report.totals.ageing['7-30d']).toEqual({ count: 1, amountGroup: '400.00' });
    expect(report.totals.missingFxRates).toEqual(['USD']);
  });

  it('accountants see only the pairs of their own entity, with the same figures', async () => {
    const hq = pairsOf((await http('GET', `/api/reports/reconciliation?period=${PERIOD}`, { token: t.hq })).body);
    const third = await http('GET', `/api/reports/reconciliation?period=${PERIOD}`, { token: t.thirdAcc });
    expect(third.status).toBe(200);
    expect(third.body.pairs.map((p: any) => `${p.sender.code}>${p.receiver.code}`)).toEqual([`${T}>${R}`]);
    expect(third.body.pairs[0]).toEqual(hq.get(`${T}>${R}`));
    expect(third.body.totals.byStatus.PENDING).toEqual({ count: 1, amountGroup: '500.00', amounts: [{ currency: 'CNY', amount: '500.00' }] });
    expect(third.body.totals.openDifference).toBe('500.00');
    expect(third.body.totals.missingFxRates).toEqual([]);

    for (const token of [t.senderAcc, t.senderSup]) {
      const mine = await http('GET', `/api/reports/reconciliation?period=${PERIOD}`, { token });
      expect(mine.body.pairs.map((p: any) => `${p.sender.code}>${p.receiver.code}`)).toEqual([`${R}>${S}`, `${S}>${R}`]);
      for (const p of mine.body.pairs) expect(p).toEqual(hq.get(`${p.sender.code}>${p.receiver.code}`));
      expect(mine.body.totals.overdue).toBe(1);
    }
    // HQ of another group: nothing of this one.
    const other = await createFixture();
    const otherHq = await login(other.users.hq.username, PASSWORD);
    const empty = await http('GET', `/api/reports/reconciliation?period=${PERIOD}`, { token: otherHq });
    expect(empty.status).toBe(200);
    expect(empty.body.pairs).toEqual([]);
    expect(empty.body.totals.byStatus.PENDING).toEqual({ count: 0, amountGroup: '0.00', amounts: [] });
    expect(empty.body.totals.openDifference).toBe('0.00');
  });

  it('CSV: UTF-8 with BOM, RFC 4180, a header and one row per pair, numbers equal to the JSON', async () => {
    const json = (await http('GET', `/api/reports/reconciliation?period=${PERIOD}`, { token: t.hq })).body;
    const res = await fetch(`${apiUrl()}/api/reports/reconciliation?period=${PERIOD}&format=csv`, { headers: { authorization: `Bearer ${t.hq}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="reconciliation-${PERIOD}.csv"`);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.subarray(3).toString('utf8');
    expect(text.endsWith('\r\n')).toBe(true);
    const [header, ...rows] = parseCsv(text);
    expect(header).toEqual([
      'sender code',
      'sender name',
      'receiver code',
      'receiver name',
      ...STATUSES.flatMap((s) => [`${s} count`, `${s} amount CNY`]),
      'overdue',
      ...BUCKETS.map((b) => `open ${b}`),
      'open difference CNY',
      'grade',
      'missing FX rates',
    ]);
    expect(rows).toHaveLength(json.pairs.length);
    expect(rows).toHaveLength(3);
    json.pairs.forEach((p: any, i: number) => {
      expect(rows[i]).toEqual([
        p.sender.code,
        p.sender.name,
        p.receiver.code,
        p.receiver.name,
        ...STATUSES.flatMap((s) => [String(p.byStatus[s].count), p.byStatus[s].amountGroup]),
        String(p.overdue),
        ...BUCKETS.map((b) => String(p.ageing[b].count)),
        p.openDifference,
        p.grade,
        p.missingFxRates.join(' '),
      ]);
    });
    // The quoted name survived the round trip, Chinese text included.
    expect(rows[2]![0]).toBe(T);
    expect(rows[2]![1]).toBe(`T "Trading", 贸易\n有限公司 ${fx.tag}`);
    expect(text).toContain(`"T ""Trading"", 贸易\n有限公司 ${fx.tag}"`);
    expect(rows[1]!.slice(-3)).toEqual(['62778.54', 'RED', 'USD']);

    // An accountant's CSV holds only its pairs.
    const mine = await fetch(`${apiUrl()}/api/reports/reconciliation?period=${PERIOD}&format=csv`, { headers: { authorization: `Bearer ${t.thirdAcc}` } });
    const mineRows = parseCsv(Buffer.from(await mine.arrayBuffer()).subarray(3).toString('utf8'));
    expect(mineRows.slice(1).map((r) => `${r[0]}>${r[2]}`)).toEqual([`${T}>${R}`]);
  });

  it('validates the query: 400 naming the field; 401 without a token; published in OpenAPI', async () => {
    const cases: Array<[string, string]> = [
      ['', 'period'],
      ['?period=2026-13', 'period'],
      ['?period=2026-1', 'period'],
      [`?period=${PERIOD}&format=xlsx`, 'format'],
      [`?period=${PERIOD}&extra=1`, 'extra'],
      ['?format=csv', 'period'],
    ];
    for (const [q, field] of cases) {
      const r = await http('GET', `/api/reports/reconciliation${q}`, { token: t.hq });
      expect([q, r.status]).toEqual([q, 400]);
      expect(r.body.details.map((d: { field: string }) => d.field)).toContain(field);
      expect(r.body.message).toContain(field);
    }
    expect((await http('GET', `/api/reports/reconciliation?period=${PERIOD}`)).status).toBe(401);
    expect((await http('GET', `/api/reports/reconciliation?period=${PERIOD}&group=NOPE`, { token: t.hq })).status).toBe(404);
    expect((await http('GET', `/api/reports/reconciliation?period=${PERIOD}&group=G${fx.tag}`, { token: t.hq })).body.pairs).toHaveLength(3);

    const doc = (await http('GET', '/docs/json')).body;
    const op = doc.paths['/api/reports/reconciliation'].get;
    expect(Object.keys(op.responses['200'].content).sort()).toEqual(['application/json', 'text/csv']);
    expect(op.responses['200'].content['application/json'].schema.properties.pairs.items.properties.byStatus.required).toEqual([...STATUSES]);
    expect(Object.keys(doc.paths['/api/fx-rates']).sort()).toEqual(['get', 'put']);
  });
});
