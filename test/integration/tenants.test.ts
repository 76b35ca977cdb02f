import { describe, expect, it } from 'vitest';
import { migrate, status, validate } from '../../src/api.js';
import { databaseName, freshDatabase, query, trackedVersions } from '../support/db.js';
import { makeProject, writeFile } from '../support/project.js';

/*
 * SPEC §10, a fleet of tenant schemas on one database: unqualified files run
 * under each tenant's search_path; each tenant has its own history, lock,
 * expected state, data protection and validation.
 */

const single = (url: string) => ({ PRIMARY_DATABASE_URL: url });
const TENANTS = Array.from({ length: 12 }, (_, i) => `tenant_${String(i + 1).padStart(3, '0')}`);

async function fleet(files: Record<string, string>) {
  const url = await freshDatabase();
  await query(url, TENANTS.map((t) => `CREATE SCHEMA ${t};`).join('\n'));
  const cwd = makeProject({
    'schemata.json': JSON.stringify({
      sets: [
        {
          name: 'tenant',
          dir: 'tenant',
          database: 'primary',
          tenants: { schemas: "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tenant\\_%'" },
        },
      ],
    }),
    ...Object.fromEntries(Object.entries(files).map(([f, sql]) => [`tenant/${f}`, sql])),
  });
  return { url, cwd };
}

describe('a fleet of tenant schemas', () => {
  it('applies each file to every tenant under its search_path, tracks each tenant, and a no-op rerun applies nothing', async () => {
    const { url, cwd } = await fleet({
      '001_items.sql': 'CREATE TABLE items (id int PRIMARY KEY, title text);\n',
    });
    const run = await migrate({ cwd, env: single(url), concurrency: 3 });
    expect(run.error).toBeUndefined();
    const tenants = run.sets[0]!.tenants!;
    expect(tenants.map((t) => t.name)).toEqual(TENANTS);
    expect(tenants.every((t) => t.ok && t.applied.length === 1)).toBe(true);
    for (const t of TENANTS)
      expect(
        await query(url, 'SELECT to_regclass($1) IS NOT NULL AS made', [`${t}.items`]),
      ).toEqual([{ made: true }]);
    expect(await query(url, "SELECT to_regclass('public.items') IS NULL AS nothing")).toEqual([
      { nothing: true },
    ]);
    expect(
      await query(
        url,
        "SELECT count(DISTINCT set_name)::int AS n FROM schemata.migrations WHERE set_name LIKE 'tenant/%'",
      ),
    ).toEqual([{ n: 12 }]);
    const again = await migrate({ cwd, env: single(url) });
    expect(again.sets[0]!.tenants!.every((t) => t.ok && t.applied.length === 0)).toBe(true);
    const shown = await status({ cwd, env: single(url) });
    expect(
      shown.sets[0]!.tenants!.map((t) => [t.name, t.applied.length, t.pending.length]),
    ).toContainEqual(['tenant_007', 1, 0]);
    expect((await validate({ cwd, env: single(url) })).ok).toBe(true);
  });

  it('the first failing tenant stops new ones; --continue-on-error finishes the rest; the rerun does only the failed one', async () => {
    const { url, cwd } = await fleet({
      '001_items.sql': 'CREATE TABLE items (id int PRIMARY KEY);\n',
    });
    expect((await migrate({ cwd, env: single(url) })).ok).toBe(true);
    // tenant_005 already has the table the next file makes without IF NOT EXISTS.
    await query(url, 'CREATE TABLE tenant_005.notes (id int)');
    writeFile(cwd, 'tenant/002_notes.sql', 'CREATE TABLE notes (id int);\n');
    const stopped = await migrate({ cwd, env: single(url), concurrency: 1 });
    expect(stopped.exitCode).toBe(3);
    expect(stopped.error?.message).toContain('1 of 12 tenants failed: tenant_005 (exit 3');
    expect(stopped.error?.message).toContain('7 tenants were not started');
    expect(stopped.error?.hint).toBe(
      "Fix the failed tenants' cause, then run them again: schemata migrate tenant --tenants tenant_005 (and schemata migrate tenant for the rest)",
    );
    expect(stopped.sets[0]!.tenants!.map((t) => t.name)).toEqual(TENANTS.slice(0, 5));

    const rest = await migrate({ cwd, env: single(url), continueOnError: true });
    expect(rest.exitCode).toBe(3);
    expect(rest.sets[0]!.tenants!.filter((t) => !t.ok).map((t) => t.name)).toEqual(['tenant_005']);
    expect(rest.sets[0]!.tenants!.filter((t) => t.applied.length === 1)).toHaveLength(7);

    await query(url, 'DROP TABLE tenant_005.notes');
    const rerun = await migrate({ cwd, env: single(url) });
    expect(rerun.error).toBeUndefined();
    expect(rerun.sets[0]!.tenants!.filter((t) => t.applied.length > 0).map((t) => t.name)).toEqual([
      'tenant_005',
    ]);
  });

  it('data protection holds per tenant, naming the tenant and its rows; --tenants and --shard pick tenants', async () => {
    const { url, cwd } = await fleet({
      '001_items.sql': 'CREATE TABLE items (id int PRIMARY KEY);\n',
    });
    expect((await migrate({ cwd, env: single(url) })).ok).toBe(true);
    await query(url, 'INSERT INTO tenant_003.items VALUES (1), (2)');
    writeFile(cwd, 'tenant/002_drop.sql', 'DROP TABLE items;\n');
    const refused = await migrate({ cwd, env: single(url), tenants: ['tenant_002', 'tenant_003'] });
    expect(refused.exitCode).toBe(4);
    const t3 = refused.sets[0]!.tenants!.find((t) => t.name === 'tenant_003')!;
    expect(t3.error?.message ?? t3.problems[0]?.message).toMatch(
      /^Set "tenant\/tenant_003": .*DROP TABLE tenant_003\.items would destroy data: tenant_003\.items holds 2 rows/,
    );
    expect(await query(url, 'SELECT count(*)::int AS n FROM tenant_003.items')).toEqual([{ n: 2 }]);
    expect(refused.sets[0]!.tenants!.map((t) => t.name)).toEqual(['tenant_002', 'tenant_003']);

    const shards = await Promise.all(
      [0, 1, 2].map((i) => status({ cwd, env: single(url), shard: `${i}/3` })),
    );
    const names = shards.flatMap((s) => s.sets[0]!.tenants!.map((t) => t.name)).sort();
    expect(names).toEqual(TENANTS);
  });
});

