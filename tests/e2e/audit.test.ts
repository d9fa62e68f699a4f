// The append-only audit trail against the running stack: the database refuses UPDATE,
// DELETE and TRUNCATE of audit rows to the application's own role (privileges) and to
// the owner (trigger); GET /api/audit filters, pages, scopes and exports CSV.
import { Client as PgClient } from 'pg';
import { apiUrl, http, login } from '../helpers/http';
import { createFixture, transferBody, PASSWORD, uid, type Fixture } from '../helpers/fixtures';
import { until } from '../helpers/wait';

const appUrl = () => process.env.TEST_DATABASE_URL!;
const ownerUrl = () => {
  const url = process.env.TEST_OWNER_DATABASE_URL;
  if (!url) throw new Error('TEST_OWNER_DATABASE_URL is not set: run the tests through jest (tests/global-setup.ts)');
  return url;
};

async function withPg<T>(url: string, fn: (pg: PgClient) => Promise<T>): Promise<T> {
  const pg = new PgClient({ connectionString: url });
  await pg.connect();
  try {
    return await fn(pg);
  } finally {
    await pg.end();
  }
}

async function sql<T = any>(text: string, values: unknown[] = []): Promise<T[]> {
  return withPg(appUrl(), async (pg) => (await pg.query(text, values)).rows as T[]);
}

/** The error a statement fails with, inside a transaction that is rolled back whatever happens. */
async function failure(pg: PgClient, text: string, values: unknown[] = []): Promise<{ code?: string; message: string } | null> {
  await pg.query('BEGIN');
  try {
    await pg.query(text, values);
    return null;
  } catch (err) {
    return { code: (err as { code?: string }).code, message: (err as Error).message };
  } finally {
    await pg.query('ROLLBACK');
  }
}

async function insertAuditRow(pg: PgClient, tag: string): Promise<string> {
  const r = await pg.query<{ id: string }>(
    `INSERT INTO "AuditEvent"(key, "actorName", action, "objectType", "objectId", "entityIds", reason)
     VALUES ($1, 'audit test', 'AUDIT_TEST', 'test', $1, '{}', 'original') RETURNING id::text`,
    [`audit-test:${tag}`],
  );
  return r.rows[0]!.id;
}

// ---- the database -----------------------------------------------------------------

describe('audit rows are append-only in the database', () => {
  it('the API and the worker connect as a member of ic_confirm_app, not as the owner', async () => {
    const me = await sql(`SELECT current_user AS u, r.rolsuper, pg_has_role(current_user, 'ic_confirm_app', 'member') AS member
                          FROM pg_roles r WHERE r.rolname = current_user`);
    expect(me).toEqual([{ u: 'ic_confirm_app_login', rolsuper: false, member: true }]);
    // Every client session on the database besides this one is the application's role
    // (the API's and the worker's pools, the tests' own pool): none is the owner.
    expect((await http('GET', '/readyz')).status).toBe(200);
    const users = await withPg(ownerUrl(), async (pg) =>
      (
        await pg.query<{ usename: string }>(
          `SELECT DISTINCT usename FROM pg_stat_activity
           WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()`,
        )
      ).rows.map((r) => r.usename),
    );
    expect(users).toEqual(['ic_confirm_app_login']);
  });

  it("with the application's own credentials: INSERT works, UPDATE, DELETE and TRUNCATE are refused", async () => {
    await withPg(appUrl(), async (pg) => {
      const id = await insertAuditRow(pg, uid(8));
      for (const statement of [
        [`UPDATE "AuditEvent" SET reason = 'tampered' WHERE id = $1`, [id]],
        [`DELETE FROM "AuditEvent" WHERE id = $1`, [id]],
        [`TRUNCATE "AuditEvent"`, []],
      ] as const) {
        const err = await failure(pg, statement[0], [...statement[1]]);
        expect([statement[0], err]).toEqual([statement[0], { code: '42501', message: 'permission denied for table AuditEvent' }]);
      }
      // Nor can it take the trigger away or read the migration history.
      expect(await failure(pg, `ALTER TABLE "AuditEvent" DISABLE TRIGGER USER`)).toEqual({ code: '42501', message: 'must be owner of table AuditEvent' });
      expect(await failure(pg, `SELECT * FROM "_prisma_migrations"`)).toMatchObject({ code: '42501' });
      // Other tables stay writable for it.
      expect(await failure(pg, `UPDATE "Group" SET name = name WHERE false`)).toBeNull();
      const [row] = (await pg.query(`SELECT reason FROM "AuditEvent" WHERE id = $1`, [id])).rows;
      expect(row).toEqual({ reason: 'original' });
    });
  });

  it('even as the owner (a superuser) the trigger refuses UPDATE, DELETE and TRUNCATE', async () => {
    await withPg(ownerUrl(), async (pg) => {
      const me = (await pg.query(`SELECT rolsuper FROM pg_roles WHERE rolname = current_user`)).rows[0];
      expect(me).toEqual({ rolsuper: true });
      const id = await insertAuditRow(pg, uid(8));
      for (const [statement, values, op] of [
        [`UPDATE "AuditEvent" SET reason = 'tampered' WHERE id = $1`, [id], 'UPDATE'],
        [`DELETE FROM "AuditEvent" WHERE id = $1`, [id], 'DELETE'],
        [`TRUNCATE "AuditEvent"`, [], 'TRUNCATE'],
      ] as const) {
        const err = await failure(pg, statement, [...values]);
        expect(err).toEqual({ code: '42501', message: `AuditEvent is append-only: ${op} is not allowed` });
      }
      const [row] = (await pg.query(`SELECT reason FROM "AuditEvent" WHERE id = $1`, [id])).rows;
      expect(row).toEqual({ reason: 'original' });
    });
  });
});

