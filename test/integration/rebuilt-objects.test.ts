import { describe, expect, it } from 'vitest';
import { migrate, validate } from '../../src/api.js';
import { ENSURE_TRACKING_SQL } from '../../src/engine/tracking.js';
import { databaseName, freshDatabase, query } from '../support/db.js';
import { makeProject } from '../support/project.js';

/*
 * SPEC §4.2: an index or constraint that PostgreSQL rebuilds under a new OID
 * (ALTER COLUMN ... TYPE) stays the object of the migration that made it.
 * Each case: 002 makes it, 003 changes a column's type; the expected state
 * credits 002; a DBA drops it; validate names 002; --repair brings it back
 * from 002 with the rows untouched. The credit is read from the server's
 * schemata.objects, the repair from the catalog.
 */

const single = (url: string) => ({ PRIMARY_DATABASE_URL: url });
const SCHEMAS = {
  'data/001_schemas.sql':
    'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
};
const ITEMS =
  "CREATE TABLE workspace.items (id int, code varchar(8));\nINSERT INTO workspace.items VALUES (1, '10'), (2, '20');\n";

interface Case {
  files: Record<string, string>;
  /** [kind, identity] of what 002 made and 003 rebuilt. */
  rebuilt: Array<[string, string]>;
  drop: string;
  named: string;
}

const CASES: Array<[string, Case]> = [
  [
    'an index',
    {
      files: {
        'data/002_items.sql': `${ITEMS}CREATE INDEX items_code_idx ON workspace.items (code);\n`,
        'data/003_widen.sql': 'ALTER TABLE workspace.items ALTER COLUMN code TYPE varchar(32);\n',
      },
      rebuilt: [['index', 'workspace.items_code_idx']],
      drop: 'DROP INDEX workspace.items_code_idx',
      named: 'index workspace.items_code_idx (002_items.sql)',
    },
  ],
  [
    "a primary key's and a UNIQUE constraint's indexes",
    {
      files: {
        'data/002_items.sql': `${ITEMS}ALTER TABLE workspace.items ADD CONSTRAINT items_pkey PRIMARY KEY (id);\nALTER TABLE workspace.items ADD CONSTRAINT items_code_key UNIQUE (code);\n`,
        'data/003_widen.sql':
          'ALTER TABLE workspace.items ALTER COLUMN id TYPE bigint, ALTER COLUMN code TYPE varchar(32);\n',
      },
      rebuilt: [
        ['constraint', 'items_pkey on workspace.items'],
        ['index', 'workspace.items_pkey'],
        ['constraint', 'items_code_key on workspace.items'],
        ['index', 'workspace.items_code_key'],
      ],
      drop: 'ALTER TABLE workspace.items DROP CONSTRAINT items_code_key, DROP CONSTRAINT items_pkey',
      named: 'constraint items_pkey on workspace.items (002_items.sql)',
    },
  ],
  [
    "a partitioned table's index and its partitions'",
    {
      files: {
        'data/002_events.sql':
          'CREATE TABLE workspace.events (at date NOT NULL, kind varchar(8)) PARTITION BY RANGE (at);\n' +
          "CREATE TABLE workspace.events_2025 PARTITION OF workspace.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');\n" +
          "INSERT INTO workspace.events VALUES ('2025-03-01', 'a');\n" +
          'CREATE INDEX events_kind_idx ON workspace.events (kind);\n',
        'data/003_widen.sql': 'ALTER TABLE workspace.events ALTER COLUMN kind TYPE varchar(32);\n',
      },
      rebuilt: [
        ['index', 'workspace.events_kind_idx'],
        ['index', 'workspace.events_2025_kind_idx'],
      ],
      drop: 'DROP INDEX workspace.events_kind_idx',
      named: 'index workspace.events_kind_idx (002_events.sql)',
    },
  ],
  [
    'ALTER COLUMN ... TYPE ... USING',
    {
      files: {
        'data/002_items.sql': `${ITEMS}CREATE UNIQUE INDEX items_code_idx ON workspace.items (code);\n`,
        'data/003_numeric.sql':
          '-- schemata:force\nALTER TABLE workspace.items ALTER COLUMN code TYPE integer USING code::integer;\n',
      },
      rebuilt: [['index', 'workspace.items_code_idx']],
      drop: 'DROP INDEX workspace.items_code_idx',
      named: 'index workspace.items_code_idx (002_items.sql)',
    },
  ],
  [
    'REINDEX CONCURRENTLY (outside a transaction)',
    {
      files: {
        'data/002_items.sql': `${ITEMS}CREATE INDEX items_code_idx ON workspace.items (code);\n`,
        'data/003_reindex.sql': 'REINDEX INDEX CONCURRENTLY workspace.items_code_idx;\n',
      },
      rebuilt: [['index', 'workspace.items_code_idx']],
      drop: 'DROP INDEX workspace.items_code_idx',
      named: 'index workspace.items_code_idx (002_items.sql)',
    },
  ],
];

