// The web inbox flows that inbox.test.ts does not drive, in real headless Chromium
// against the running test stack: creating a transfer with validation as you type;
// importing a CSV with a progress bar and per-line results (and importing it again);
// switching the language (remembered) and logging out (the token is gone); withdrawing
// a transfer nobody has acted on, an action only the sender's accountant is offered.
// Every check of what happened goes through the API, not only the page.
import type { Browser, Page } from 'playwright-core';
import { http, login } from '../helpers/http';
import { createFixture, transferBody, PASSWORD, uid, type Fixture } from '../helpers/fixtures';
import { launchBrowser, loginAs, newPage, screenshot } from '../helpers/browser';
import { until } from '../helpers/wait';

jest.setTimeout(120_000);

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

type TaskItem = { id: string; transfer: { id: string } };

/** Waits until the user's inbox (GET /api/tasks) has a task on the transfer; returns it. */
async function taskFor(token: string, transferId: string): Promise<TaskItem> {
  return until(async () => {
    const r = await http<{ items: TaskItem[] }>('GET', '/api/tasks?pageSize=200', { token });
    expect(r.status).toBe(200);
    return r.body.items.find((x) => x.transfer.id === transferId);
  });
}

/** The transfers of the fixture's sender entity, as the API lists them. */
async function sendersTransfers(fx: Fixture, token: string) {
  const r = await http<{ items: Array<{ id: string; externalRef: string; quantity: string | null; unitPrice: string | null; amount: string; status: string }>; total: number }>(
    'GET',
    `/api/transfers?entity=${fx.sender.code}&pageSize=100`,
    { token },
  );
  expect(r.status).toBe(200);
  return r.body;
}

/** The text of the element, or '' (never null, for readable assertions). */
async function text(page: Page, selector: string): Promise<string> {
  return (await page.locator(selector).first().textContent()) ?? '';
}

/** A CSV field: quoted when it has a comma, quote or line break (RFC 4180). */
const csvField = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