describe("a tenant's search_path in every kind of file", () => {
  it('a file of its own BEGIN ... COMMIT and a -- schemata:no-transaction file run in the tenant schema, the session left with the database default', async () => {
    const { url, cwd } = await fleet({
      '001_items.sql': 'BEGIN;\nCREATE TABLE items (id int PRIMARY KEY, title text);\nCOMMIT;\n',
      '002_index.sql':
        '-- schemata:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS items_title ON items (title);\n',
      '003_fill.sql':
        "DO $$ BEGIN EXECUTE '' || 'INSERT INTO items VALUES (1, current_schema())'; END $$;\n",
    });
    const run = await migrate({ cwd, env: single(url), concurrency: 3 });
    expect(run.error, run.sets[0]?.tenants?.find((t) => !t.ok)?.error?.message).toBeUndefined();
    const indexes = await query<{ schema: string; n: number }>(
      url,
      "SELECT schemaname AS schema, count(*)::int AS n FROM pg_indexes WHERE indexname = 'items_title' GROUP BY schemaname ORDER BY 1",
    );
    expect(indexes).toEqual(TENANTS.map((schema) => ({ schema, n: 1 })));
    for (const t of TENANTS.slice(0, 3))
      expect(await query(url, `SELECT title FROM ${t}.items`)).toEqual([{ title: t }]);
    expect((await validate({ cwd, env: single(url) })).ok).toBe(true);
  });
  it('tenants run their files outside a transaction one at a time and never beside a transactional one (CREATE INDEX CONCURRENTLY waits for every older transaction of the database), their transactional files side by side', async () => {
    const { url, cwd } = await fleet({
      '001_spans.sql':
        "CREATE TABLE spans (step text, started timestamptz, ended timestamptz);\nINSERT INTO spans VALUES ('in a transaction', clock_timestamp(), NULL);\nSELECT pg_sleep(0.3);\nUPDATE spans SET ended = clock_timestamp() WHERE step = 'in a transaction';\n",
      '002_outside.sql':
        "-- schemata:no-transaction\nINSERT INTO spans VALUES ('outside', clock_timestamp(), NULL);\nSELECT pg_sleep(0.3);\nUPDATE spans SET ended = clock_timestamp() WHERE step = 'outside';\n",
    });
    const run = await migrate({ cwd, env: single(url), concurrency: 4 });
    expect(run.error).toBeUndefined();
    const spans = await query<{ schema: string; step: string; started: Date; ended: Date }>(
      url,
      TENANTS.map((t) => `SELECT '${t}' AS schema, step, started, ended FROM ${t}.spans`).join(
        ' UNION ALL ',
      ),
    );
    const overlapping = (step: string) => {
      const of = spans.filter((s) => s.step === step).sort((a, b) => +a.started - +b.started);
      expect(of).toHaveLength(TENANTS.length);
      return of.slice(1).filter((s, i) => s.started < of[i]!.ended).length;
    };
    expect(overlapping('outside')).toBe(0);
    expect(overlapping('in a transaction')).toBeGreaterThan(0);
    // Nor beside a transactional file: the build would wait for its transaction to end.
    const outside = spans.filter((s) => s.step === 'outside');
    const beside = spans.filter(
      (s) =>
        s.step === 'in a transaction' &&
        outside.some((o) => s.started < o.ended && o.started < s.ended),
    );
    expect(beside).toEqual([]);
  });
});

