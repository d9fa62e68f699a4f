// Prisma 7 client on the pg driver adapter. The client is generated into
// generated/prisma (not committed) by `prisma generate`.
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client';

export { Prisma } from '../generated/prisma/client';
export type { PrismaClient } from '../generated/prisma/client';
export * as db from '../generated/prisma/enums';

export function createPrisma(connectionString: string, opts: { max?: number } = {}): PrismaClient {
  const adapter = new PrismaPg({ connectionString, max: opts.max ?? 10 });
  return new PrismaClient({ adapter });
}
