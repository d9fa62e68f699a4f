// The API endpoints the web inbox adds: live events (SSE), the app config, demo logins,
// the actions a user may take on a transfer, and how the built app is served.
import { apiUrl, http, login } from '../helpers/http';
import { createFixture, PASSWORD, uid, type Fixture } from '../helpers/fixtures';
import { until } from '../helpers/wait';

function body(fx: Fixture, over: Record<string, unknown> = {}) {
  return {
    senderEntity: fx.sender.code,
    receiverEntity: fx.receiver.code,
    type: 'SERVICE',
    externalRef: `EV-${uid()}`,
    amount: '1200.00',
    currency: 'CNY',
    documentDate: '2026-11-18',
    period: '2026-11',
    ...over,
  };
}

/** An open /api/events stream collecting its events. */
async function stream(token: string) {
  const controller = new AbortController();
  const res = await fetch(`${apiUrl()}/api/events`, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
  const events: Array<Record<string, unknown>> = [];
  const done = (async () => {
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    try {
      for (;;) {
        const { value, done: end } = await reader.read();
        if (end) break;
        buf += value;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const chunk = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = chunk.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n');
          if (data) events.push(JSON.parse(data));
        }
      }
    } catch {
      /* aborted */
    }
  })();
  return { res, events, close: async () => (controller.abort(), await done) };
}

describe('live events (GET /api/events)', () => {
  it('needs a token', async () => {
    const r = await http('GET', '/api/events');
    expect(r.status).toBe(401);
  });

  it('tells the parties and HQ of the group when tasks of a transfer change, and nobody else', async () => {
    const fx = await createFixture();
    const [sender, receiver, third, hq] = await Promise.all([fx.users.senderAcc, fx.users.receiverAcc, fx.users.thirdAcc, fx.users.hq].map((u) => login(u.username, PASSWORD)));
    const other = await createFixture();
    const outsiderHq = await login(other.users.hq.username, PASSWORD);
    const streams = await Promise.all([receiver, third, hq, outsiderHq].map(stream));
    try {
      for (const s of streams) {
        expect(s.res.status).toBe(200);
        expect(s.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      }
      await until(async () => streams.every((s) => s.events.some((e) => e.type === 'hello')));
      const r = await http('POST', '/api/transfers', { token: sender, body: body(fx) });
      expect(r.status).toBe(201);
      const id = r.body.id;
      const [rec, thirdS, hqS, outS] = streams;
      await until(async () => rec.events.some((e) => e.type === 'task' && e.transferId === id));
      await until(async () => hqS.events.some((e) => e.type === 'task' && e.transferId === id));
      // The receiver confirms: its task closes, another event.
      const before = rec.events.length;
      const c = await http('POST', `/api/transfers/${id}/confirm`, { token: receiver, body: { receiptRef: 'R-1', amount: '1200.00', date: '2026-11-19' } });
      expect(c.status).toBe(200);
      await until(async () => rec.events.slice(before).some((e) => e.transferId === id));
      expect(thirdS.events.filter((e) => e.transferId === id)).toEqual([]);
      expect(outS.events.filter((e) => e.transferId === id)).toEqual([]);
    } finally {
      await Promise.all(streams.map((s) => s.close()));
    }
  });
});

describe('what the inbox needs', () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await createFixture();
  });

  it('GET /api/auth/demo-logins lists the demo users in demo mode (the test stack runs in demo mode)', async () => {
    const r = await http('GET', '/api/auth/demo-logins');
    expect(r.status).toBe(200);
    expect(r.body.logins).toEqual(expect.arrayContaining([expect.objectContaining({ username: 'hq.finance' }), expect.objectContaining({ username: 'sh01.accountant' })]));
  });

  it('GET /api/config: Temporal UI link, thresholds and entities of my group', async () => {
    const token = await login(fx.users.receiverAcc.username, PASSWORD);
    const r = await http('GET', '/api/config', { token });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ demoMode: true, temporalNamespace: 'default', thresholds: { red: '50000', amber: '10000', currency: 'CNY' } });
    expect(r.body.temporalUiUrl).toMatch(/^http:\/\//);
    expect(r.body.entities.map((e: { code: string }) => e.code).sort()).toEqual([fx.hq.code, fx.sender.code, fx.receiver.code, fx.third.code].sort());
    expect((await http('GET', '/api/config')).status).toBe(401);
  });

  it('GET /api/transfers/:id/actions offers each user only what they may do', async () => {
    const [sender, receiver, receiverSup, third, hq] = await Promise.all(
      [fx.users.senderAcc, fx.users.receiverAcc, fx.users.receiverSup, fx.users.thirdAcc, fx.users.hq].map((u) => login(u.username, PASSWORD)),
    );
    const r = await http('POST', '/api/transfers', { token: sender, body: body(fx) });
    const id = r.body.id;
    await until(async () => (await http('GET', `/api/transfers/${id}`, { token: receiver })).body.tasks.length > 0);
    const of = async (token: string) => (await http('GET', `/api/transfers/${id}/actions`, { token })).body;
    expect(await of(receiver)).toMatchObject({ confirm: true, reject: true, dispute: true, withdraw: false, correct: false, arbitrate: false, comment: true });
    const rec = await of(receiver);
    expect(rec.tasks).toEqual([expect.objectContaining({ kind: 'CONFIRM', approve: false, delegate: true, transfer: true })]);
    expect(rec.colleagues.map((c: { username: string }) => c.username)).toEqual(expect.arrayContaining([fx.users.receiverAcc2.username]));
    expect(rec.colleagues.map((c: { username: string }) => c.username)).not.toContain(fx.users.receiverAcc.username);
    expect(await of(sender)).toMatchObject({ confirm: false, withdraw: true, tasks: [] });
    expect(await of(receiverSup)).toMatchObject({ confirm: false, withdraw: false, tasks: [] });
    expect(await of(hq)).toMatchObject({ confirm: false, arbitrate: false });
    expect((await http('GET', `/api/transfers/${id}/actions`, { token: third })).status).toBe(404);
    // After the confirmation nothing is left to do but comment.
    expect((await http('POST', `/api/transfers/${id}/confirm`, { token: receiver, body: { receiptRef: 'R-2', amount: '1200.00', date: '2026-11-19' } })).status).toBe(200);
    expect(await of(receiver)).toMatchObject({ confirm: false, reject: false, dispute: false, withdraw: false, tasks: [], comment: true });
    expect(await of(sender)).toMatchObject({ withdraw: false });
  });

  it('serves the built app: index.html not cached, hashed assets immutable', async () => {
    const res = await fetch(`${apiUrl()}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const html = await res.text();
    const js = /<script defer src="(\/assets\/main-[A-Z0-9]+\.js)">/.exec(html)?.[1];
    const css = /<link rel="stylesheet" href="(\/assets\/main-[A-Z0-9]+\.css)">/.exec(html)?.[1];
    expect(js).toBeDefined();
    expect(css).toBeDefined();
    for (const asset of [js!, css!]) {
      const a = await fetch(`${apiUrl()}${asset}`);
      expect(a.status).toBe(200);
      expect(a.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    }
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(html).not.toMatch(/<script>(?!<\/script>)/); // no inline scripts
  });
});
