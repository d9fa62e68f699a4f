// The demo group: HQ and three subsidiaries, their users and approval policies.
// Seeded by `npm start` (demo mode) when the database holds no group yet.
import { hash } from '@node-rs/argon2';
import type { PrismaClient } from './client';

export const DEMO_PASSWORD = 'demo';

export const DEMO_ENTITIES = [
  { code: 'HQ', name: '集团总部 Group HQ', kind: 'HQ', functionalCurrency: 'CNY' },
  { code: 'SH01', name: '上海子公司 Shanghai Co., Ltd.', kind: 'SUBSIDIARY', functionalCurrency: 'CNY' },
  { code: 'SZ02', name: '深圳子公司 Shenzhen Co., Ltd.', kind: 'SUBSIDIARY', functionalCurrency: 'CNY' },
  { code: 'HK03', name: '香港子公司 Hong Kong Ltd.', kind: 'SUBSIDIARY', functionalCurrency: 'HKD' },
] as const;

/** Demo logins, printed by `npm start`. */
export function demoLogins(): Array<{ username: string; role: string }> {
  return [
    { username: 'hq.finance', role: 'HQ finance (arbitration, periods, all entities)' },
    ...DEMO_ENTITIES.filter((e) => e.kind === 'SUBSIDIARY').flatMap((e) => [
      { username: `${e.code.toLowerCase()}.accountant`, role: `${e.code} accountant` },
      { username: `${e.code.toLowerCase()}.supervisor`, role: `${e.code} supervisor` },
    ]),
  ];
}

/** Seeds the demo group if the database has no group yet. Returns true when it seeded. */
export async function seedDemo(prisma: PrismaClient): Promise<boolean> {
  if ((await prisma.group.count()) > 0) return false;
  const passwordHash = await hash(DEMO_PASSWORD);
  await prisma.$transaction(async (tx) => {
    const group = await tx.group.create({ data: { code: 'DEMO', name: '演示集团 Demo Group', currency: 'CNY' } });
    const entities: Record<string, string> = {};
    for (const e of DEMO_ENTITIES) {
      const row = await tx.entity.create({ data: { ...e, groupId: group.id } });
      entities[e.code] = row.id;
    }
    const hq = await tx.user.create({
      data: { username: 'hq.finance', displayName: '总部财务 HQ Finance', passwordHash, groupRole: 'HQ_FINANCE', mobile: '13800000000' },
    });
    await tx.membership.create({ data: { userId: hq.id, entityId: entities.HQ, role: 'SUPERVISOR' } });
    let n = 1;
    for (const e of DEMO_ENTITIES.filter((x) => x.kind === 'SUBSIDIARY')) {
      const code = e.code.toLowerCase();
      for (const role of ['ACCOUNTANT', 'SUPERVISOR'] as const) {
        const user = await tx.user.create({
          data: {
            username: `${code}.${role.toLowerCase()}`,
            displayName: `${e.code} ${role === 'ACCOUNTANT' ? '会计 Accountant' : '主管 Supervisor'}`,
            passwordHash,
            mobile: `1380000${String(n++).padStart(4, '0')}`,
          },
        });
        await tx.membership.create({ data: { userId: user.id, entityId: entities[e.code], role } });
      }
    }
    // Approval policies: data, editable by HQ through the API.
    for (const code of ['SH01', 'SZ02', 'HK03']) {
      await tx.approvalPolicy.create({
        data: { entityId: entities[code], name: `${code}: any accountant`, mode: 'SINGLE', levels: [{ role: 'ACCOUNTANT' }], priority: 0 },
      });
    }
    await tx.approvalPolicy.create({
      data: {
        entityId: entities.SZ02,
        name: 'SZ02: accountant, then supervisor above 1,000,000',
        mode: 'SEQUENTIAL',
        minAmount: '1000000',
        levels: [{ role: 'ACCOUNTANT' }, { role: 'SUPERVISOR' }],
        priority: 10,
      },
    });
    await tx.approvalPolicy.create({
      data: {
        entityId: entities.HK03,
        name: 'HK03 loans: accountant and supervisor countersign (会签)',
        mode: 'COUNTERSIGN',
        transferType: 'LOAN',
        levels: [{ users: ['hk03.accountant', 'hk03.supervisor'] }],
        priority: 10,
      },
    });
    await tx.approvalPolicy.create({
      data: {
        entityId: entities.SH01,
        name: 'SH01 services: accountant or supervisor (或签)',
        mode: 'EITHER_SIGN',
        transferType: 'SERVICE',
        levels: [{ users: ['sh01.accountant', 'sh01.supervisor'] }],
        priority: 10,
      },
    });
  });
  return true;
}
