import { describe, expect, it } from 'vitest';
import { migrate, rollback, validate } from '../../src/api.js';
import { checkDowns } from '../../src/engine/rollback-check.js';
import { catalogSnapshot } from '../support/catalog.js';
import { freshDatabase, query, tableExists, trackedVersions, waitFor } from '../support/db.js';
import { makeProject } from '../support/project.js';

/*
 * SPEC §12 on real PostgreSQL: downs run newest first, each checked against
 * what its up did; what is found is read back from the server.
 */

const HISTORY = {
  'data/001_schemas.sql': 'CREATE SCHEMA workspace;\nCREATE SCHEMA reference;\n',
  'data/001_schemas.down.sql': 'DROP SCHEMA reference;\nDROP SCHEMA workspace;\n',
  'data/002_items.sql': 'CREATE TABLE workspace.items (id int PRIMARY KEY, title text);\n',
  'data/002_items.down.sql': 'DROP TABLE workspace.items;\n',
  'data/003_title_index.sql': 'CREATE INDEX items_title_idx ON workspace.items (title);\n',
  'data/003_title_index.down.sql': 'DROP INDEX workspace.items_title_idx;\n',
  'data/004_rename.sql':
    "ALTER TABLE workspace.items RENAME TO things;\nALTER TABLE workspace.things ADD COLUMN note text NOT NULL DEFAULT '';\n",
  'data/004_rename.down.sql':
    'ALTER TABLE workspace.things DROP COLUMN note;\nALTER TABLE workspace.things RENAME TO items;\n',
};

async function setUp(files: Record<string, string> = HISTORY) {
  const url = await freshDatabase();
  const cwd = makeProject(files);
  const env = { PRIMARY_DATABASE_URL: url };
  return { url, cwd, env };
}

const events = async (url: string) =>
  (
    await query<{ version: string; event: string }>(
      url,
      "SELECT version, event FROM schemata.migrations WHERE set_name = 'data' ORDER BY id",
    )
  ).map((r) => `${r.version} ${r.event}`);

