import { MAX_NAMED_STATEMENT_CHARS, MAX_NAMED_STATEMENTS, preparedStatementName } from '../../prisma/client';

describe('names of the prepared statements Prisma sends (preparedStatementName)', () => {
  it('gives a statement the same name every time, and two statements different names', () => {
    const a = preparedStatementName({ sql: 'SELECT "t0"."id" FROM "public"."User" AS "t0" WHERE "t0"."id" = $1' });
    const b = preparedStatementName({ sql: 'SELECT "t0"."id" FROM "public"."Entity" AS "t0" WHERE "t0"."id" = $1' });
    expect(a).toMatch(/^prisma_[0-9a-f]{24}$/);
    expect(preparedStatementName({ sql: 'SELECT "t0"."id" FROM "public"."User" AS "t0" WHERE "t0"."id" = $1' })).toBe(a);
    expect(b).not.toBe(a);
  });

  it('leaves very long statements unnamed (a createMany of many rows)', () => {
    const long = `INSERT INTO "Task" VALUES ${Array.from({ length: 4_000 }, (_, i) => `($${i + 1})`).join(',')}`;
    expect(long.length).toBeGreaterThan(MAX_NAMED_STATEMENT_CHARS);
    expect(preparedStatementName({ sql: long })).toBeUndefined();
  });

  it('names at most MAX_NAMED_STATEMENTS distinct statements, and keeps the names it gave', () => {
    const first = preparedStatementName({ sql: 'SELECT 0 AS kept' });
    for (let i = 0; i < MAX_NAMED_STATEMENTS; i++) preparedStatementName({ sql: `SELECT ${i + 1} AS n` });
    expect(preparedStatementName({ sql: 'SELECT 1 AS one_too_many' })).toBeUndefined();
    expect(preparedStatementName({ sql: 'SELECT 0 AS kept' })).toBe(first);
  });
});