describe('per tenant: the measurement, validation and repair', () => {
  it('a tenant whose rows a function deletes is refused by the measurement in its transaction, naming the tenant; the others apply', async () => {
    const { url, cwd } = await fleet({
      '001_items.sql':
        'CREATE TABLE items (id int PRIMARY KEY);\nCREATE FUNCTION purge() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DELETE FROM items; END $$;\n',
    });
    expect((await migrate({ cwd, env: single(url) })).ok).toBe(true);
    await query(url, 'INSERT INTO tenant_004.items VALUES (1), (2), (3)');
    writeFile(cwd, 'tenant/002_purge.sql', 'SELECT purge();\n');
    const run = await migrate({ cwd, env: single(url), continueOnError: true });
    expect(run.exitCode).toBe(4);
    const refused = run.sets[0]!.tenants!.filter((t) => !t.ok);
    expect(refused.map((t) => t.name)).toEqual(['tenant_004']);
    expect(refused[0]!.error?.message).toMatch(/^Set "tenant\/tenant_004": .*tenant_004\.items/);
    expect(await query(url, 'SELECT count(*)::int AS n FROM tenant_004.items')).toEqual([{ n: 3 }]);
    expect(run.sets[0]!.tenants!.filter((t) => t.applied.length === 1)).toHaveLength(11);
  });

  it('validate names the tenant whose object is gone; migrate --repair makes it again there alone', async () => {
    const { url, cwd } = await fleet({
      '001_items.sql':
        'CREATE TABLE items (id int PRIMARY KEY, title text);\nCREATE INDEX IF NOT EXISTS items_title_idx ON items (title);\n',
    });
    expect((await migrate({ cwd, env: single(url) })).ok).toBe(true);
    await query(url, 'DROP INDEX tenant_009.items_title_idx');
    const checked = await validate({ cwd, env: single(url) });
    expect(checked.exitCode).toBe(3);
    const broken = checked.sets[0]!.tenants!.filter((t) => !t.ok);
    expect(broken.map((t) => t.name)).toEqual(['tenant_009']);
    expect(broken[0]!.problems[0]!.message).toContain('tenant_009.items_title_idx');
    const repaired = await migrate({ cwd, env: single(url), repair: true });
    expect(repaired.error).toBeUndefined();
    expect(
      await query(url, "SELECT to_regclass('tenant_009.items_title_idx') IS NOT NULL AS back"),
    ).toEqual([{ back: true }]);
    expect((await validate({ cwd, env: single(url) })).ok).toBe(true);
  });
});

