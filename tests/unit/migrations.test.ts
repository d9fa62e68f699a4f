// schema.prisma is the source of truth: every change to it must come with a migration
// (npm run db:diff -- <name>), which also refreshes the snapshot compared here.
import fs from 'node:fs';
import path from 'node:path';

const root = path.join(__dirname, '..', '..');

describe('prisma migrations', () => {
  it('cover the current schema.prisma', () => {
    const schema = fs.readFileSync(path.join(root, 'prisma', 'schema.prisma'), 'utf8');
    const snapshot = fs.readFileSync(path.join(root, 'prisma', 'migrations', 'schema.snapshot.prisma'), 'utf8');
    expect(snapshot).toBe(schema);
  });

  it('are plain SQL folders applied in name order', () => {
    const dirs = fs.readdirSync(path.join(root, 'prisma', 'migrations'), { withFileTypes: true }).filter((d) => d.isDirectory());
    expect(dirs.length).toBeGreaterThan(0);
    for (const d of dirs) {
      expect(d.name).toMatch(/^\d{14}_[a-z0-9_]+$/);
      expect(fs.existsSync(path.join(root, 'prisma', 'migrations', d.name, 'migration.sql'))).toBe(true);
    }
  });
});
