import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { baseline, importHistory } from '../../../src/api.js';
import { freshDatabase, query } from '../../support/db.js';
import { makeProject } from '../../support/project.js';

/*
 * SPEC §11 with §10: a fleet's tenants each keep their own history, so one
 * reading of the set's database (its search path, one tool table) cannot say
 * what each tenant ran. baseline refuses a fleet set, with or without --from,
 * before it writes anything; import, which writes only files, works for it.
 */

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const ITEMS = 'CREATE TABLE items (id int PRIMARY KEY);\n';
const NOTES = 'CREATE TABLE notes (id int PRIMARY KEY);\n';

describe('adopting into a fleet of tenant schemas', () => {
  it('import writes the files; baseline --from and baseline refuse the fleet, exit 2, writing nothing', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      'schemata.json': JSON.stringify({
        sets: [
          {
            name: 'tenant',
            dir: 'tenant',
            database: 'primary',
            tenants: { schemas: ['tenant_a', 'tenant_b'] },
          },
        ],
      }),
      'tenant/README.md': 'Imported from Prisma.\n',
    });
    mkdirSync(join(cwd, 'prisma/migrations/20240101000000_items'), { recursive: true });
    writeFileSync(join(cwd, 'prisma/migrations/20240101000000_items/migration.sql'), ITEMS);
    mkdirSync(join(cwd, 'prisma/migrations/20240102000000_notes'), { recursive: true });
    writeFileSync(join(cwd, 'prisma/migrations/20240102000000_notes/migration.sql'), NOTES);
    // Prisma run once per tenant with ?schema=tenant_x: each schema its own _prisma_migrations
    // (prisma-engines sql-schema-connector, flavour/postgres.rs), tenant_b one migration behind.
    for (const [schema, ran] of [
      ['tenant_a', [ITEMS, NOTES]],
      ['tenant_b', [ITEMS]],
    ] as const) {
      await query(
        url,
        `CREATE SCHEMA ${schema}; SET search_path TO ${schema};
         CREATE TABLE _prisma_migrations (
           id VARCHAR(36) PRIMARY KEY NOT NULL, checksum VARCHAR(64) NOT NULL, finished_at TIMESTAMPTZ,
           migration_name VARCHAR(255) NOT NULL, logs TEXT, rolled_back_at TIMESTAMPTZ,
           started_at TIMESTAMPTZ NOT NULL DEFAULT now(), applied_steps_count INTEGER NOT NULL DEFAULT 0);
         ${ran.join('')}`,
      );
      for (const [i, sql] of ran.entries())
        await query(
          url,
          `INSERT INTO ${schema}._prisma_migrations (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
           VALUES ($1, $2, $3, now(), now(), 1)`,
          [randomUUID(), sha256(sql), i === 0 ? '20240101000000_items' : '20240102000000_notes'],
        );
    }
    const rows = () =>
      query(
        url,
        'SELECT * FROM tenant_a._prisma_migrations UNION ALL SELECT * FROM tenant_b._prisma_migrations ORDER BY 1',
      );
    const before = await rows();

    const imported = await importHistory({ cwd, tool: 'prisma', set: 'tenant' });
    expect(imported.error).toBeUndefined();
    const files = readdirSync(join(cwd, 'database/tenant')).sort();
    expect(files).toEqual([
      '20240101000000_items.sql',
      '20240102000000_notes.sql',
      'README.md',
      'import.json',
    ]);

    const env = { PRIMARY_DATABASE_URL: url };
    const fromPrisma = await baseline({ cwd, env, set: 'tenant', from: 'prisma' });
    expect(fromPrisma.exitCode).toBe(2);
    expect(fromPrisma.error?.message).toBe(
      `Set "tenant" is a fleet of tenants: baseline adopts the history of one database and set (prisma's table there), not yet each tenant's own. Nothing was recorded.`,
    );
    expect(fromPrisma.error?.hint).toBe(
      'Keep migrating the fleet with prisma for now; a set without "tenants" can be adopted from it today.',
    );
    const plain = await baseline({ cwd, env, set: 'tenant' });
    expect(plain.exitCode).toBe(2);
    expect(plain.error?.message).toContain('Set "tenant" is a fleet of tenants: baseline adopts');

    expect(await query(url, "SELECT to_regclass('schemata.migrations') IS NULL AS none")).toEqual([
      { none: true },
    ]);
    expect(await rows()).toEqual(before);
    expect(readdirSync(join(cwd, 'database/tenant')).sort()).toEqual(files);
  });
});
