// The real stack (started by tests/global-setup.ts through scripts/stack.ts): health,
// login with the seeded demo users, OpenAPI, and one transfer driven by its workflow
// to CONFIRMED in the database.
import { http, login } from '../helpers/http';
import { createFixture, PASSWORD, uid } from '../helpers/fixtures';
import { sql } from '../helpers/db';

async function waitFor<T>(fn: () => Promise<T | undefined | null | false>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the running stack', () => {
  it('answers /healthz and /readyz with both dependencies up', async () => {
    expect((await http('GET', '/healthz')).body).toEqual({ status: 'ok' });
    const ready = await http('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ok', down: [], checks: { database: { ok: true }, temporal: { ok: true } } });
  });

  it('seeded the demo group and logs in every printed demo user with password "demo"', async () => {
    const entities = await sql<{ code: string; functionalCurrency: string }>(
      `SELECT code, "functionalCurrency" FROM "Entity" WHERE code IN ('HQ','SH01','SZ02','HK03') ORDER BY code`,
    );
    expect(entities.map((e) => [e.code, e.functionalCurrency.trim()])).toEqual([
      ['HK03', 'HKD'],
      ['HQ', 'CNY'],
      ['SH01', 'CNY'],
      ['SZ02', 'CNY'],
    ]);
    for (const username of ['hq.finance', 'sh01.accountant', 'sh01.supervisor', 'sz02.accountant', 'sz02.supervisor', 'hk03.accountant', 'hk03.supervisor']) {
      const r = await http('POST', '/api/auth/login', { body: { username, password: 'demo' } });
      expect(r.status).toBe(200);
      expect(r.body.tokenType).toBe('Bearer');
      expect(Date.parse(r.body.expiresAt)).toBeGreaterThan(Date.now() + 7 * 3600_000);
      const me = await http('GET', '/api/me', { token: r.body.token });
      expect(me.body.username).toBe(username);
    }
    const hq = await http('GET', '/api/me', { token: await login('hq.finance', 'demo') });
    expect(hq.body.groupRole).toBe('HQ_FINANCE');
    // Passwords are stored hashed (argon2id), never in clear.
    const [row] = await sql<{ passwordHash: string }>(`SELECT "passwordHash" FROM "User" WHERE username = 'sh01.accountant'`);
    expect(row.passwordHash).toMatch(/^\$argon2id\$/);
    expect(row.passwordHash).not.toContain('demo');
  });

  it('refuses wrong passwords, missing and tampered tokens', async () => {
    expect((await http('POST', '/api/auth/login', { body: { username: 'sh01.accountant', password: 'nope' } })).status).toBe(401);
    expect((await http('POST', '/api/auth/login', { body: { username: 'nobody', password: 'demo' } })).status).toBe(401);
    const bad = await http('POST', '/api/auth/login', { body: { username: 'x' } });
    expect(bad.status).toBe(400);
    expect(bad.body.details).toEqual([expect.objectContaining({ field: 'password', rule: 'required' })]);
    expect((await http('GET', '/api/me')).status).toBe(401);
    const token = await login('sh01.accountant', 'demo');
    const [h, p, s] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), sub: '00000000-0000-0000-0000-000000000000' })).toString('base64url');
    expect((await http('GET', '/api/me', { token: `${h}.${forged}.${s}` })).status).toBe(401);
  });

  it('serves the OpenAPI document and the inbox page', async () => {
    const doc = await http('GET', '/docs/json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    for (const p of ['/api/auth/login', '/api/me', '/api/transfers', '/api/transfers/{id}/confirm', '/api/tasks', '/readyz']) {
      expect(doc.body.paths).toHaveProperty([p]);
    }
    const inbox = await fetch(`${process.env.TEST_API_URL}/`);
    expect(inbox.status).toBe(200);
    expect(inbox.headers.get('content-type')).toContain('text/html');
  });

  it('creates a transfer over HTTP and its workflow drives it to CONFIRMED in the database', async () => {
    const fx = await createFixture();
    const sender = await login(fx.users.senderAcc.username, PASSWORD);
    const receiver = await login(fx.users.receiverAcc.username, PASSWORD);
    const externalRef = `E2E-${uid()}`;
    const body = {
      senderEntity: fx.sender.code,
      receiverEntity: fx.receiver.code,
      type: 'GOODS',
      externalRef,
      quantity: '3',
      unit: 'PCS',
      unitPrice: '1000.10',
      amount: '3000.30',
      currency: 'CNY',
      documentDate: '2026-11-20',
      period: '2026-11',
    };
    const created = await http('POST', '/api/transfers', { token: sender, body });
    expect(created.status).toBe(201);
    expect(created.body.workflowId).toBe(`transfer:${fx.sender.code}:${externalRef}`);
    const id = created.body.id as string;

    // The workflow opens the receiver's task (an activity writes it to Postgres).
    const task = await waitFor(async () => (await sql(`SELECT * FROM "Task" WHERE "transferId" = $1`, [id]))[0]);
    expect(task).toMatchObject({ kind: 'CONFIRM', status: 'OPEN', candidateEntityId: fx.receiver.id, candidateRole: 'ACCOUNTANT' });
    const inbox = await http('GET', '/api/tasks', { token: receiver });
    expect(inbox.body.items.map((t: { id: string }) => t.id)).toContain(task.id);

    // Same document again: the existing transfer, 200, no second workflow.
    const again = await http('POST', '/api/transfers', { token: sender, body });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(id);
    expect(await sql(`SELECT id FROM "Transfer" WHERE "externalRef" = $1`, [externalRef])).toHaveLength(1);

    const confirmed = await http('POST', `/api/transfers/${id}/confirm`, {
      token: receiver,
      body: { receiptRef: `GR-${uid()}`, quantity: '3', unitPrice: '1000.10', amount: '3000.30', date: '2026-11-21' },
    });
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.status).toBe('CONFIRMED');
    const [row] = await sql(`SELECT status, "receiptAmount"::text AS amount, "closedAt" FROM "Transfer" WHERE id = $1`, [id]);
    expect(row.status).toBe('CONFIRMED');
    expect(row.amount).toBe('3000.30');
    expect(row.closedAt).not.toBeNull();
    const audit = await sql<{ action: string }>(`SELECT action FROM "AuditEvent" WHERE "transferId" = $1 ORDER BY id`, [id]);
    expect(audit.map((a) => a.action)).toEqual(['TRANSFER_CREATED', 'TRANSFER_ROUTED', 'TRANSFER_CONFIRM']);
  });
});
