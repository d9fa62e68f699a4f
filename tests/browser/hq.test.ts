// The HQ screens in real headless Chromium against the running test stack: HQ finance
// finds a dispute in the arbitration queue, decides it on the transfer page and sees it
// RESOLVED with the decision in its timeline; freezes a period choosing ESCALATE after
// seeing how many open items it affects, then reopens it; reads the reconciliation matrix
// (colour graded, a cell opens its items, ageing chart); sees which entity's payments the
// real cycle-close schedule froze and why; sees robot channels and a failed delivery and
// retries it. Phone-sized screens do not scroll sideways; other users see no HQ screens.
import crypto from 'node:crypto';
import type { Browser } from 'playwright-core';
import { Client, Connection } from '@temporalio/client';
import { http, login } from '../helpers/http';
import { createFixture, serviceTransferBody, PASSWORD, testPrisma, uid, type Fixture } from '../helpers/fixtures';
import { horizontalOverflow, launchBrowser, loginAs, newPage, screenshot } from '../helpers/browser';
import { RobotReceiver } from '../helpers/robot-receiver';
import { sql } from '../helpers/db';
import { until } from '../helpers/wait';
import { cycleScheduleId, ensureCycleSchedule } from '../../activities/schedules';

jest.setTimeout(180_000);

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

const HQ_NAV = ['/hq/disputes', '/hq/periods', '/hq/reconciliation', '/hq/payments', '/hq/robots', '/hq/policies'];

async function tokens(fx: Fixture) {
  const [senderAcc, receiverAcc, hq] = await Promise.all((['senderAcc', 'receiverAcc', 'hq'] as const).map((w) => login(fx.users[w].username, PASSWORD)));
  return { senderAcc, receiverAcc, hq };
}

/** A transfer recorded by the sender's accountant, once the receiver's task exists. */
async function createTransfer(fx: Fixture, token: string, over: Record<string, unknown> = {}) {
  const r = await http('POST', '/api/transfers', {
    token,
    body: serviceTransferBody(fx, over, 'HQ'),
  });
  expect(r.status).toBe(201);
  await until(async () => (await sql(`SELECT 1 FROM "Task" WHERE "transferId" = $1`, [r.body.id])).length > 0);
  return r.body as { id: string; externalRef: string };
}

/** The receiver confirms with other figures: the transfer is DISPUTED and waits for HQ. */
async function createDispute(fx: Fixture, t: Awaited<ReturnType<typeof tokens>>, over: Record<string, unknown> = {}) {
  const tr = await createTransfer(fx, t.senderAcc, over);
  const r = await http('POST', `/api/transfers/${tr.id}/confirm`, {
    token: t.receiverAcc,
    body: { receiptRef: `GR-${uid()}`, quantity: '8', unitPrice: '800', amount: '6400.00', date: '2026-11-16' },
  });
  expect(r.body.status).toBe('DISPUTED');
  await until(async () => (await sql(`SELECT 1 FROM "Task" WHERE "transferId" = $1 AND kind = 'ARBITRATE' AND status = 'OPEN'`, [tr.id])).length > 0);
  return tr;
}

async function noSideScroll(page: import('playwright-core').Page) {
  const size = await horizontalOverflow(page);
  expect(size.scrollWidth).toBeLessThanOrEqual(size.innerWidth);
}

