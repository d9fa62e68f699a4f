// The web inbox in real headless Chromium against the running test stack: an
// accountant of the receiver sees a task created through the API by the sender's
// accountant appear without reloading, opens it, confirms it and sees it leave the inbox
// while the sender's view shows CONFIRMED; a mismatch shows the differences highlighted;
// a phone-sized screen has no horizontal scrolling; a server refusal is shown in plain
// words and keeps what was typed.
import type { Browser } from 'playwright-core';
import { http, login } from '../helpers/http';
import { createFixture, transferBody, PASSWORD, testPrisma, uid, type Fixture } from '../helpers/fixtures';
import { horizontalOverflow, launchBrowser, loginAs, newPage, screenshot } from '../helpers/browser';
import { until } from '../helpers/wait';

jest.setTimeout(120_000);

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

async function createTransfer(fx: Fixture, token: string, over: Record<string, unknown> = {}) {
  const r = await http('POST', '/api/transfers', { token, body: transferBody(fx, over, 'WEB') });
  expect(r.status).toBe(201);
  return r.body as { id: string; externalRef: string };
}

/** Waits until the workflow has offered the receiver its task (over the API). */
async function taskReady(token: string, transferId: string) {
  await until(async () => {
    const r = await http('GET', '/api/tasks?pageSize=200', { token });
    return r.body.items.some((x: { transfer: { id: string } }) => x.transfer.id === transferId);
  });
}