describe("a fleet's one reading before its tenants", () => {
  it('a tenant schema that already holds objects but no history is untracked (exit 3), named; the others apply', async () => {
    const { url, cwd } = await fleet({
      '001_items.sql': 'CREATE TABLE IF NOT EXISTS items (id int PRIMARY KEY, title text);\n',
    });
    // The others tracked first, so that the fleet reads the database as a whole before its tenants.
    const first = await migrate({
      cwd,
      env: single(url),
      tenants: TENANTS.filter((t) => t !== 'tenant_002'),
    });
    expect(first.error).toBeUndefined();
    writeFile(cwd, 'tenant/002_notes.sql', 'CREATE TABLE IF NOT EXISTS notes (id int);\n');
    await query(url, 'CREATE TABLE tenant_002.made_by_hand (id int)');
    const run = await migrate({ cwd, env: single(url), concurrency: 3, continueOnError: true });
    expect(run.exitCode).toBe(3);
    const failed = run.sets[0]!.tenants!.filter((t) => !t.ok);
    expect(failed.map((t) => t.name)).toEqual(['tenant_002']);
    expect(failed[0]!.problems.map((p) => p.kind)).toContain('untracked');
    expect(run.sets[0]!.tenants!.filter((t) => t.ok && t.applied.length === 1)).toHaveLength(11);
  });
});

describe("a fleet's validation after migrate", () => {
  it('validates every tenant that applied something from one reading after them all, and fails the one that lost its schema', async () => {
    const { url, cwd } = await fleet({
      '001_items.sql': 'CREATE TABLE items (id int PRIMARY KEY, title text);\n',
    });
    expect((await migrate({ cwd, env: single(url), concurrency: 3 })).error).toBeUndefined();
    writeFile(
      cwd,
      'tenant/002_odd.sql',
      "DO $$ BEGIN IF current_schema() = 'tenant_003' THEN EXECUTE '' || 'DROP SCHEMA tenant_003 CASCADE'; END IF; END $$;\n",
    );
    const run = await migrate({ cwd, env: single(url), concurrency: 3, continueOnError: true });
    expect(run.exitCode).toBe(3);
    const tenants = run.sets[0]!.tenants!;
    const failed = tenants.filter((t) => !t.ok);
    expect(failed.map((t) => [t.name, t.exitCode])).toEqual([['tenant_003', 3]]);
    expect(failed[0]!.problems.map((p) => p.message)).toEqual([
      expect.stringContaining('schema tenant_003 is still missing after migrations'),
    ]);
    expect(tenants.filter((t) => t.ok && t.applied.length === 1)).toHaveLength(11);
    expect(run.error!.message).toContain('1 of 12 tenants failed: tenant_003 (exit 3');
  });
});

describe('a run of a fleet set beside an ordinary one', () => {
  it('applies the ordinary set as ever and the fleet tenant by tenant, fleet flags and all', async () => {
    const url = await freshDatabase();
    await query(url, 'CREATE SCHEMA tenant_a; CREATE SCHEMA tenant_b;');
    const cwd = makeProject({
      'schemata.json': JSON.stringify({
        sets: [
          { name: 'data', dir: 'data', database: 'primary', schemas: ['workspace'] },
          {
            name: 'tenant',
            dir: 'tenant',
            database: 'primary',
            tenants: { schemas: ['tenant_a', 'tenant_b'] },
          },
        ],
      }),
      'data/001_workspace.sql':
        'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE TABLE workspace.items (id int);\n',
      'tenant/001_items.sql': 'CREATE TABLE items (id int);\n',
    });
    const run = await migrate({ cwd, env: single(url), concurrency: 2 });
    expect(run.error).toBeUndefined();
    expect(run.sets.map((s) => [s.name, s.applied.length, s.tenants?.length])).toEqual([
      ['data', 1, undefined],
      ['tenant', 0, 2],
    ]);
    const alone = await migrate({ cwd, env: single(url), sets: ['data'], concurrency: 2 });
    expect(alone.exitCode).toBe(2);
    expect(alone.error?.message).toBe(
      '--concurrency applies to sets with "tenants", and this run has none.',
    );
  });
});

