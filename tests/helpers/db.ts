// Direct SQL for end-to-end tests: checks made independently of the API.
import { Client as PgClient } from 'pg';

export async function sql<T = any>(text: string, values: unknown[] = []): Promise<T[]> {
  const pg = new PgClient({ connectionString: process.env.TEST_DATABASE_URL });
  await pg.connect();
  try {
    return (await pg.query(text, values)).rows as T[];
  } finally {
    await pg.end();
  }
}
