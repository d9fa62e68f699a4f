// Offline migration engine: Prisma 6.19's CLI (npm alias `prisma6`) in its
// JavaScript schema-engine mode, with the Prisma 7 pg adapter. Prisma 7's CLI
// would download a native schema engine, which these machines cannot reach.
// Driven by lib/migrate.ts (npm run db:migrate / db:diff). schema.prisma stays the
// source of truth: lib/migrate.ts hands this CLI a copy that only adds the `url`
// line Prisma 6 insists on (PRISMA_MIGRATE_SCHEMA).
import path from 'node:path';
import { defineConfig } from 'prisma6/config';
import { PrismaPg } from '@prisma/adapter-pg';

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: process.env.PRISMA_MIGRATE_SCHEMA ?? path.join(__dirname, 'schema.prisma'),
  migrations: { path: path.join(__dirname, 'migrations') },
  async adapter() {
    const connectionString = process.env.DATABASE_URL;
    if (!connectionString) throw new Error('DATABASE_URL is not set');
    return new PrismaPg({ connectionString });
  },
});