describe('status of a fleet', () => {
  it("names as orphans the schemas that hold the set's tracking but are no longer among its tenants", async () => {
    const { url, cwd } = await fleet({ '001_items.sql': 'CREATE TABLE items (id int);\n' });
    expect((await migrate({ cwd, env: single(url) })).ok).toBe(true);
    await query(url, 'ALTER SCHEMA tenant_012 RENAME TO archived_012');
    const shown = await status({ cwd, env: single(url), shard: '0/2' });
    expect(shown.sets[0]!.orphans).toEqual(['tenant_012']);
    expect(shown.sets[0]!.warnings[0]).toContain('(orphans): tenant_012.');
    expect(shown.sets[0]!.tenants).toHaveLength(6);
  });
});

describe('a dry run of a fleet', () => {
  it('shows each tenant what would run and writes nothing, not even the tracking tables', async () => {
    const { url, cwd } = await fleet({ '001_items.sql': 'CREATE TABLE items (id int);\n' });
    const planned = await migrate({ cwd, env: single(url), dryRun: true });
    expect(planned.error).toBeUndefined();
    expect(planned.sets[0]!.tenants).toHaveLength(12);
    expect(planned.sets[0]!.tenants!.every((t) => t.ok && t.pending.length === 1)).toBe(true);
    expect(await query(url, "SELECT to_regnamespace('schemata') IS NULL AS nothing")).toEqual([
      { nothing: true },
    ]);
  });
});

describe('a fleet of tenant databases listed in the config or by a query', () => {
  const items = 'CREATE TABLE items (id int PRIMARY KEY);\n';

  it("a query on the set's database returns their names: each is a database on that server, named by its name", async () => {
    const registry = await freshDatabase();
    const shards = [await freshDatabase(), await freshDatabase(), await freshDatabase()];
    await query(registry, 'CREATE TABLE shards (name text)');
    await query(registry, 'INSERT INTO shards SELECT unnest($1::text[])', [
      shards.map(databaseName),
    ]);
    const cwd = makeProject({
      'schemata.json': JSON.stringify({
        sets: [
          {
            name: 'shard',
            dir: 'shard',
            database: 'primary',
            tenants: { databases: 'SELECT name FROM shards ORDER BY name' },
          },
        ],
      }),
      'shard/001_items.sql': items,
    });
    const run = await migrate({ cwd, env: single(registry) });
    expect(run.error).toBeUndefined();
    expect(run.sets[0]!.tenants!.map((t) => [t.name, t.ok, t.applied.length])).toEqual(
      shards
        .map(databaseName)
        .sort()
        .map((name) => [name, true, 1]),
    );
    for (const shard of shards)
      expect(await query(shard, "SELECT to_regclass('public.items') IS NOT NULL AS made")).toEqual([
        { made: true },
      ]);
    // The registry itself is not a tenant: nothing was made or tracked there.
    expect(await query(registry, "SELECT to_regnamespace('schemata') IS NULL AS none")).toEqual([
      { none: true },
    ]);
    expect((await validate({ cwd, env: single(registry) })).ok).toBe(true);
  });

  it('a list holds URLs and names; a failing query is a config error naming the set, exit 2', async () => {
    const [byUrl, byName] = [await freshDatabase(), await freshDatabase()];
    const project = (databases: unknown) =>
      makeProject({
        'schemata.json': JSON.stringify({
          sets: [{ name: 'shard', dir: 'shard', database: 'primary', tenants: { databases } }],
        }),
        'shard/001_items.sql': items,
      });
    const run = await migrate({ cwd: project([byUrl, databaseName(byName)]), env: single(byUrl) });
    expect(run.error).toBeUndefined();
    expect(run.sets[0]!.tenants!.map((t) => t.name).sort()).toEqual(
      [databaseName(byUrl), databaseName(byName)].sort(),
    );
    expect(await trackedVersions(byName, 'shard')).toEqual(['1']);

    const broken = await migrate({ cwd: project('SELECT name FROM nowhere'), env: single(byUrl) });
    expect(broken.exitCode).toBe(2);
    expect(broken.error?.message).toContain(
      'Set "shard": its tenants query failed: relation "nowhere" does not exist.',
    );
  });
});