describe('rollback', () => {
  it('rolls back one, then two, then to a version; migrate applies them again to the same catalog', async () => {
    const { url, cwd, env } = await setUp();
    const at = async (n: number) => {
      const c = await setUp(Object.fromEntries(Object.entries(HISTORY).slice(0, n * 2)));
      expect((await migrate({ cwd: c.cwd, env: c.env, sets: ['data'] })).error).toBeUndefined();
      return catalogSnapshot(c.url);
    };
    expect((await migrate({ cwd, env, sets: ['data'] })).error).toBeUndefined();

    const one = await rollback({ cwd, env, set: 'data' });
    expect(one.error).toBeUndefined();
    expect(one.sets[0]!.rolledBack!.map((m) => m.file)).toEqual(['004_rename.sql']);
    expect(await tableExists(url, 'workspace.items')).toBe(true);
    expect(await catalogSnapshot(url)).toEqual(await at(3));
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3']);

    const two = await rollback({ cwd, env, set: 'data', steps: 2 });
    expect(two.error).toBeUndefined();
    expect(two.sets[0]!.rolledBack!.map((m) => m.file)).toEqual([
      '003_title_index.sql',
      '002_items.sql',
    ]);
    expect(await catalogSnapshot(url)).toEqual(await at(1));

    const again = await migrate({ cwd, env, sets: ['data'] });
    expect(again.error).toBeUndefined();
    expect(again.sets[0]!.applied.map((m) => m.file)).toEqual([
      '002_items.sql',
      '003_title_index.sql',
      '004_rename.sql',
    ]);
    expect(await catalogSnapshot(url)).toEqual(await at(4));
    expect((await validate({ cwd, env, sets: ['data'] })).ok).toBe(true);

    const to = await rollback({ cwd, env, set: 'data', to: '001' });
    expect(to.error).toBeUndefined();
    expect(to.sets[0]!.rolledBack!.map((m) => m.version)).toEqual(['4', '3', '2']);
    expect(await catalogSnapshot(url)).toEqual(await at(1));
    expect(await events(url)).toEqual([
      '1 applied',
      '2 applied',
      '3 applied',
      '4 applied',
      '4 rolled-back',
      '3 rolled-back',
      '2 rolled-back',
      '2 applied',
      '3 applied',
      '4 applied',
      '4 rolled-back',
      '3 rolled-back',
      '2 rolled-back',
    ]);
    // The expected state holds what stays applied, and validation agrees with the database.
    expect((await validate({ cwd, env, sets: ['data'] })).ok).toBe(true);
    expect((await migrate({ cwd, env, sets: ['data'] })).error).toBeUndefined();
    expect((await validate({ cwd, env, sets: ['data'] })).ok).toBe(true);
  });

  it('rolls back a down that leaves an object, naming it; the migration stays applied', async () => {
    const { url, cwd, env } = await setUp({
      ...HISTORY,
      'data/003_title_index.down.sql': 'SELECT 1;\n',
    });
    expect((await migrate({ cwd, env, sets: ['data'] })).error).toBeUndefined();
    expect((await rollback({ cwd, env, set: 'data' })).error).toBeUndefined();
    const report = await rollback({ cwd, env, set: 'data' });
    expect(report.exitCode).toBe(3);
    expect(report.error?.message).toContain(
      'the down of 003_title_index.sql does not undo it: leaves index workspace.items_title_idx. 003_title_index.down.sql was rolled back: 003_title_index.sql stays applied',
    );
    expect(report.error?.hint).toContain('schemata rollback data --to 2');
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3']);
  });

  it('names a down that drops a column its up did not add', async () => {
    const { url, cwd, env } = await setUp({
      ...HISTORY,
      'data/004_rename.down.sql':
        'ALTER TABLE workspace.things DROP COLUMN note, DROP COLUMN title;\nALTER TABLE workspace.things RENAME TO items;\n',
    });
    expect((await migrate({ cwd, env, sets: ['data'] })).error).toBeUndefined();
    const report = await rollback({ cwd, env, set: 'data' });
    expect(report.exitCode).toBe(3);
    expect(report.error?.message).toContain('does not bring back column workspace.items.title');
    expect(await tableExists(url, 'workspace.things')).toBe(true);
  });

  it('refuses a down that drops a table holding rows, and runs it with --force', async () => {
    const { url, cwd, env } = await setUp(Object.fromEntries(Object.entries(HISTORY).slice(0, 4)));
    expect((await migrate({ cwd, env, sets: ['data'] })).error).toBeUndefined();
    await query(url, "INSERT INTO workspace.items VALUES (1, 'kept')");
    const refused = await rollback({ cwd, env, set: 'data' });
    expect(refused.exitCode).toBe(4);
    expect(refused.sets[0]!.problems[0]!.hint).toContain('schemata rollback data --to 1 --force');
    expect(await query(url, 'SELECT * FROM workspace.items')).toHaveLength(1);
    const forced = await rollback({ cwd, env, set: 'data', force: true });
    expect(forced.error).toBeUndefined();
    expect(await tableExists(url, 'workspace.items')).toBe(false);
  });

  it('refuses, exit 2 and nothing run, when a migration has no down', async () => {
    const { url, cwd, env } = await setUp({
      'data/001_schemas.sql': HISTORY['data/001_schemas.sql'],
      'data/002_items.sql': HISTORY['data/002_items.sql'],
      'data/003_title_index.sql': HISTORY['data/003_title_index.sql'],
      'data/003_title_index.down.sql': HISTORY['data/003_title_index.down.sql'],
    });
    expect((await migrate({ cwd, env, sets: ['data'] })).error).toBeUndefined();
    const before = await catalogSnapshot(url);
    const report = await rollback({ cwd, env, set: 'data', steps: 2 });
    expect(report.exitCode).toBe(2);
    expect(report.error?.message).toBe(
      'Set "data": 002_items.sql cannot be rolled back: it has no down file (002_items.down.sql). Nothing ran.',
    );
    expect(await catalogSnapshot(url)).toEqual(before);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3']);
  });
});

it('refuses a fleet set, exit 2, naming roll-forward', async () => {
  const url = await freshDatabase();
  const cwd = makeProject({
    'schemata.json': JSON.stringify({
      sets: [
        { name: 'tenant', dir: 'tenant', database: 'primary', tenants: { schemas: ['tenant_1'] } },
      ],
    }),
    'tenant/001_items.sql': 'CREATE TABLE items (id int);\n',
    'tenant/001_items.down.sql': 'DROP TABLE items;\n',
  });
  const report = await rollback({ cwd, env: { PRIMARY_DATABASE_URL: url }, set: 'tenant' });
  expect(report.exitCode).toBe(2);
  expect(report.error?.message).toBe(
    'Set "tenant" is a fleet of tenants: rollback runs on one database and set, not yet on a fleet. Nothing ran.',
  );
});