describe('web inbox (Chromium)', () => {
  it('the receiver sees a new task arrive live, confirms it, it leaves the inbox, and the sender sees CONFIRMED', async () => {
    const fx = await createFixture();
    const senderToken = await login(fx.users.senderAcc.username, PASSWORD);
    const receiver = await newPage(browser);
    const { page } = receiver;
    await loginAs(page, fx.users.receiverAcc.username, PASSWORD);
    await page.locator('text=太好了，没有待办事项。').waitFor(); // empty inbox, in Chinese by default

    // Created by the other entity's accountant while the inbox is open: it appears without reload, with a badge.
    const tr = await createTransfer(fx, senderToken);
    const row = page.locator(`[data-testid=task-row][data-transfer-id="${tr.id}"]`);
    await row.waitFor({ timeout: 30_000 });
    const badge = page.locator('[data-testid=nav-badge-home]');
    await badge.waitFor();
    expect(await badge.textContent()).toBe('1');
    await page.locator('[data-testid=new-banner]').waitFor();
    expect(await row.textContent()).toContain(tr.externalRef);
    expect(await row.textContent()).toContain('100.50');
    await screenshot(page, 'inbox-desktop');

    await row.click();
    await page.locator('[data-testid=transfer][data-status=PENDING]').waitFor();
    const confirm = page.locator('[data-testid=form-confirm]');
    // Pre-filled with the sender's figures.
    expect(await confirm.locator('input[name=amount]').inputValue()).toBe('100.50');
    expect(await confirm.locator('input[name=quantity]').inputValue()).toBe('4');
    expect(await page.locator('[data-testid=temporal-link]').getAttribute('href')).toContain(encodeURIComponent(`transfer:${fx.sender.code}:${tr.externalRef}`));
    // Only the receiver's actions are offered.
    expect(await page.locator('[data-testid=tab-withdraw]').count()).toBe(0);
    await screenshot(page, 'transfer-detail');
    await confirm.locator('input[name=receiptRef]').fill('GR-1001');
    await confirm.locator('button[type=submit]').click();
    await page.locator('[data-testid=transfer][data-status=CONFIRMED]').waitFor();
    await page.locator('[data-testid=action-done]').waitFor();
    await until(async () => (await page.locator('[data-testid=actions]').count()) === 0); // nothing left to do

    await page.locator('a.nav-item[href="#/"]').click();
    await page.locator('[data-testid=task-list], .empty').first().waitFor();
    await until(async () => (await page.locator(`[data-testid=task-row][data-transfer-id="${tr.id}"]`).count()) === 0);

    const sender = await newPage(browser, { lang: 'en' });
    await loginAs(sender.page, fx.users.senderAcc.username, PASSWORD);
    await sender.page.goto(`/#/transfers/${tr.id}`);
    await sender.page.locator('[data-testid=transfer][data-status=CONFIRMED]').waitFor();
    expect(await sender.page.locator('[data-testid=status]').textContent()).toBe('Confirmed');
    expect(await sender.page.locator('[data-testid=timeline]').textContent()).toContain('Confirmed');
    expect(receiver.errors).toEqual([]);
    expect(sender.errors).toEqual([]);
    await receiver.context.close();
    await sender.context.close();
  });

  it('a mismatch shows the differences highlighted', async () => {
    const fx = await createFixture();
    const senderToken = await login(fx.users.senderAcc.username, PASSWORD);
    const receiverToken = await login(fx.users.receiverAcc.username, PASSWORD);
    const tr = await createTransfer(fx, senderToken);
    await taskReady(receiverToken, tr.id);
    const { page, context, errors } = await newPage(browser, { lang: 'en' });
    await loginAs(page, fx.users.receiverAcc.username, PASSWORD);
    await page.goto(`/#/transfers/${tr.id}`);
    const confirm = page.locator('[data-testid=form-confirm]');
    await confirm.waitFor();
    await confirm.locator('input[name=receiptRef]').fill('GR-2002');
    await confirm.locator('input[name=quantity]').fill('3');
    // Validation as you type: the amount no longer fits quantity × unit price.
    await page.locator('text=Amount must equal quantity × unit price = 75.38').waitFor();
    expect(await confirm.locator('button[type=submit]').isDisabled()).toBe(true);
    await confirm.locator('input[name=amount]').fill('75.38');
    await confirm.locator('button[type=submit]').click();
    await page.locator('[data-testid=transfer][data-status=DISPUTED]').waitFor();
    const compare = page.locator('[data-testid=compare]');
    expect(await compare.locator('tr[data-field=quantity]').getAttribute('data-diff')).toBe('true');
    expect(await compare.locator('tr[data-field=amount]').getAttribute('data-diff')).toBe('true');
    expect(await compare.locator('tr[data-field=unitPrice]').getAttribute('data-diff')).toBe('false');
    expect(await compare.locator('tr.diff').count()).toBe(2);
    // The highlight is visible, not only an attribute.
    const bg = await compare.locator('tr[data-field=amount] td').first().evaluate('(el) => getComputedStyle(el).backgroundColor') as string;
    expect(bg).not.toBe('rgba(0, 0, 0, 0)');
    const differences = await page.locator('[data-testid=differences]').textContent();
    expect(differences).toContain('Quantity');
    // Amounts keep their cents in the list too (the workflow stores "100.5").
    expect(differences).toMatch(/Amount: 100\.50 → 75\.38 \(difference -25\.12\)/);
    // The person is told what the confirmation did: it went to HQ, it was not "confirmed".
    await page.locator('text=the transfer is now disputed and waits for HQ finance to arbitrate').waitFor({ timeout: 10_000 });
    await screenshot(page, 'transfer-mismatch');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('renders on a phone (375x812) without horizontal scrolling, long Chinese company names included', async () => {
    const fx = await createFixture();
    const prisma = testPrisma();
    await prisma.entity.update({ where: { id: fx.sender.id }, data: { name: `上海浦东新区张江高科技园区国际供应链管理与原材料贸易有限责任公司${fx.tag}` } });
    const senderToken = await login(fx.users.senderAcc.username, PASSWORD);
    const receiverToken = await login(fx.users.receiverAcc.username, PASSWORD);
    const a = await createTransfer(fx, senderToken, { amount: '987654321.50', quantity: '2', unitPrice: '493827160.75' });
    await createTransfer(fx, senderToken, { externalRef: `WEB-${uid()}-一个非常非常长的单据编号用于测试换行` });
    await taskReady(receiverToken, a.id);
    const { page, context, errors } = await newPage(browser, { viewport: { width: 375, height: 812 }, isMobile: true });
    await loginAs(page, fx.users.receiverAcc.username, PASSWORD);
    await page.locator('[data-testid=task-row]').nth(1).waitFor();
    expect(await page.locator(`[data-testid=task-row][data-transfer-id="${a.id}"]`).getAttribute('data-band')).toBe('red');
    let size = await horizontalOverflow(page);
    expect(size.scrollWidth).toBeLessThanOrEqual(size.innerWidth);
    await screenshot(page, 'inbox-phone');
    await page.locator(`[data-testid=task-row][data-transfer-id="${a.id}"]`).click();
    await page.locator('[data-testid=form-confirm]').waitFor();
    size = await horizontalOverflow(page);
    expect(size.scrollWidth).toBeLessThanOrEqual(size.innerWidth);
    await screenshot(page, 'transfer-phone');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('a server refusal is shown in plain words and what was typed stays in the form', async () => {
    const fx = await createFixture();
    const senderToken = await login(fx.users.senderAcc.username, PASSWORD);
    const receiverToken = await login(fx.users.receiverAcc.username, PASSWORD);
    const hqToken = await login(fx.users.hq.username, PASSWORD);
    const tr = await createTransfer(fx, senderToken, { period: '2026-10', documentDate: '2026-10-30' });
    await taskReady(receiverToken, tr.id);
    const { page, context, errors } = await newPage(browser);
    await loginAs(page, fx.users.receiverAcc.username, PASSWORD);
    await page.goto(`/#/transfers/${tr.id}`);
    const confirm = page.locator('[data-testid=form-confirm]');
    await confirm.waitFor();
    await confirm.locator('input[name=receiptRef]').fill('GR-3003');
    await confirm.locator('textarea[name=comment]').fill('已与仓库核对，数量无误');
    // Meanwhile HQ freezes the period.
    const freeze = await http('POST', '/api/periods/2026-10/freeze', { token: hqToken, body: { choice: 'ESCALATE', reason: 'month-end close' } });
    expect([200, 202]).toContain(freeze.status);
    await confirm.locator('button[type=submit]').click();
    const box = page.locator('[data-testid=error-box]');
    await box.waitFor();
    expect(await box.textContent()).toContain('会计期间 2026-10 已冻结');
    expect(await confirm.locator('input[name=receiptRef]').inputValue()).toBe('GR-3003');
    expect(await confirm.locator('textarea[name=comment]').inputValue()).toBe('已与仓库核对，数量无误');
    expect(await page.locator('[data-testid=transfer]').getAttribute('data-status')).toBe('PENDING');
    await screenshot(page, 'error-period-frozen');
    expect(errors).toEqual([]);
    await context.close();
  });
});