const creditOf = async (url: string, [kind, identity]: [string, string]) =>
  (
    await query<{ file: string }>(
      url,
      "SELECT file FROM schemata.objects WHERE set_name = 'data' AND kind = $1 AND identity = $2",
      [kind, identity],
    )
  ).map((r) => r.file);

/** Every table's rows, to compare before and after the repair. */
const rows = (url: string) =>
  query(
    url,
    `SELECT c.relname, pg_catalog.count(*) OVER () AS tables,
            (pg_catalog.xpath('/row/n/text()', pg_catalog.query_to_xml(pg_catalog.format('SELECT count(*) AS n FROM %s', c.oid::regclass), false, true, '')))[1]::text AS n
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'workspace' AND c.relkind = 'r' ORDER BY c.relname`,
  );

async function dropRepairAndCheck(url: string, cwd: string, c: Case, note?: string) {
  const before = await rows(url);
  await query(url, c.drop);
  const blocked = await validate({ cwd, env: single(url), sets: ['data'] });
  expect(blocked.exitCode).toBe(3);
  expect(blocked.sets[0]!.problems[0]!.message).toContain(c.named);
  // The migration that changed the column's type made nothing.
  if (!c.named.includes('003_'))
    expect(blocked.sets[0]!.problems[0]!.message).not.toContain('003_');

  const repaired = await migrate({ cwd, env: single(url), sets: ['data'], repair: true });
  expect(repaired.sets[0]!.problems).toEqual([]);
  expect(repaired.error).toBeUndefined();
  if (note) expect(repaired.sets[0]!.warnings.join('\n')).toContain(note);
  for (const [kind, identity] of c.rebuilt) {
    const [exists] = await query<{ ok: boolean }>(
      url,
      kind === 'index'
        ? 'SELECT to_regclass($1) IS NOT NULL AS ok'
        : 'SELECT EXISTS (SELECT 1 FROM pg_constraint k WHERE pg_catalog.format($$%I on %s$$, k.conname, k.conrelid::regclass) = $1) AS ok',
      [identity],
    );
    expect(exists, `${kind} ${identity}`).toEqual({ ok: true });
  }
  expect(await rows(url)).toEqual(before);
  expect((await validate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
}

describe('what ALTER COLUMN ... TYPE (or REINDEX CONCURRENTLY) rebuilds stays the object of the migration that made it', () => {
  it.each(CASES)('%s', async (_, c) => {
    const url = await freshDatabase();
    const cwd = makeProject({ ...SCHEMAS, ...c.files });
    const applied = await migrate({ cwd, env: single(url), sets: ['data'] });
    expect(applied.error).toBeUndefined();
    expect((await validate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
    for (const object of c.rebuilt)
      expect(await creditOf(url, object), object.join(' ')).toEqual([
        Object.keys(c.files)[0]!.slice('data/'.length),
      ]);
    // The event row of 003 (its last: outside a transaction, the first says it started) says so too.
    const [event] = await query<{ created: unknown[]; dropped: unknown[] }>(
      url,
      "SELECT effects->'created' AS created, effects->'dropped' AS dropped FROM schemata.migrations WHERE set_name = 'data' AND version = '3' ORDER BY id DESC LIMIT 1",
    );
    expect(event).toEqual({ created: [], dropped: [] });
    await dropRepairAndCheck(url, cwd, c);
  });

  it("is the same where the role may not create schemata's functions (the effects statement in each batch), and outside a transaction", async () => {
    const url = await freshDatabase();
    const role = `deployer_${Math.random().toString(36).slice(2, 8)}`;
    const database = databaseName(url);
    await query(url, ENSURE_TRACKING_SQL);
    await query(
      url,
      `CREATE ROLE ${role} LOGIN PASSWORD 'deploy-pw'; GRANT CREATE ON DATABASE ${database} TO ${role};
       GRANT USAGE ON SCHEMA schemata TO ${role}; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA schemata TO ${role};
       GRANT USAGE ON ALL SEQUENCES IN SCHEMA schemata TO ${role}`,
    );
    const deployer = new URL(url);
    deployer.username = role;
    deployer.password = 'deploy-pw';
    const cwd = makeProject({
      ...SCHEMAS,
      'data/002_items.sql': `${ITEMS}CREATE INDEX items_code_idx ON workspace.items (code);\nCREATE TABLE workspace.tags (id int, label varchar(8));\nCREATE INDEX tags_label_idx ON workspace.tags (label);\n`,
      'data/003_widen.sql': 'ALTER TABLE workspace.items ALTER COLUMN code TYPE varchar(32);\n',
      // Outside a transaction the snapshot before is the client's, the effects statement the same.
      'data/004_widen_tags.sql':
        'CREATE INDEX CONCURRENTLY tags_id_idx ON workspace.tags (id);\nALTER TABLE workspace.tags ALTER COLUMN label TYPE varchar(32);\n',
    });
    const applied = await migrate({
      cwd,
      env: single(deployer.toString()),
      sets: ['data'],
    });
    expect(applied.error).toBeUndefined();
    expect(await creditOf(url, ['index', 'workspace.items_code_idx'])).toEqual(['002_items.sql']);
    expect(await creditOf(url, ['index', 'workspace.tags_label_idx'])).toEqual(['002_items.sql']);
    expect(await creditOf(url, ['index', 'workspace.tags_id_idx'])).toEqual(['004_widen_tags.sql']);
  });
});

describe('DROP INDEX then CREATE INDEX of the same name in one later migration', () => {
  it("is that migration's index: validate names it, and repair re-creates it as that migration wrote it", async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      ...SCHEMAS,
      'data/002_items.sql': `${ITEMS}CREATE INDEX items_code_idx ON workspace.items (code);\n`,
      'data/003_reindex.sql':
        'DROP INDEX workspace.items_code_idx;\nCREATE INDEX items_code_idx ON workspace.items (code, id);\n',
    });
    expect((await migrate({ cwd, env: single(url), sets: ['data'] })).error).toBeUndefined();
    expect(await creditOf(url, ['index', 'workspace.items_code_idx'])).toEqual(['003_reindex.sql']);
    await dropRepairAndCheck(
      url,
      cwd,
      {
        files: {},
        rebuilt: [['index', 'workspace.items_code_idx']],
        drop: 'DROP INDEX workspace.items_code_idx',
        named: 'index workspace.items_code_idx (003_reindex.sql)',
      },
      // Run whole, its DROP INDEX would fail on the index that is missing: its CREATE alone runs again.
      '003_reindex.sql drops, without IF EXISTS, what is missing, so only what re-creates the missing objects runs again: line 2',
    );
    const [index] = await query<{ def: string }>(
      url,
      "SELECT indexdef AS def FROM pg_indexes WHERE schemaname = 'workspace' AND indexname = 'items_code_idx'",
    );
    expect(index!.def).toContain('(code, id)');
  });
});