describe('rollback --check', () => {
  const generated = (n: number, broken?: number) => {
    const files: Record<string, string> = {
      'data/0000_schema.sql': 'CREATE SCHEMA workspace;\nCREATE SCHEMA reference;\n',
      'data/0000_schema.down.sql': 'DROP SCHEMA reference;\nDROP SCHEMA workspace;\n',
    };
    for (let i = 1; i < n; i++) {
      const v = String(i).padStart(4, '0');
      if (i % 2 === 1) {
        files[`data/${v}_t${i}.sql`] =
          `CREATE TABLE workspace.t${i} (id int PRIMARY KEY, label varchar(40));\n`;
        files[`data/${v}_t${i}.down.sql`] = `DROP TABLE workspace.t${i};\n`;
      } else {
        files[`data/${v}_alter${i}.sql`] =
          `ALTER TABLE workspace.t${i - 1} ALTER COLUMN label TYPE text;\nCREATE INDEX t${i - 1}_label ON workspace.t${i - 1} (label);\n`;
        files[`data/${v}_alter${i}.down.sql`] =
          i === broken
            ? `DROP INDEX workspace.t${i - 1}_label;\n`
            : `DROP INDEX workspace.t${i - 1}_label;\nALTER TABLE workspace.t${i - 1} ALTER COLUMN label TYPE varchar(40);\n`;
      }
    }
    return files;
  };

  it("proves 200 downs on a scratch database and leaves the set's database untouched", async () => {
    const { url, cwd, env } = await setUp(generated(200));
    const before = await catalogSnapshot(url);
    // The scratch database on the same server as the set's: a database of its own, dropped after.
    const report = await checkDowns({ cwd, env, set: 'data', scratchUrl: url });
    expect(report.error).toBeUndefined();
    expect(report.sets[0]!.checked!.filter((c) => c.down === 'proved')).toHaveLength(200);
    expect(await catalogSnapshot(url)).toEqual(before);
    expect(await query(url, "SELECT 1 FROM pg_namespace WHERE nspname = 'schemata'")).toEqual([]);
    // The scratch database is gone (another test file's may exist for a moment on this server: waited out).
    expect(
      await waitFor(
        async () =>
          (
            await query(
              url,
              "SELECT datname FROM pg_database WHERE datname LIKE 'schemata_check_%'",
            )
          ).length === 0,
        20_000,
      ),
    ).toBe(true);
  });

  it('names the one broken down of 200 (a column type left changed), exit 3', async () => {
    const { cwd, env } = await setUp(generated(200, 150));
    const report = await checkDowns({ cwd, env, set: 'data' });
    expect(report.exitCode).toBe(3);
    expect(report.sets[0]!.problems.map((p) => p.message)).toEqual([
      'Set "data": the down of 0150_alter150.sql (database/data/0150_alter150.down.sql) leaves column workspace.t149.label as text (before: character varying(40)).',
    ]);
    expect(report.sets[0]!.checked!.find((c) => c.file === '0150_alter150.sql')!.down).toBe(
      'broken',
    );
    expect(report.sets[0]!.checked!.filter((c) => c.down === 'proved')).toHaveLength(199);
  });

  it('a down that reaches beyond the names it mentions (dynamic SQL) is compared over the whole catalog', async () => {
    const { cwd, env } = await setUp({
      ...HISTORY,
      'data/005_notes.sql': 'CREATE TABLE workspace.notes (id int);\n',
      'data/005_notes.down.sql':
        "DROP TABLE workspace.notes;\nDO $$ BEGIN EXECUTE '' || 'ALTER TABLE workspace.things ADD COLUMN ' || 'stray int'; END $$;\n",
    });
    const report = await checkDowns({ cwd, env, set: 'data' });
    expect(report.exitCode).toBe(3);
    expect(report.sets[0]!.problems.map((p) => p.message)).toEqual([
      'Set "data": the down of 005_notes.sql (database/data/005_notes.down.sql) leaves column workspace.things.stray.',
    ]);
  });

  it('names migrations without a down in a warning', async () => {
    const files = generated(4);
    delete files['data/0002_alter2.down.sql'];
    const { cwd, env } = await setUp(files);
    const report = await checkDowns({ cwd, env, set: 'data' });
    expect(report.error).toBeUndefined();
    expect(report.sets[0]!.warnings).toEqual([
      '1 migration has no down file and cannot be rolled back: 0002_alter2.sql.',
    ]);
  });
});