// ---- GET /api/audit ---------------------------------------------------------------

interface Item {
  id: string;
  at: string;
  actorId: string | null;
  actorName: string | null;
  action: string;
  objectType: string;
  objectId: string;
  transferId: string | null;
  entityIds: string[];
  entityCodes: string[];
  before: unknown;
  after: unknown;
  reason: string | null;
  requestId: string | null;
  workflowId: string | null;
  key: string | null;
  actorIp: string | null;
}

const receipt = { receiptRef: 'GR-1', quantity: '4', unitPrice: '25.125', amount: '100.50', date: '2026-11-19' };

describe('GET /api/audit', () => {
  let fx: Fixture;
  let t: Record<'senderAcc' | 'receiverAcc' | 'thirdAcc' | 'hq', string>;
  let tr1: { id: string; workflowId: string };
  let tr2: { id: string };
  const memo = `逗号, "引号" and a\nsecond line ${uid()}`;

  const audit = (token: string, query: Record<string, string | number> = {}) =>
    http<{ items: Item[]; total: number; page: number; pageSize: number; message?: string }>(
      'GET',
      `/api/audit?${new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]))}`,
      { token },
    );

  beforeAll(async () => {
    fx = await createFixture();
    const names = ['senderAcc', 'receiverAcc', 'thirdAcc', 'hq'] as const;
    const tokens = await Promise.all(names.map((n) => login(fx.users[n].username, PASSWORD)));
    t = Object.fromEntries(names.map((n, i) => [n, tokens[i]!])) as typeof t;
    const create = async (over: Record<string, unknown> = {}) => {
      const r = await http('POST', '/api/transfers', {
        token: t.senderAcc,
        body: transferBody(fx, { memo: undefined, ...over }, 'AUD'),
      });
      expect(r.status).toBe(201);
      await until(async () => (await sql(`SELECT 1 FROM "AuditEvent" WHERE "transferId" = $1 AND action = 'TRANSFER_ROUTED'`, [r.body.id])).length > 0);
      return r.body;
    };
    tr1 = await create({ memo });
    tr2 = await create();
    const confirmed = await http('POST', `/api/transfers/${tr1.id}/confirm`, { token: t.receiverAcc, body: receipt });
    expect(confirmed.status).toBe(200);
    await until(async () => (await sql(`SELECT 1 FROM "AuditEvent" WHERE "transferId" = $1 AND action = 'TRANSFER_CONFIRM'`, [tr1.id])).length > 0);
  });

  it('filters by transfer: every event of it, newest first, all columns', async () => {
    const r = await audit(t.hq, { transferId: tr1.id });
    expect(r.status).toBe(200);
    const rows = await sql(`SELECT id::text, action FROM "AuditEvent" WHERE "transferId" = $1 ORDER BY id DESC`, [tr1.id]);
    expect(r.body.total).toBe(rows.length);
    expect(r.body.items.map((i) => [i.id, i.action])).toEqual(rows.map((x) => [x.id, x.action]));
    expect(r.body.items.map((i) => i.action)).toEqual(expect.arrayContaining(['TRANSFER_CREATED', 'TRANSFER_ROUTED', 'TRANSFER_CONFIRM']));
    const created = r.body.items.find((i) => i.action === 'TRANSFER_CREATED')!;
    expect(created).toMatchObject({
      actorId: fx.users.senderAcc.id,
      actorName: `sacc ${fx.tag}`,
      objectType: 'transfer',
      objectId: tr1.id,
      transferId: tr1.id,
      entityIds: [fx.sender.id, fx.receiver.id],
      entityCodes: [fx.sender.code, fx.receiver.code],
      workflowId: tr1.workflowId,
      before: null,
      after: expect.objectContaining({ memo, amount: '100.50', status: 'PENDING' }),
    });
    expect(created.actorIp).toMatch(/127\.0\.0\.1/);
    expect(created.requestId).toEqual(expect.any(String));
    expect(Object.keys(created).sort()).toEqual(
      ['id', 'key', 'at', 'actorId', 'actorName', 'actorIp', 'action', 'objectType', 'objectId', 'transferId', 'entityIds', 'entityCodes', 'before', 'after', 'reason', 'requestId', 'workflowId'].sort(),
    );
    const routed = r.body.items.find((i) => i.action === 'TRANSFER_ROUTED')!;
    expect(routed).toMatchObject({ actorName: 'system', actorId: null, workflowId: tr1.workflowId });
    // newest first
    const ids = r.body.items.map((i) => BigInt(i.id));
    expect([...ids].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0))).toEqual(ids);
  });

  it('filters by entity, actor, action and object', async () => {
    const bySender = await audit(t.hq, { entity: fx.sender.code, pageSize: 500 });
    expect(bySender.body.total).toBeGreaterThanOrEqual(5);
    for (const i of bySender.body.items) expect(i.entityIds).toContain(fx.sender.id);
    expect(new Set(bySender.body.items.map((i) => i.transferId))).toEqual(new Set([tr1.id, tr2.id]));

    const byActor = await audit(t.hq, { actor: fx.users.receiverAcc.username });
    expect(byActor.body.items.map((i) => [i.action, i.transferId, i.actorId])).toEqual([['TRANSFER_CONFIRM', tr1.id, fx.users.receiverAcc.id]]);

    const created = await audit(t.hq, { entity: fx.receiver.code, action: 'TRANSFER_CREATED' });
    expect(created.body.items.map((i) => i.transferId)).toEqual([tr2.id, tr1.id]);

    const object = await audit(t.hq, { objectType: 'transfer', objectId: tr2.id });
    expect(object.body.items.length).toBeGreaterThanOrEqual(2);
    for (const i of object.body.items) expect([i.objectType, i.objectId]).toEqual(['transfer', tr2.id]);

    expect((await audit(t.hq, { actor: `nobody-${uid()}` })).body).toMatchObject({ items: [], total: 0 });
    expect((await audit(t.hq, { entity: `NOPE${uid()}` })).body).toMatchObject({ items: [], total: 0 });
  });

  it('filters by time range: from inclusive, to exclusive', async () => {
    const all = (await audit(t.hq, { entity: fx.sender.code, pageSize: 500 })).body.items;
    const created2 = all.find((i) => i.action === 'TRANSFER_CREATED' && i.transferId === tr2.id)!;
    const created1 = all.find((i) => i.action === 'TRANSFER_CREATED' && i.transferId === tr1.id)!;
    expect(created1.at < created2.at).toBe(true);

    const since = (await audit(t.hq, { entity: fx.sender.code, from: created2.at, pageSize: 500 })).body.items;
    expect(since.map((i) => i.id)).toEqual(all.filter((i) => i.at >= created2.at).map((i) => i.id));
    expect(since.map((i) => i.id)).toContain(created2.id);
    expect(since.map((i) => i.id)).not.toContain(created1.id);

    const before = (await audit(t.hq, { entity: fx.sender.code, to: created2.at, pageSize: 500 })).body.items;
    expect(before.map((i) => i.id)).toEqual(all.filter((i) => i.at < created2.at).map((i) => i.id));
    expect(before.map((i) => i.id)).toContain(created1.id);

    const window = (await audit(t.hq, { entity: fx.sender.code, from: created1.at, to: created2.at, pageSize: 500 })).body.items;
    expect(window.map((i) => i.id)).toEqual(all.filter((i) => i.at >= created1.at && i.at < created2.at).map((i) => i.id));

    const backwards = await audit(t.hq, { from: created2.at, to: created1.at });
    expect(backwards.status).toBe(422);
    expect(backwards.body.message).toBe('to: must be after from');
  });

  it('pages: disjoint pages in the same order as one big page, with the total', async () => {
    const all = (await audit(t.hq, { entity: fx.sender.code, pageSize: 500 })).body;
    const pages = [];
    for (let page = 1; page <= Math.ceil(all.total / 2); page++) {
      const r = await audit(t.hq, { entity: fx.sender.code, page, pageSize: 2 });
      expect(r.body).toMatchObject({ total: all.total, page, pageSize: 2 });
      expect(r.body.items.length).toBeLessThanOrEqual(2);
      pages.push(...r.body.items.map((i) => i.id));
    }
    expect(pages).toEqual(all.items.map((i) => i.id));
    expect((await audit(t.hq, { entity: fx.sender.code, page: 99, pageSize: 2 })).body.items).toEqual([]);
  });

  it("is scoped: the parties see their pair's events; a third entity's accountant and another group's HQ see none", async () => {
    const sender = await audit(t.senderAcc, { transferId: tr1.id });
    const hq = await audit(t.hq, { transferId: tr1.id });
    expect(sender.body.total).toBe(hq.body.total);
    expect((await audit(t.receiverAcc, { transferId: tr1.id })).body.total).toBe(hq.body.total);

    const third = await audit(t.thirdAcc, { pageSize: 500 });
    expect(third.status).toBe(200);
    expect(third.body).toMatchObject({ items: [], total: 0 });
    expect((await audit(t.thirdAcc, { transferId: tr1.id })).body.total).toBe(0);
    expect((await audit(t.thirdAcc, { entity: fx.sender.code })).body.total).toBe(0);

    const other = await createFixture();
    const otherHq = await login(other.users.hq.username, PASSWORD);
    expect((await audit(otherHq, { transferId: tr1.id })).body.total).toBe(0);
    expect((await audit(otherHq, { entity: fx.sender.code })).body.total).toBe(0);
    const everything = (await audit(otherHq, { pageSize: 500 })).body.items;
    for (const i of everything) {
      expect(i.entityIds).not.toContain(fx.sender.id);
      expect(i.entityIds).not.toContain(fx.receiver.id);
    }
  });

  it('group-level events (no entities) reach the HQ of that group only', async () => {
    const put = await http('PUT', '/api/fx-rates', { token: t.hq, body: [{ period: '2026-11', currency: 'USD', rate: '7.123456' }] });
    expect(put.status).toBe(200);
    const mine = await audit(t.hq, { action: 'FX_RATES_UPDATED', actor: fx.users.hq.username });
    expect(mine.body.items).toHaveLength(1);
    expect(mine.body.items[0]).toMatchObject({ objectType: 'fx-rate', objectId: `G${fx.tag}`, entityIds: [], entityCodes: [], actorId: fx.users.hq.id });
    const other = await createFixture();
    const otherHq = await login(other.users.hq.username, PASSWORD);
    expect((await audit(otherHq, { action: 'FX_RATES_UPDATED', actor: fx.users.hq.username })).body.total).toBe(0);
    expect((await audit(t.senderAcc, { action: 'FX_RATES_UPDATED' })).body.total).toBe(0);
  });

  it('refuses a bad query (400) and no token (401)', async () => {
    expect((await http('GET', '/api/audit')).status).toBe(401);
    for (const query of ['pageSize=501', 'page=0', 'page=3628876177420843529273344', 'from=yesterday', 'transferId=not-a-uuid', 'format=xml', 'colour=red', 'actor=a%00b', 'objectId=%00']) {
      const r = await http('GET', `/api/audit?${query}`, { token: t.hq });
      expect([query, r.status, r.body.code]).toEqual([query, 400, 'VALIDATION']);
    }
  });

  it('CSV for auditors: UTF-8 with BOM, RFC 4180, a header and one row per event, equal to the JSON', async () => {
    const res = await fetch(`${apiUrl()}/api/audit?entity=${fx.sender.code}&format=csv`, { headers: { authorization: `Bearer ${t.hq}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="audit-\d{8}T\d{6}Z\.csv"$/);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.subarray(3).toString('utf8');
    expect(text.endsWith('\r\n')).toBe(true);
    const [header, ...rows] = parseCsv(text);
    expect(header).toEqual([
      'id', 'at', 'actor id', 'actor name', 'actor ip', 'action', 'object type', 'object id', 'transfer id',
      'entity ids', 'entity codes', 'before', 'after', 'reason', 'request id', 'workflow id', 'key',
    ]);
    const json = (await audit(t.hq, { entity: fx.sender.code, pageSize: 500 })).body;
    expect(Number(res.headers.get('x-total-count'))).toBe(json.total);
    expect(rows).toHaveLength(json.total);
    const opt = (v: string) => (v === '' ? null : v);
    const parsed = rows.map((r) => ({
      id: r[0],
      at: r[1],
      actorId: opt(r[2]!),
      actorName: opt(r[3]!),
      actorIp: opt(r[4]!),
      action: r[5],
      objectType: r[6],
      objectId: r[7],
      transferId: opt(r[8]!),
      entityIds: r[9] ? r[9].split(' ') : [],
      entityCodes: r[10] ? r[10].split(' ') : [],
      before: r[11] ? JSON.parse(r[11]) : null,
      after: r[12] ? JSON.parse(r[12]) : null,
      reason: opt(r[13]!),
      requestId: opt(r[14]!),
      workflowId: opt(r[15]!),
      key: opt(r[16]!),
    }));
    expect(parsed).toEqual(json.items);
    // The memo with a comma, quotes, a line break and Chinese went through intact.
    expect(parsed.find((p) => p.action === 'TRANSFER_CREATED' && p.transferId === tr1.id)!.after).toMatchObject({ memo });
    expect(text).toContain('逗号');

    const third = await fetch(`${apiUrl()}/api/audit?format=csv`, { headers: { authorization: `Bearer ${t.thirdAcc}` } });
    expect(parseCsv(Buffer.from(await third.arrayBuffer()).subarray(3).toString('utf8'))).toEqual([header]);
  });

  it('is documented in the OpenAPI document with both media types', async () => {
    const doc = (await http('GET', '/docs/json')).body;
    const op = doc.paths['/api/audit'].get;
    expect(Object.keys(op.responses['200'].content).sort()).toEqual(['application/json', 'text/csv']);
    expect(Object.keys(op.responses).sort()).toEqual(['200', '400', '401', '422']);
    expect(op.parameters.map((p: { name: string }) => p.name).sort()).toEqual(
      ['action', 'actor', 'entity', 'format', 'from', 'objectId', 'objectType', 'page', 'pageSize', 'to', 'transferId'].sort(),
    );
  });
});

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
