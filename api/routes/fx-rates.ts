// Exchange rates into the group currency, per period: read by everyone of the group,
// set by HQ. The reconciliation report converts with them and never guesses a missing one.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { PeriodString, errors } from '../schemas';
import { unprocessable } from '../transfers-service';
import { auditRow } from '../audit-row';

const Currency = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code', examples: ['HKD'] });
/** Decimal(20, 8) and strictly positive: at least one non-zero digit. */
const Rate = Type.String({
  pattern: '^(?=.*[1-9])\\d{1,12}(\\.\\d{1,8})?$',
  description: 'units of the group currency for 1 unit of `currency` (exact decimal as a string, > 0, up to 8 decimals)',
  examples: ['0.92135000'],
});

export const FxRateSchema = Type.Object({
  group: Type.String({ description: 'group code' }),
  groupCurrency: Type.String(),
  period: Type.String(),
  currency: Type.String(),
  rate: Type.String(),
  updatedAt: Type.String({ format: 'date-time' }),
});
const FxRateInput = Type.Object({ period: PeriodString, currency: Currency, rate: Rate }, { additionalProperties: false });
const FxRateQuery = Type.Object({ period: Type.Optional(PeriodString) }, { additionalProperties: false });

const fxRates: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { prisma } = fastify.deps;

  async function list(groupIds: string[], periods?: string[]) {
    const rows = await prisma.fxRate.findMany({
      where: { groupId: { in: groupIds }, ...(periods ? { period: { in: periods } } : {}) },
      include: { group: { select: { code: true, currency: true } } },
      orderBy: [{ group: { code: 'asc' } }, { period: 'asc' }, { currency: 'asc' }],
    });
    return rows.map((r) => ({
      group: r.group.code,
      groupCurrency: r.group.currency,
      period: r.period,
      currency: r.currency,
      rate: r.rate.toString(),
      updatedAt: r.updatedAt.toISOString(),
    }));
  }

  app.get(
    '/fx-rates',
    {
      onRequest: [fastify.authenticate],
      schema: {
        tags: ['fx-rates'],
        summary: "exchange rates into the group currency of your group(s), optionally of one period",
        querystring: FxRateQuery,
        response: { 200: Type.Array(FxRateSchema), ...errors(400, 401) },
      },
    },
    async (request) => list(request.actor.groupIds, request.query.period ? [request.query.period] : undefined),
  );

  app.put(
    '/fx-rates',
    {
      onRequest: [fastify.requireHq],
      schema: {
        tags: ['fx-rates'],
        summary: 'set (insert or replace) exchange rates of your group (HQ); returns the rates of the periods touched',
        body: Type.Array(FxRateInput, { minItems: 1, maxItems: 500 }),
        response: { 200: Type.Array(FxRateSchema), ...errors(400, 401, 403, 422) },
      },
    },
    async (request) => {
      const actor = request.actor;
      if (actor.groupIds.length !== 1) {
        throw unprocessable(
          fastify,
          'group',
          actor.groupIds.length ? 'you belong to several groups; rates can only be set by an HQ user of exactly one group' : 'you belong to no group',
        );
      }
      const groupId = actor.groupIds[0]!;
      const group = await prisma.group.findUniqueOrThrow({ where: { id: groupId }, select: { code: true, currency: true } });
      const body = request.body;
      const seen = new Set<string>();
      body.forEach((r, i) => {
        const key = `${r.period}/${r.currency}`;
        if (seen.has(key)) throw unprocessable(fastify, `${i}.currency`, `${r.currency} appears twice for ${r.period}`);
        seen.add(key);
        if (r.currency === group.currency) throw unprocessable(fastify, `${i}.currency`, `${r.currency} is the group currency (its rate is always 1)`);
      });
      const periods = [...new Set(body.map((r) => r.period))].sort();
      await prisma.$transaction(async (tx) => {
        const before = await tx.fxRate.findMany({
          where: { groupId, OR: body.map((r) => ({ period: r.period, currency: r.currency })) },
          orderBy: [{ period: 'asc' }, { currency: 'asc' }],
        });
        for (const r of body) {
          await tx.fxRate.upsert({
            where: { groupId_period_currency: { groupId, period: r.period, currency: r.currency } },
            create: { groupId, period: r.period, currency: r.currency, rate: r.rate },
            update: { rate: r.rate },
          });
        }
        await tx.auditEvent.create({
          data: auditRow(actor, {
            action: 'FX_RATES_UPDATED',
            objectType: 'fx-rate',
            objectId: group.code,
            entityIds: [],
            before: before.map((b) => ({ period: b.period, currency: b.currency, rate: b.rate.toString() })),
            after: body.map((r) => ({ period: r.period, currency: r.currency, rate: r.rate })),
          }),
        });
      });
      return list([groupId], periods);
    },
  );
};

export default fxRates;
