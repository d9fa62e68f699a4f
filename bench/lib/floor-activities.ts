// The one activity of the e2e-floor workflows (bench/baseline-workflows.ts): a row per
// workflow, written with one statement on a plain pg pool.
import type { Pool } from 'pg';

export const FLOOR_TABLE_SQL = `CREATE TABLE IF NOT EXISTS bench_floor (id text PRIMARY KEY, status text NOT NULL, at timestamptz NOT NULL DEFAULT now())`;

export function createFloorActivities(db: Pool) {
  return {
    async floorWrite(id: string, status: string): Promise<void> {
      await db.query(`INSERT INTO bench_floor (id, status) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, at = now()`, [id, status]);
    },
  };
}

export type FloorActivities = ReturnType<typeof createFloorActivities>;