describe('HQ screens (Chromium)', () => {
  it('HQ finds a dispute in the arbitration queue, decides it, and the transfer shows RESOLVED with the decision in its timeline', async () => {
    const fx = await createFixture();
    const t = await tokens(fx);
    const tr = await createDispute(fx, t);
    const { page, context, errors } = await newPage(browser);
    await loginAs(page, fx.users.hq.username, PASSWORD);
    for (const path of HQ_NAV) await page.locator(`a.nav-item[href="#${path}"]`).waitFor();
    await until(async () => (await page.locator('[data-testid=nav-badge-hqdisputes]').textContent().catch(() => null)) === '1');

    await page.locator('a.nav-item[href="#/hq/disputes"]').click();
    const row = page.locator(`[data-testid=dispute-row][data-transfer-id="${tr.id}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain(tr.externalRef);
    expect(await page.locator('[data-testid=dispute-row]').count()).toBe(1); // only its own group's disputes
    await screenshot(page, 'hq-arbitration-queue');

    await row.click();
    await page.locator('[data-testid=transfer][data-status=DISPUTED]').waitFor();
    const form = page.locator('[data-testid=form-arbitrate]');
    await form.waitFor();
    expect(await form.locator('button[type=submit]').isDisabled()).toBe(true); // no decision yet
    await form.locator('[data-testid=decision-ADJUST]').check();
    // Pre-filled with the receiver's figures; HQ sets the agreed ones.
    expect(await form.locator('input[name=quantity]').inputValue()).toBe('8');
    await form.locator('input[name=quantity]').fill('9');
    await page.locator('text=金额应等于 数量 × 单价 = 7200.00').waitFor(); // validated as typed
    await form.locator('input[name=amount]').fill('7200.00');
    await form.locator('textarea[name=rationale]').fill('实际交付 9 小时，1 小时退回 (9 delivered, 1 returned)');
    await screenshot(page, 'hq-arbitration-form');
    await form.locator('button[type=submit]').click();

    await page.locator('[data-testid=transfer][data-status=RESOLVED]').waitFor();
    await page.locator('[data-testid=action-done]').waitFor();
    expect(await page.locator('[data-testid=status]').textContent()).toBe('已裁决');
    await until(async () => (await page.locator('[data-testid=arbitration-panel]').count()) === 0); // nothing left to decide
    const timeline = (await page.locator('[data-testid=timeline]').textContent()) ?? '';
    expect(timeline).toContain('总部裁决');
    expect(timeline).toContain('实际交付 9 小时');
    expect(await page.locator('[data-testid=compare]').textContent()).toContain('调整');
    const api = await http('GET', `/api/transfers/${tr.id}`, { token: t.hq });
    expect(api.body.resolution).toMatchObject({ decision: 'ADJUST', quantity: '9', amount: '7200', decidedBy: fx.users.hq.id });

    // The queue is empty again.
    await page.locator('a.nav-item[href="#/hq/disputes"]').click();
    await page.locator('[data-testid=disputes-page] .empty').waitFor();
    expect(errors).toEqual([]);
    await context.close();
  });

  it('a refused decision is shown in plain words and keeps what was typed', async () => {
    const fx = await createFixture();
    const t = await tokens(fx);
    const tr = await createDispute(fx, t);
    const { page, context, errors } = await newPage(browser, { lang: 'en' });
    await loginAs(page, fx.users.hq.username, PASSWORD);
    await page.goto(`/#/transfers/${tr.id}`);
    const form = page.locator('[data-testid=form-arbitrate]');
    await form.waitFor();
    await form.locator('[data-testid=decision-ADJUST]').check();
    await form.locator('input[name=quantity]').fill('');
    await form.locator('input[name=unitPrice]').fill('');
    await form.locator('input[name=amount]').fill('7200.005');
    await page.locator('text=Enter an amount with at most two decimals').waitFor(); // caught as typed
    expect(await form.locator('button[type=submit]').isDisabled()).toBe(true);
    // Beyond what the server accepts (14 integer digits): the server refuses, the form keeps everything.
    await form.locator('input[name=amount]').fill('123456789012345.00');
    await form.locator('textarea[name=rationale]').fill('Agreed on the phone with both controllers');
    await form.locator('button[type=submit]').click();
    const box = page.locator('[data-testid=arbitration-panel] [data-testid=error-box]');
    await box.waitFor();
    expect(await box.textContent()).toContain('figures.amount');
    expect(await form.locator('input[name=amount]').inputValue()).toBe('123456789012345.00');
    expect(await form.locator('textarea[name=rationale]').inputValue()).toBe('Agreed on the phone with both controllers');
    expect(await page.locator('[data-testid=transfer]').getAttribute('data-status')).toBe('DISPUTED');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('HQ freezes a period choosing ESCALATE after seeing how many open items it affects, then reopens it', async () => {
    const fx = await createFixture();
    const t = await tokens(fx);
    const period = '2026-09';
    const a = await createTransfer(fx, t.senderAcc, { period, documentDate: `${period}-10` });
    await createDispute(fx, t, { period, documentDate: `${period}-11` });
    const done = await createTransfer(fx, t.senderAcc, { period, documentDate: `${period}-12` });
    expect((await http('POST', `/api/transfers/${done.id}/confirm`, { token: t.receiverAcc, body: { receiptRef: 'GR-1', quantity: '10', unitPrice: '800', amount: '8000.00', date: `${period}-12` } })).body.status).toBe('CONFIRMED');

    const { page, context, errors } = await newPage(browser, { lang: 'en' });
    await loginAs(page, fx.users.hq.username, PASSWORD);
    await page.locator('a.nav-item[href="#/hq/periods"]').click();
    const row = page.locator(`[data-testid=period-row][data-period="${period}"]`);
    await row.waitFor();
    expect(await row.getAttribute('data-status')).toBe('OPEN');
    expect(await row.locator('[data-testid=open-count]').getAttribute('data-count')).toBe('2'); // pending + disputed; the confirmed one is not open
    expect(await row.locator('[data-testid=open-count]').textContent()).toBe('2 open');

    await row.locator('[data-testid=freeze-button]').click();
    const form = row.locator('[data-testid=form-freeze]');
    expect(await form.textContent()).toContain('2 transfer(s) are still open');
    expect(await form.locator('[data-testid=freeze-submit]').isDisabled()).toBe(true); // a choice is required
    await form.locator('[data-testid=choice-ESCALATE]').check();
    expect(await form.textContent()).toContain('HQ finance takes these 2 now');
    await form.locator('textarea[name=reason]').fill('September close');
    await screenshot(page, 'hq-period-freeze');
    await form.locator('[data-testid=freeze-submit]').click();
    const msg = page.locator('[data-testid=period-done]');
    await msg.waitFor();
    expect(await msg.textContent()).toContain(`Period ${period} is frozen; 2 open transfer(s) escalated to HQ.`);
    await page.locator(`[data-testid=period-row][data-period="${period}"][data-status=FROZEN]`).waitFor();
    expect(await row.textContent()).toContain('Escalate to HQ');
    expect(await row.textContent()).toContain('September close');
    // The freeze is real: the receiver can no longer confirm in it.
    const refused = await http('POST', `/api/transfers/${a.id}/confirm`, { token: t.receiverAcc, body: { receiptRef: 'GR-2', quantity: '10', unitPrice: '800', amount: '8000.00', date: `${period}-10` } });
    expect(refused.body.code).toBe('PERIOD_FROZEN');

    await row.locator('[data-testid=reopen-button]').click();
    const reopen = row.locator('[data-testid=form-reopen]');
    expect(await reopen.locator('[data-testid=reopen-submit]').isDisabled()).toBe(true); // a reason is required
    await reopen.locator('textarea[name=reason]').fill('late supplier invoice');
    await reopen.locator('[data-testid=reopen-submit]').click();
    await page.locator(`[data-testid=period-row][data-period="${period}"][data-status=OPEN]`).waitFor();
    expect(await msg.textContent()).toContain(`Period ${period} is open again.`);
    const periods = await http('GET', '/api/periods', { token: t.hq });
    expect(periods.body.find((p: { period: string }) => p.period === period)).toMatchObject({ status: 'OPEN', reason: 'late supplier invoice' });
    expect(errors).toEqual([]);
    await context.close();
  });

  it('the reconciliation matrix is colour graded, a cell opens its items, and the ageing chart counts the open ones', async () => {
    const fx = await createFixture();
    const t = await tokens(fx);
    const prisma = testPrisma();
    await prisma.entity.update({ where: { id: fx.receiver.id }, data: { name: `深圳市南山区前海深港现代服务业合作区跨境供应链管理有限责任公司${fx.tag}` } });
    const period = '2026-11';
    const big = await createTransfer(fx, t.senderAcc, { quantity: '100', unitPrice: '800', amount: '80000.00' }); // > red threshold 50,000
    const disputed = await createDispute(fx, t);
    const third = await http('POST', '/api/transfers', {
      token: t.receiverAcc,
      body: { senderEntity: fx.receiver.code, receiverEntity: fx.sender.code, type: 'GOODS', externalRef: `HQ-${uid()}`, amount: '500.00', currency: 'CNY', documentDate: '2026-11-03', period },
    });
    expect(third.status).toBe(201);

    const { page, context, errors } = await newPage(browser);
    await loginAs(page, fx.users.hq.username, PASSWORD);
    await page.locator('a.nav-item[href="#/hq/reconciliation"]').click();
    await page.locator('[data-testid=rec-period]').selectOption(period);
    const matrix = page.locator('[data-testid=matrix]');
    await matrix.waitFor();
    const cell = matrix.locator(`[data-testid=matrix-cell][data-sender="${fx.sender.code}"][data-receiver="${fx.receiver.code}"]`);
    const back = matrix.locator(`[data-testid=matrix-cell][data-sender="${fx.receiver.code}"][data-receiver="${fx.sender.code}"]`);
    expect(await cell.getAttribute('data-grade')).toBe('RED'); // 80,000 + |6,400 − 8,000| open
    expect(await back.getAttribute('data-grade')).toBe('GREEN');
    expect(await cell.textContent()).toContain('2/2');
    // The grade is visible, not only an attribute.
    const bg = (await cell.evaluate('(el) => getComputedStyle(el.closest("td")).backgroundColor')) as string;
    expect(bg).not.toBe('rgba(0, 0, 0, 0)');
    const chart = page.locator('[data-testid=ageing-chart]');
    expect(await chart.locator('g[data-bucket="0-2d"]').getAttribute('data-count')).toBe('3');
    expect(await chart.locator('svg').getAttribute('aria-label')).toContain('3');
    await screenshot(page, 'hq-reconciliation');

    // CSV export of the same report.
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid=rec-csv]').click()]);
    expect(download.suggestedFilename()).toBe(`reconciliation-${period}.csv`);

    await cell.click();
    const items = page.locator('[data-testid=pair-item]');
    await page.locator(`[data-testid=pair-page][data-sender="${fx.sender.code}"][data-receiver="${fx.receiver.code}"]`).waitFor();
    await items.nth(1).waitFor();
    expect(await items.count()).toBe(2); // this direction only
    expect(new Set(await items.evaluateAll((els) => els.map((e) => e.getAttribute('data-transfer-id'))))).toEqual(new Set([big.id, disputed.id]));
    await items.first().click();
    await page.locator('[data-testid=transfer]').waitFor();

    // Phone: the arbitration queue and the matrix do not scroll sideways (the matrix scrolls in its own box).
    const phone = await newPage(browser, { viewport: { width: 375, height: 812 }, isMobile: true });
    await loginAs(phone.page, fx.users.hq.username, PASSWORD);
    await phone.page.goto('/#/hq/disputes');
    await phone.page.locator(`[data-testid=dispute-row][data-transfer-id="${disputed.id}"]`).waitFor();
    await noSideScroll(phone.page);
    await screenshot(phone.page, 'hq-arbitration-queue-phone');
    await phone.page.goto(`/#/hq/reconciliation?period=${period}`);
    await phone.page.locator('[data-testid=matrix-cell]').first().waitFor();
    await noSideScroll(phone.page);
    await screenshot(phone.page, 'hq-reconciliation-phone');
    await phone.page.goto(`/#/transfers/${disputed.id}`);
    await phone.page.locator('[data-testid=form-arbitrate]').waitFor();
    await noSideScroll(phone.page);
    for (const path of ['/hq/periods', '/hq/payments', '/hq/robots', '/hq/policies']) {
      await phone.page.goto(`/#${path}`);
      await phone.page.locator(`[data-testid=${path.slice(4)}-page]`).waitFor();
      await noSideScroll(phone.page);
    }
    expect(phone.errors).toEqual([]);
    await phone.context.close();
    expect(errors).toEqual([]);
    await context.close();
  });

  it('payment freezes, robot channels with a failed delivery and its retry, approval policies (keyboard only)', async () => {
    const fx = await createFixture();
    const t = await tokens(fx);
    const receiver = await RobotReceiver.start();
    let connection: Connection | undefined;
    try {
      // A DingTalk robot with the wrong signing secret: the receiver's task notice fails.
      const token = crypto.randomBytes(16).toString('hex');
      const secret = `SEC${crypto.randomBytes(32).toString('hex')}`;
      const robot = await http('POST', '/api/channels', {
        token: t.hq,
        body: { entity: fx.receiver.code, kind: 'DINGTALK', name: '深圳财务群机器人', webhookUrl: receiver.addDingTalk(token, { secret }), secret: `SEC${crypto.randomBytes(32).toString('hex')}` },
      });
      expect(robot.status).toBe(201);
      const tr = await createTransfer(fx, t.senderAcc);
      const failed = await until(async () => (await http('GET', `/api/notifications?transfer=${tr.id}&status=FAILED`, { token: t.hq })).body.items?.[0]);

      // The real cycle-close schedule (every 2 s here) freezes the receiver's payments for an overdue transfer.
      await sql(`UPDATE "Transfer" SET "dueAt" = now() - interval '1 hour' WHERE id = $1`, [tr.id]);
      connection = await Connection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS! });
      const client = new Client({ connection });
      const group = (await sql(`SELECT id, code, "cycleCloseCron", timezone FROM "Group" WHERE id = $1`, [fx.groupId]))[0];
      try {
        await ensureCycleSchedule(client, group, process.env.TEST_TASK_QUEUE!, { intervals: [{ every: '2 seconds' }] });
        await until(async () => (await http('GET', `/api/entities/${fx.receiver.code}/payment-status`, { token: t.hq })).body.paymentsFrozen);
      } finally {
        await client.schedule.getHandle(cycleScheduleId(group.code)).delete();
      }

      const { page, context, errors } = await newPage(browser, { lang: 'en' });
      await loginAs(page, fx.users.hq.username, PASSWORD);
      await page.locator('a.nav-item[href="#/hq/payments"]').click();
      await page.locator('[data-testid=pay-row]').nth(3).waitFor();
      expect(await page.locator('[data-testid=pay-row]').count()).toBe(4);
      const frozen = page.locator(`[data-testid=pay-row][data-entity="${fx.receiver.code}"]`);
      expect(await frozen.getAttribute('data-frozen')).toBe('true');
      expect(await frozen.textContent()).toContain(tr.externalRef);
      expect(await frozen.textContent()).toContain('Payments frozen');
      expect(await page.locator(`[data-testid=pay-row][data-entity="${fx.sender.code}"]`).getAttribute('data-frozen')).toBe('false');
      expect(await page.locator('[data-testid=pay-summary]').textContent()).toBe('1 of 4 entities have payments frozen');
      await screenshot(page, 'hq-payments');

      await page.locator('a.nav-item[href="#/hq/robots"]').click();
      const channel = page.locator(`[data-testid=channel-row][data-channel-id="${robot.body.id}"]`);
      await channel.waitFor();
      expect(await channel.textContent()).toContain('深圳财务群机器人');
      expect(await channel.textContent()).toMatch(/[1-9]\d* failed/); // the task notice (and the payment-freeze notice) failed
      expect(await channel.textContent()).not.toContain(token); // masked
      const row = page.locator(`[data-testid=failed-row][data-notification-id="${failed.id}"]`);
      await row.waitFor();
      expect(await row.textContent()).toContain('sign not match');
      await screenshot(page, 'hq-robots');
      // HQ fixes the secret, then retries from the page.
      expect((await http('PUT', `/api/channels/${robot.body.id}`, { token: t.hq, body: { secret } })).status).toBe(200);
      await row.locator('[data-testid=retry]').click();
      await page.locator('[data-testid=robots-done]').waitFor();
      expect(await page.locator('[data-testid=robots-done]').textContent()).toBe('1 delivery(ies) queued again.');
      await until(async () => receiver.delivered(token).find((r) => r.text.includes(tr.externalRef)));

      // Approval policies: view, then edit with the keyboard only; a refusal keeps the draft.
      await page.locator('a.nav-item[href="#/hq/policies"]').click();
      const entity = page.locator(`[data-testid=policy-entity][data-entity="${fx.receiver.code}"]`);
      await entity.waitFor();
      await entity.locator('[data-testid=policy-edit]').focus();
      await page.keyboard.press('Enter');
      const editor = entity.locator('[data-testid=policy-editor]');
      await editor.waitFor();
      await editor.locator('input[name=name]').focus();
      await page.keyboard.type('大额两级审批');
      await page.keyboard.press('Tab'); // type
      await page.keyboard.press('Tab'); // min amount
      await page.keyboard.type('50000.00');
      await editor.locator('select[name=mode]').selectOption('SEQUENTIAL');
      await editor.locator('textarea[name=levels]').fill(`ACCOUNTANT\nnobody.${fx.tag.toLowerCase()}`);
      await editor.locator('[data-testid=policy-save]').click();
      const box = editor.locator('[data-testid=error-box]');
      await box.waitFor();
      expect(await box.textContent()).toContain(`unknown users: nobody.${fx.tag.toLowerCase()}`);
      expect(await editor.locator('input[name=name]').inputValue()).toBe('大额两级审批');
      await editor.locator('textarea[name=levels]').fill('ACCOUNTANT\nSUPERVISOR');
      await editor.locator('textarea[name=levels]').focus();
      await page.keyboard.press('Tab'); // the "active" checkbox
      await page.keyboard.press('Tab'); // remove (disabled: skipped) → add
      await page.keyboard.press('Tab'); // save
      await page.keyboard.press('Enter');
      await page.locator('[data-testid=policy-done]').waitFor();
      await entity.locator('[data-testid=policy-row][data-policy-name="大额两级审批"]').waitFor();
      const saved = await http('GET', '/api/policies', { token: t.hq });
      expect(saved.body.filter((p: { entity: string }) => p.entity === fx.receiver.code)).toEqual([
        expect.objectContaining({ name: '大额两级审批', minAmount: '50000', maxAmount: null, mode: 'SEQUENTIAL', levels: [{ role: 'ACCOUNTANT' }, { role: 'SUPERVISOR' }], active: true }),
      ]);
      await screenshot(page, 'hq-policies');
      expect(errors).toEqual([]);
      await context.close();
    } finally {
      await connection?.close();
      await receiver.close();
    }
  });

  it('a non-HQ user sees no HQ navigation and HQ pages are refused', async () => {
    const fx = await createFixture();
    const { page, context, errors } = await newPage(browser, { lang: 'en' });
    await loginAs(page, fx.users.receiverSup.username, PASSWORD);
    await page.locator('a.nav-item[href="#/"]').waitFor();
    expect(await page.locator('a.nav-item[href^="#/hq/"]').count()).toBe(0);
    await page.goto('/#/hq/periods');
    await page.locator('.empty').waitFor();
    expect(await page.locator('[data-testid=periods-page]').count()).toBe(0);
    expect(errors).toEqual([]);
    await context.close();
  });
});
