// Prisma 7 CLI configuration (used by `prisma generate`). Migrations are applied
// offline by scripts/migrate.ts; with internet access `npx prisma migrate deploy`
// works against the same prisma/migrations folder.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/ic_confirm' },
});