describe('web inbox flows (Chromium)', () => {
  it('creates a transfer: validation as you type blocks a wrong amount, a valid one is created with the typed figures and reaches the receiver', async () => {
    const fx = await createFixture();
    const senderToken = await login(fx.users.senderAcc.username, PASSWORD);
    const receiverToken = await login(fx.users.receiverAcc.username, PASSWORD);
    const { page, context, errors } = await newPage(browser, { lang: 'en' });
    await loginAs(page, fx.users.senderAcc.username, PASSWORD);

    // Reached through the navigation, as a user would.
    await page.locator('a.nav-item[href="#/create"]').click();
    const form = page.locator('[data-testid=form-create]');
    await form.waitFor();
    expect(await form.locator('select[name=senderEntity]').inputValue()).toBe(fx.sender.code);
    // The sender itself is not offered as a receiver.
    expect(await form.locator(`[data-testid=receiver] option[value="${fx.sender.code}"]`).count()).toBe(0);
    await form.locator('[data-testid=receiver]').selectOption(fx.receiver.code);

    const ref = `UI-${uid()}`;
    await form.locator('input[name=externalRef]').fill(ref);
    await form.locator('input[name=quantity]').fill('3.5');
    await form.locator('input[name=unit]').fill('KG');
    await form.locator('input[name=unitPrice]').fill('12.345678');
    // 3.5 × 12.345678 = 43.209873 → 43.21 (a cent either way is accepted): 43.50 is wrong.
    await form.locator('input[name=amount]').fill('43.50');
    const mismatch = page.locator('text=Amount must equal quantity × unit price = 43.21');
    await mismatch.waitFor(); // as typed, before any submit
    await form.locator('input[name=period]').fill('2026-11');
    await form.locator('input[name=documentDate]').fill('2026-11-18');
    await form.locator('input[name=memo]').fill('UI 创建的往来');
    await screenshot(page, 'create-transfer-invalid');

    // Submitting is refused on the page: nothing is sent, the form and what was typed stay.
    const posts: string[] = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && new URL(r.url()).pathname === '/api/transfers') posts.push(r.url());
    });
    await form.locator('button[type=submit]').click();
    await page.waitForTimeout(500);
    expect(page.url()).toMatch(/#\/create$/);
    await mismatch.waitFor();
    expect(await form.locator('input[name=amount]').inputValue()).toBe('43.50');
    expect(posts).toEqual([]);
    expect((await sendersTransfers(fx, senderToken)).items.map((x) => x.externalRef)).not.toContain(ref);

    // Other rules as typed: a unit is required with a quantity.
    await form.locator('input[name=unit]').fill('');
    await page.locator('text=A unit is required with a quantity').waitFor();
    await form.locator('input[name=unit]').fill('KG');
    expect(await page.locator('text=A unit is required with a quantity').count()).toBe(0);

    // The right amount clears the message; the transfer is created and its page opens.
    await form.locator('input[name=amount]').fill('43.21');
    await until(async () => (await mismatch.count()) === 0);
    expect(await form.locator('.field-error, [data-testid=error-box]').count()).toBe(0);
    await screenshot(page, 'create-transfer');
    await form.locator('button[type=submit]').click();
    await page.waitForURL(/#\/transfers\/[0-9a-f-]{36}$/);
    expect(posts).toHaveLength(1); // one POST, for the valid form
    const id = page.url().match(/#\/transfers\/([0-9a-f-]{36})$/)![1];
    await page.locator('[data-testid=transfer][data-status=PENDING]').waitFor();
    expect(await text(page, 'h1')).toBe(ref);

    // The API has it with exactly the typed figures.
    const got = await http('GET', `/api/transfers/${id}`, { token: senderToken });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      id,
      externalRef: ref,
      senderEntity: { code: fx.sender.code },
      receiverEntity: { code: fx.receiver.code },
      type: 'GOODS',
      quantity: '3.5',
      unit: 'KG',
      unitPrice: '12.345678',
      amount: '43.21',
      currency: 'CNY',
      documentDate: '2026-11-18',
      period: '2026-11',
      memo: 'UI 创建的往来',
      status: 'PENDING',
      createdBy: { id: fx.users.senderAcc.id },
    });
    const listed = (await sendersTransfers(fx, senderToken)).items.filter((x) => x.externalRef === ref);
    expect(listed).toHaveLength(1);

    // The receiver's accountant now has the task.
    const task = await taskFor(receiverToken, id);
    expect(task.transfer.id).toBe(id);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('imports a CSV file: progress bar, per-line results with the bad line\'s field and reason, only the good lines created; the same file again reports them as existed', async () => {
    const fx = await createFixture();
    const senderToken = await login(fx.users.senderAcc.username, PASSWORD);
    const receiverToken = await login(fx.users.receiverAcc.username, PASSWORD);

    // The file is built from the template's own header.
    const tpl = await http<string>('GET', '/api/transfers/import/template', { token: senderToken, headers: { accept: 'text/csv' } });
    expect(tpl.status).toBe(200);
    const header = String(tpl.body).replace(/^\uFEFF/, '').split(/\r?\n/)[0].split(',');
    expect(header).toEqual(expect.arrayContaining(['senderEntity', 'receiverEntity', 'externalRef', 'quantity', 'unitPrice', 'amount', 'period']));
    const good1 = transferBody(fx, { quantity: '2', unitPrice: '10.005', amount: '20.01', memo: '导入，第一行' }, 'CSV');
    const bad = transferBody(fx, { quantity: '3', unitPrice: '7', amount: '22.00' }, 'CSV'); // 3 × 7 = 21.00
    const good2 = transferBody(fx, { receiverEntity: fx.third.code, type: 'SERVICE', quantity: '', unit: '', unitPrice: '', amount: '1234567.89' }, 'CSV');
    const row = (b: Record<string, unknown>) => header.map((h) => csvField(String(b[h] ?? ''))).join(',');
    const csv = `\uFEFF${[header.join(','), row(good1), row(bad), row(good2)].join('\r\n')}\r\n`;
    const file = { name: 'transfers.csv', mimeType: 'text/csv', buffer: Buffer.from(csv, 'utf8') };

    const { page, context, errors } = await newPage(browser, { lang: 'en' });
    await loginAs(page, fx.users.senderAcc.username, PASSWORD);
    await page.locator('a.nav-item[href="#/import"]').click();
    const form = page.locator('[data-testid=form-import]');
    await form.waitFor();
    expect(await form.locator('button[type=submit]').isDisabled()).toBe(true); // nothing to import yet
    await form.locator('input[type=file]').setInputFiles(file);
    // The file is read into the text area (without its BOM) and named.
    await until(async () => (await form.locator('[data-testid=import-csv]').inputValue()).startsWith(header.join(',')));
    expect(await form.textContent()).toContain('transfers.csv');
    await form.locator('button[type=submit]').click();

    const progress = page.locator('[data-testid=import-progress]');
    await progress.waitFor();
    const results = page.locator('[data-testid=import-results]');
    await results.waitFor({ timeout: 30_000 });
    expect(await progress.locator('[role=progressbar]').getAttribute('aria-valuenow')).toBe('100');
    const summary = await progress.locator('p').first().textContent();
    expect(summary).toContain('3 of 3 lines answered');
    expect(summary).toContain('2 created');
    expect(summary).toContain('1 failed');

    const lines = results.locator('tbody tr');
    expect(await lines.count()).toBe(3);
    expect(await lines.nth(0).getAttribute('data-status')).toBe('created');
    expect(await lines.nth(1).getAttribute('data-status')).toBe('error');
    expect(await lines.nth(2).getAttribute('data-status')).toBe('created');
    expect(await lines.nth(0).textContent()).toContain(good1.externalRef);
    expect(await lines.nth(2).textContent()).toContain(good2.externalRef);
    // Created lines link to their transfer.
    expect(await lines.nth(0).locator('a').getAttribute('href')).toMatch(/^#\/transfers\/[0-9a-f-]{36}$/);

    // The bad line shows the field and the reason the API gave.
    const imp = await http('GET', '/api/imports?limit=1', { token: senderToken });
    const detail = await http('GET', `/api/imports/${imp.body.items[0].importId}`, { token: senderToken });
    expect(detail.body.status).toBe('DONE');
    const badResult = detail.body.results.find((r: { status: string }) => r.status === 'error');
    expect(badResult).toMatchObject({ line: 2, externalRef: bad.externalRef });
    expect(badResult.errors.map((e: { field: string }) => e.field)).toContain('amount');
    const badText = (await lines.nth(1).textContent()) ?? '';
    expect(badText).toContain(bad.externalRef);
    for (const e of badResult.errors as Array<{ field: string; reason: string }>) {
      expect(await lines.nth(1).locator('code', { hasText: e.field }).count()).toBe(1);
      expect(badText).toContain(e.reason);
    }
    expect(badText).toMatch(/quantity × unitPrice = 21\.00 /); // the reason names the expected amount (3 × 7)
    await screenshot(page, 'import', { fullPage: false });

    // Exactly the good lines exist, with the figures of the file.
    const listed = await sendersTransfers(fx, senderToken);
    expect(listed.items.map((x) => x.externalRef).sort()).toEqual([good1.externalRef, good2.externalRef].sort());
    const one = listed.items.find((x) => x.externalRef === good1.externalRef)!;
    expect({ quantity: one.quantity, unitPrice: one.unitPrice, amount: one.amount }).toEqual({ quantity: '2', unitPrice: '10.005', amount: '20.01' });
    const two = listed.items.find((x) => x.externalRef === good2.externalRef)!;
    expect({ quantity: two.quantity, unitPrice: two.unitPrice, amount: two.amount }).toEqual({ quantity: null, unitPrice: null, amount: '1234567.89' });
    await taskFor(receiverToken, one.id); // the imported transfer's workflow runs: the receiver has the task

    // The same file again: the good lines are reported as existed, nothing new is created.
    await form.locator('input[type=file]').setInputFiles(file);
    await form.locator('button[type=submit]').click();
    await until(async () => (await results.locator('tbody tr[data-status=existed]').count()) === 2, 30_000);
    expect(await results.locator('tbody tr[data-status=created]').count()).toBe(0);
    expect(await results.locator('tbody tr[data-status=error]').count()).toBe(1);
    expect(await results.locator('tbody tr').nth(1).getAttribute('data-status')).toBe('error');
    expect(await progress.locator('p').first().textContent()).toContain('2 existed');
    const again = await sendersTransfers(fx, senderToken);
    expect(again.total).toBe(2);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('is in 简体中文 by default, switches to English (remembered after a reload), and logging out forgets the token', async () => {
    const fx = await createFixture();
    const { page, context, errors } = await newPage(browser); // no language chosen yet
    await loginAs(page, fx.users.senderAcc.username, PASSWORD);
    const nav = page.locator('nav.nav');
    expect(await nav.locator('a[href="#/"]').textContent()).toContain('我的待办');
    expect(await nav.locator('a[href="#/create"]').textContent()).toBe('新建往来');
    expect(await page.locator('[data-testid=logout]').textContent()).toBe('退出');
    expect(await page.evaluate('document.documentElement.lang')).toMatch(/^zh/);

    await page.locator('[data-testid=lang-switch]').click();
    await until(async () => (await nav.locator('a[href="#/create"]').textContent()) === 'New transfer');
    expect(await nav.locator('a[href="#/"]').textContent()).toContain('My inbox');
    expect(await page.locator('[data-testid=logout]').textContent()).toBe('Log out');
    expect(await page.locator('[data-testid=lang-switch]').textContent()).toBe('中文');
    expect(await page.evaluate('document.documentElement.lang')).toBe('en');

    // Remembered: a reload (still logged in) comes back in English.
    await page.reload();
    await page.locator('[data-testid=user-name]').waitFor();
    expect(await nav.locator('a[href="#/create"]').textContent()).toBe('New transfer');
    expect(await page.locator('[data-testid=logout]').textContent()).toBe('Log out');

    // Logout: back to the login page, the token is gone, and a reload stays there.
    expect(await page.evaluate("localStorage.getItem('ic.token')")).toBeTruthy();
    await page.locator('[data-testid=logout]').click();
    await page.locator('[data-testid=login-form]').waitFor();
    expect(page.url()).toMatch(/#\/login/);
    expect(await page.evaluate("localStorage.getItem('ic.token')")).toBeNull();
    expect(await page.locator('[data-testid=user-name]').count()).toBe(0);
    await page.reload();
    await page.locator('[data-testid=login-form]').waitFor();
    expect(await page.locator('[data-testid=user-name]').count()).toBe(0);
    // A protected page sends the logged-out user to the login page too.
    await page.goto('/#/create');
    await page.waitForURL(/#\/login/);
    await page.locator('[data-testid=login-form]').waitFor();
    expect(await page.locator('[data-testid=form-create]').count()).toBe(0);
    // The login page is still in English (the choice outlives the session).
    expect(await page.locator('[data-testid=login-form] button[type=submit]').textContent()).toBe('Log in');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('the sender withdraws a transfer nobody has acted on; the receiver and the sender\'s supervisor are not offered the withdrawal', async () => {
    const fx = await createFixture();
    const senderToken = await login(fx.users.senderAcc.username, PASSWORD);
    const receiverToken = await login(fx.users.receiverAcc.username, PASSWORD);
    const supToken = await login(fx.users.senderSup.username, PASSWORD);
    const created = await http('POST', '/api/transfers', { token: senderToken, body: transferBody(fx, {}, 'WD') });
    expect(created.status).toBe(201);
    const id: string = created.body.id;
    await taskFor(receiverToken, id);

    // What the API offers each of them.
    const actionsOf = async (token: string) => (await http('GET', `/api/transfers/${id}/actions`, { token })).body;
    expect((await actionsOf(senderToken)).withdraw).toBe(true);
    expect((await actionsOf(receiverToken)).withdraw).toBe(false);
    expect((await actionsOf(supToken)).withdraw).toBe(false);

    // The receiver's accountant sees their own actions, not the withdrawal.
    const receiver = await newPage(browser, { lang: 'en' });
    await loginAs(receiver.page, fx.users.receiverAcc.username, PASSWORD);
    await receiver.page.goto(`/#/transfers/${id}`);
    await receiver.page.locator('[data-testid=transfer][data-status=PENDING]').waitFor();
    await receiver.page.locator('[data-testid=tab-confirm]').waitFor();
    expect(await receiver.page.locator('[data-testid=tab-withdraw]').count()).toBe(0);
    expect(await receiver.page.locator('[data-testid=form-withdraw]').count()).toBe(0);

    // The sender's supervisor may look, but is offered nothing to do.
    const sup = await newPage(browser, { lang: 'en' });
    await loginAs(sup.page, fx.users.senderSup.username, PASSWORD);
    await sup.page.goto(`/#/transfers/${id}`);
    await sup.page.locator('[data-testid=transfer][data-status=PENDING]').waitFor();
    await sup.page.locator('[data-testid=comments]').waitFor();
    expect(await sup.page.locator('[data-testid=tab-withdraw]').count()).toBe(0);
    expect(await sup.page.locator('[data-testid=actions]').count()).toBe(0);

    // The sender withdraws, with a reason.
    const sender = await newPage(browser, { lang: 'en' });
    await loginAs(sender.page, fx.users.senderAcc.username, PASSWORD);
    await sender.page.goto(`/#/transfers/${id}`);
    await sender.page.locator('[data-testid=transfer][data-status=PENDING]').waitFor();
    expect(await sender.page.locator('[data-testid=tab-confirm]').count()).toBe(0); // not the sender's to confirm
    await sender.page.locator('[data-testid=tab-withdraw]').click();
    const form = sender.page.locator('[data-testid=form-withdraw]');
    await form.locator('textarea[name=reason]').fill('开错了单据，作废重开');
    await form.locator('button[type=submit]').click();
    await sender.page.locator('[data-testid=transfer][data-status=WITHDRAWN]').waitFor();
    expect(await text(sender.page, '[data-testid=status]')).toBe('Withdrawn');
    expect(await text(sender.page, '[data-testid=action-done]')).toContain('Withdrawn.');
    await until(async () => (await sender.page.locator('[data-testid=actions]').count()) === 0); // nothing left to do
    expect(await text(sender.page, '[data-testid=timeline]')).toContain('开错了单据，作废重开');

    // The API agrees: withdrawn, the receiver's task is gone, nobody may withdraw it again.
    const after = await http('GET', `/api/transfers/${id}`, { token: receiverToken });
    expect(after.body.status).toBe('WITHDRAWN');
    await until(async () => {
      const r = await http<{ items: TaskItem[] }>('GET', '/api/tasks?pageSize=200', { token: receiverToken });
      return !r.body.items.some((x) => x.transfer.id === id);
    });
    expect((await actionsOf(senderToken)).withdraw).toBe(false);
    // The receiver's open page follows (live events): WITHDRAWN, and the confirm form is gone.
    await receiver.page.locator('[data-testid=transfer][data-status=WITHDRAWN]').waitFor({ timeout: 30_000 });
    expect(await receiver.page.locator('[data-testid=tab-confirm]').count()).toBe(0);

    for (const p of [receiver, sup, sender]) {
      expect(p.errors).toEqual([]);
      await p.context.close();
    }
  });
});
