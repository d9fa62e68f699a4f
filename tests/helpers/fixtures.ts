// Test data: every test makes its own group, entities and users with random codes, so
// no test shares ids or depends on another's data.
import crypto from 'node:crypto';
import { hash } from '@node-rs/argon2';
import { createPrisma, type PrismaClient } from '../../prisma/client';
import { workflowIdFor } from '../../api/transfers-service';

export const PASSWORD = 'test-password-1';
let passwordHash: Promise<string> | undefined;

export function uid(n = 4): string {
  return crypto.randomBytes(n).toString('hex').toUpperCase();
}

let shared: PrismaClient | undefined;
export function testPrisma(): PrismaClient {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set: run the tests through jest (tests/global-setup.ts)');
  shared ??= createPrisma(url, { max: 5 });
  return shared;
}

export interface Fixture {
  groupId: string;
  tag: string;
  hq: { id: string; code: string };
  sender: { id: string; code: string };
  receiver: { id: string; code: string };
  third: { id: string; code: string };
  users: Record<'senderAcc' | 'senderSup' | 'receiverAcc' | 'receiverAcc2' | 'receiverSup' | 'thirdAcc' | 'hq', { id: string; username: string }>;
}

export interface FixtureOptions {
  confirmWithin?: string;
  remindBefore?: string;
  escalationWithin?: string;
}

export async function createFixture(prisma: PrismaClient = testPrisma(), opts: FixtureOptions = {}): Promise<Fixture> {
  const tag = uid();
  passwordHash ??= hash(PASSWORD);
  const pw = await passwordHash;
  const group = await prisma.group.create({
    data: {
      code: `G${tag}`,
      name: `Test group ${tag}`,
      confirmWithin: opts.confirmWithin ?? 'PT48H',
      remindBefore: opts.remindBefore ?? 'PT24H',
      escalationWithin: opts.escalationWithin ?? 'PT24H',
    },
  });
  const entity = async (suffix: string, kind: 'HQ' | 'SUBSIDIARY' = 'SUBSIDIARY') => {
    const code = `${suffix}${tag}`;
    const e = await prisma.entity.create({ data: { groupId: group.id, code, name: `${suffix} company ${tag} 有限公司`, kind } });
    return { id: e.id, code };
  };
  const hq = await entity('HQ', 'HQ');
  const sender = await entity('S');
  const receiver = await entity('R');
  const third = await entity('T');
  const user = async (name: string, entityId: string | null, role: 'ACCOUNTANT' | 'SUPERVISOR' | null, groupRole: 'HQ_FINANCE' | null = null) => {
    const username = `${name}.${tag}`.toLowerCase();
    const u = await prisma.user.create({ data: { username, displayName: `${name} ${tag}`, passwordHash: pw, groupRole } });
    if (entityId && role) await prisma.membership.create({ data: { userId: u.id, entityId, role } });
    return { id: u.id, username };
  };
  return {
    groupId: group.id,
    tag,
    hq,
    sender,
    receiver,
    third,
    users: {
      senderAcc: await user('sacc', sender.id, 'ACCOUNTANT'),
      senderSup: await user('ssup', sender.id, 'SUPERVISOR'),
      receiverAcc: await user('racc', receiver.id, 'ACCOUNTANT'),
      receiverAcc2: await user('racc2', receiver.id, 'ACCOUNTANT'),
      receiverSup: await user('rsup', receiver.id, 'SUPERVISOR'),
      thirdAcc: await user('tacc', third.id, 'ACCOUNTANT'),
      hq: await user('hq', hq.id, 'SUPERVISOR', 'HQ_FINANCE'),
    },
  };
}

export interface TransferFields {
  quantity?: string | null;
  unitPrice?: string | null;
  amount?: string;
  documentDate?: string;
  period?: string;
  type?: 'GOODS' | 'SERVICE' | 'LOAN' | 'COST_ALLOCATION';
  dueInMs?: number;
}

/** Inserts a transfer row as the API would (workflow tests start its workflow themselves). */
/**
 * A body for POST /api/transfers from the fixture's sender to its receiver: 4 KG at 25.125
 * = 100.50 CNY, period 2026-11, a fresh document number `<prefix>-<uid>`; `over` replaces fields.
 */
export function transferBody(fx: Fixture, over: Record<string, unknown> = {}, prefix = 'DOC') {
  return {
    senderEntity: fx.sender.code,
    receiverEntity: fx.receiver.code,
    type: 'GOODS',
    externalRef: `${prefix}-${uid()}`,
    quantity: '4',
    unit: 'KG',
    unitPrice: '25.125',
    amount: '100.50',
    currency: 'CNY',
    documentDate: '2026-11-18',
    period: '2026-11',
    memo: '十一月原材料调拨',
    ...over,
  };
}

/** The same for a service: 10 H at 800 = 8,000.00 CNY, dated 2026-11-15, no memo. */
export function serviceTransferBody(fx: Fixture, over: Record<string, unknown> = {}, prefix = 'SV') {
  return transferBody(fx, { type: 'SERVICE', quantity: '10', unit: 'H', unitPrice: '800', amount: '8000.00', documentDate: '2026-11-15', memo: undefined, ...over }, prefix);
}

export async function insertTransfer(fx: Fixture, f: TransferFields = {}, prisma: PrismaClient = testPrisma()) {
  const externalRef = `INV-${uid()}`;
  return prisma.transfer.create({
    data: {
      workflowId: workflowIdFor(fx.sender.code, externalRef),
      senderEntityId: fx.sender.id,
      receiverEntityId: fx.receiver.id,
      type: f.type ?? 'GOODS',
      externalRef,
      quantity: f.quantity === undefined ? '10' : f.quantity,
      unit: 'PCS',
      unitPrice: f.unitPrice === undefined ? '12.5' : f.unitPrice,
      amount: f.amount ?? '125.00',
      currency: 'CNY',
      documentDate: new Date(`${f.documentDate ?? '2026-11-20'}T00:00:00Z`),
      period: f.period ?? '2026-11',
      createdById: fx.users.senderAcc.id,
      dueAt: new Date(Date.now() + (f.dueInMs ?? 48 * 3600_000)),
    },
  });
}

export async function closeTestPrisma(): Promise<void> {
  const p = shared;
  shared = undefined;
  await p?.$disconnect();
}
