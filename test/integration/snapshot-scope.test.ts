import { describe, expect, it } from 'vitest';
import { migrate, validate } from '../../src/api.js';
import {
  BEFORE_RELATIONS,
  CATALOG_OBJECTS_SQL,
  namedObjectsSql,
  presentObjectsSql,
} from '../../src/catalog/listing.js';
import { FUNCTIONS } from '../../src/engine/functions.js';
import { SNAPSHOT_COLUMNS } from '../../src/engine/effects.js';
import {
  databaseName,
  freshDatabase,
  query,
  setOnDatabase,
  waitFor,
  roleWithoutFunctions,
} from '../support/db.js';
import { makeProject } from '../support/project.js';

/*
 * A migration's catalog snapshot covers the objects of the names it mentions
 * and their parts (model/snapshot.ts): what it makes without naming it
 * (constraint and index names PostgreSQL picks, owned sequences, a
 * partitioned table's indexes and columns on its partitions, indexes rebuilt
 * by a type change) must still be expected, and credited to it.
 */
const HISTORY: Record<string, string> = {
  'data/001_schemas.sql':
    'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
  'data/002_events.sql':
    'CREATE TABLE workspace.events (id bigserial, at date NOT NULL, kind text) PARTITION BY RANGE (at);\n' +
    "CREATE TABLE workspace.events_2025 PARTITION OF workspace.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');\n" +
    "CREATE TABLE workspace.events_2026 PARTITION OF workspace.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');\n",
  // Names only the parent: the partitions get the index and the column.
  'data/003_events_kind.sql':
    'CREATE INDEX ON workspace.events (kind);\nALTER TABLE workspace.events ADD COLUMN source text;\n',
  'data/004_accounts.sql':
    'CREATE TABLE reference.accounts (id serial PRIMARY KEY, code varchar(8) UNIQUE, owner int);\n',
  // The FK lands on a table named; the referenced one gains nothing of its own.
  'data/005_items.sql':
    'CREATE TABLE workspace.items (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, account_id int REFERENCES reference.accounts);\n',
  // A type change rebuilds the UNIQUE index under the same name; a rename changes a column's.
  'data/006_widen.sql':
    'ALTER TABLE reference.accounts ALTER COLUMN code TYPE varchar(32);\nALTER TABLE reference.accounts RENAME COLUMN owner TO owner_id;\n',
  'data/007_seed.sql':
    "INSERT INTO reference.accounts (code) VALUES ('a'), ('b');\nSELECT now();\n",
};

interface Row {
  kind: string;
  identity: string;
  file?: string;
}

const expected = (url: string) =>
  query<Row>(
    url,
    "SELECT kind, identity, file FROM schemata.objects WHERE set_name = 'data' ORDER BY kind, identity",
  );
const catalog = (url: string) =>
  query<Row>(
    url,
    `SELECT kind, identity FROM (${CATALOG_OBJECTS_SQL}) o WHERE o.schema_name IN ('workspace', 'reference') ORDER BY kind, identity`,
  );

async function applied(url: string, cwd: string, as = url) {
  const report = await migrate({ cwd, env: { PRIMARY_DATABASE_URL: as }, sets: ['data'] });
  expect(report.error?.message).toBeUndefined();
  const checked = await validate({ cwd, env: { PRIMARY_DATABASE_URL: url }, sets: ['data'] });
  expect(checked.sets[0]!.problems).toEqual([]);
}

describe('the catalog snapshot around each migration', () => {
  it('expects every object of the set, credited to the file that made it, though no file names most of them', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(HISTORY);
    await applied(url, cwd);
    const objects = await expected(url);
    expect(objects.map(({ kind, identity }) => ({ kind, identity }))).toEqual(await catalog(url));
    const fileOf = (kind: string, identity: string) =>
      objects.find((o) => o.kind === kind && o.identity === identity)?.file;
    expect(fileOf('index', 'workspace.events_2025_kind_idx')).toBe('003_events_kind.sql');
    expect(fileOf('column', 'workspace.events_2026.source')).toBe('003_events_kind.sql');
    expect(fileOf('sequence', 'workspace.events_id_seq')).toBe('002_events.sql');
    expect(fileOf('sequence', 'reference.accounts_id_seq')).toBe('004_accounts.sql');
    expect(fileOf('constraint', 'items_account_id_fkey on workspace.items')).toBe('005_items.sql');
    expect(fileOf('sequence', 'workspace.items_id_seq')).toBe('005_items.sql');
    // Rebuilt by the type change under a new OID, the same index: still 004's. Renamed: still 004's.
    expect(fileOf('index', 'reference.accounts_code_key')).toBe('004_accounts.sql');
    expect(fileOf('constraint', 'accounts_code_key on reference.accounts')).toBe(
      '004_accounts.sql',
    );
    expect(fileOf('column', 'reference.accounts.owner_id')).toBe('004_accounts.sql');
    expect(fileOf('column', 'reference.accounts.owner')).toBeUndefined();
    // The effects recorded in the event rows say the same.
    const [event] = await query<{ effects: { created: Row[] } }>(
      url,
      "SELECT effects FROM schemata.migrations WHERE file = '003_events_kind.sql'",
    );
    expect(event!.effects.created.map((o) => o.identity)).toContain(
      'workspace.events_2025_kind_idx',
    );
    // Dropped by hand, a part no file named is found missing, with its file.
    await query(url, 'ALTER TABLE workspace.items ALTER COLUMN id DROP IDENTITY');
    const report = await validate({ cwd, env: { PRIMARY_DATABASE_URL: url }, sets: ['data'] });
    expect(report.exitCode).toBe(3);
    expect(report.sets[0]!.problems[0]!.message).toContain(
      'sequence workspace.items_id_seq (005_items.sql)',
    );
  });

  it("runs each migration's snapshot and measurement through schemata's functions where the role may make them", async () => {
    const url = await freshDatabase();
    // A table there before the run: every migration is measured (DDL on a database that held none is not).
    await query(url, 'CREATE TABLE public.held (id int); INSERT INTO public.held VALUES (1)');
    await setOnDatabase(url, "track_functions = 'pl'");
    await applied(url, makeProject(HISTORY));
    // The server's own count of each function's calls, once the run's session has reported them. A lookup of
    // them by the wrong arguments finds none, and every batch carries the statements itself: no call at all.
    const called = async () =>
      query<{ name: string; calls: number }>(
        url,
        `SELECT regexp_replace(funcname, '_[0-9a-f]+$', '') AS name, calls::int AS calls FROM pg_catalog.pg_stat_user_functions
          WHERE schemaname = 'schemata' ORDER BY 1`,
      );
    const files = Object.keys(HISTORY).length;
    const counted = async () => new Map((await called()).map((c) => [c.name, c.calls]));
    await waitFor(async () => ((await counted()).get('record') ?? 0) >= files, 10000);
    const calls = await counted();
    // Every migration's measurement and record; the snapshot of each file that names what it reaches.
    for (const name of ['measure_before', 'measure_after', 'record'])
      expect(calls.get(name), name).toBe(files);
    expect(calls.get('snapshot')).toBeGreaterThan(0);
  });

  it("is the same where the role may not create schemata's functions (the statements go in each batch)", async () => {
    const url = await freshDatabase();
    // An owner made the tracking tables; the deploy role may write them and create in the database, not in schema schemata.
    const deployer = await roleWithoutFunctions(url, 'deployer');
    const cwd = makeProject(HISTORY);
    await applied(deployer, cwd);
    expect(
      (
        await query<{ fn: string | null }>(
          url,
          `SELECT to_regprocedure('${FUNCTIONS.snapshot}(text[])')::text AS fn`,
        )
      )[0]!.fn,
    ).toBeNull();
    expect((await expected(url)).map(({ kind, identity }) => ({ kind, identity }))).toEqual(
      await catalog(url),
    );
  });

  it('is the same where the functions are there but the role may not run them', async () => {
    const url = await freshDatabase();
    const role = `runner_${Math.random().toString(36).slice(2, 8)}`;
    const first = {
      'data/001_schemas.sql': HISTORY['data/001_schemas.sql']!,
      'data/002_events.sql': HISTORY['data/002_events.sql']!,
    };
    const cwd = makeProject(first);
    await applied(url, cwd);
    await query(
      url,
      `REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA schemata FROM PUBLIC;
       CREATE ROLE ${role} LOGIN PASSWORD 'run-pw'; GRANT USAGE, CREATE ON SCHEMA workspace TO ${role};
       GRANT USAGE ON SCHEMA schemata TO ${role}; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA schemata TO ${role};
       GRANT USAGE ON ALL SEQUENCES IN SCHEMA schemata TO ${role}`,
    );
    const runner = new URL(url);
    runner.username = role;
    runner.password = 'run-pw';
    const more = makeProject({
      ...first,
      'data/003_notes.sql':
        'CREATE TABLE workspace.notes (id serial PRIMARY KEY, body text UNIQUE);\n',
    });
    await applied(runner.toString(), more);
    expect((await expected(url)).map(({ kind, identity }) => ({ kind, identity }))).toEqual(
      await catalog(url),
    );
  });
});

/*
 * The snapshot function lists the schemas alone, by a few probes, where the
 * names are of nothing else yet (what a migration is about to make), and
 * otherwise runs the listing in groups, each of the functions, types,
 * domains' constraints and extensions only where a probe finds a name of its
 * kind. Each case below is a name that would break one of those shortcuts
 * if its probe were missing: a table's, an index's, a type's (an enum, a
 * composite type), a function's, a domain's with its constraint, an
 * extension's, and a relation held by the snapshot before.
 */
describe("the snapshot function's answer is the whole listing's", () => {
  const both = async (url: string, names: string[], before?: string) => {
    const [row] = await query<{ fast: Row[]; full: Row[] }>(
      url,
      `SELECT ${before === undefined ? '' : `pg_catalog.set_config('${BEFORE_RELATIONS}', $2, false), `}
              (SELECT COALESCE(pg_catalog.jsonb_agg(x), '[]') FROM ${FUNCTIONS.snapshot}($1::text[]) AS x(${SNAPSHOT_COLUMNS})) AS fast,
              (SELECT COALESCE(pg_catalog.jsonb_agg(o), '[]') FROM (${namedObjectsSql('$1::text[]')}) o) AS full`,
      before === undefined ? [names] : [names, before],
    );
    const sorted = (rows: Row[]) =>
      rows.map((r) => `${r.kind} ${r.identity}`).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return { fast: sorted(row!.fast), full: sorted(row!.full) };
  };

  it("is the whole listing's, whatever the names reach", async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      ...HISTORY,
      'data/008_more.sql':
        "CREATE TYPE workspace.mood AS ENUM ('ok');\nCREATE FUNCTION workspace.score(int) RETURNS int LANGUAGE sql AS 'SELECT $1';\n" +
        "CREATE TYPE workspace.pair AS (a int, b int);\nCREATE DOMAIN workspace.code AS text CONSTRAINT code_filled CHECK (VALUE <> '');\n" +
        'CREATE EXTENSION IF NOT EXISTS citext SCHEMA public;\n',
    });
    await applied(url, cwd);
    const cases: Array<[string[], string[]]> = [
      [['workspace', 'nothing_yet', 'nothing_yet_idx'], ['schema workspace']],
      [['nothing_yet'], []],
      [
        ['workspace', 'items'],
        ['schema workspace', 'table workspace.items'],
      ],
      [['items_pkey'], ['index workspace.items_pkey']],
      [['mood'], ['type workspace.mood']],
      [['score'], ['function workspace.score(integer)']],
      [['pair'], ['type workspace.pair']],
      [['code'], ['domain workspace.code', 'constraint code_filled on domain workspace.code']],
      [['citext'], ['extension citext']],
      [
        ['workspace', 'items', 'score', 'code'],
        ['table workspace.items', 'function workspace.score(integer)', 'domain workspace.code'],
      ],
    ];
    for (const [names, contains] of cases) {
      const { fast, full } = await both(url, names);
      expect(fast, names.join(',')).toEqual(full);
      for (const one of contains) expect(fast, names.join(',')).toContain(one);
    }
    // Names of nothing, but the snapshot before held a table: the table and its parts are listed again.
    const [{ oid } = { oid: 0 }] = await query<{ oid: number }>(
      url,
      "SELECT 'workspace.items'::regclass::oid AS oid",
    );
    const { fast, full } = await both(url, ['nothing_yet'], `{${oid}}`);
    expect(fast).toEqual(full);
    expect(fast).toContain('table workspace.items');
  });
});

/*
 * The checks for missing and extra objects compare the kinds, identities and
 * schemas of a listing without the parents of relations (presentObjectsSql):
 * the same objects as the whole listing, of every kind, whole or by schema.
 */
describe("the present objects the checks compare are the whole listing's", () => {
  it('lists every object of every kind the listing has, whole and by schema', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      ...HISTORY,
      'data/008_kinds.sql':
        "CREATE TYPE workspace.mood AS ENUM ('ok');\nCREATE FUNCTION workspace.score(int) RETURNS int LANGUAGE sql AS 'SELECT $1';\n" +
        'CREATE PROCEDURE reference.tidy() LANGUAGE sql AS $$SELECT 1$$;\n' +
        "CREATE TYPE workspace.pair AS (a int, b int);\nCREATE DOMAIN workspace.code AS text CONSTRAINT code_filled CHECK (VALUE <> '');\n" +
        'CREATE EXTENSION IF NOT EXISTS citext SCHEMA public;\n' +
        'CREATE VIEW workspace.item_view AS SELECT id FROM workspace.items;\n' +
        'CREATE MATERIALIZED VIEW reference.account_codes AS SELECT code FROM reference.accounts;\n' +
        'CREATE SEQUENCE reference.numbers;\nCREATE TABLE reference.child (extra int) INHERITS (reference.accounts);\n' +
        'CREATE FUNCTION workspace.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;\n' +
        'CREATE TRIGGER items_touch BEFORE INSERT ON workspace.items FOR EACH ROW EXECUTE FUNCTION workspace.touch();\n' +
        'ALTER TABLE workspace.items ENABLE ROW LEVEL SECURITY;\nCREATE POLICY items_all ON workspace.items USING (true);\n',
    });
    await applied(url, cwd);
    const rows = async (sql: string) =>
      (await query<Row & { schema_name: string }>(url, sql))
        .map((r) => `${r.kind} ${r.identity} in ${r.schema_name}`)
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const whole = await rows(
      `SELECT DISTINCT kind, identity, schema_name FROM (${CATALOG_OBJECTS_SQL}) o`,
    );
    for (const kind of [
      'schema',
      'table',
      'view',
      'materialized view',
      'sequence',
      'index',
      'column',
      'constraint',
      'trigger',
      'policy',
      'function',
      'procedure',
      'type',
      'domain',
      'extension',
    ])
      expect(
        whole.some((r) => r.startsWith(`${kind} `)),
        kind,
      ).toBe(true);
    expect(await rows(`SELECT DISTINCT * FROM (${presentObjectsSql()}) o`)).toEqual(whole);
    // By schema: the objects of those schemas, and the extensions (listed whatever their schema).
    expect(
      await rows(`SELECT DISTINCT * FROM (${presentObjectsSql("ARRAY['reference']::text[]")}) o`),
    ).toEqual(whole.filter((r) => r.endsWith(' in reference') || r.startsWith('extension ')));
  });
});

/*
 * A function's identity prints its argument types: renaming or moving a
 * table (its row type), a type or a domain renames the functions that take
 * it, or an array of it. The snapshot of the names a file mentions lists
 * those functions too (pg_depend), so the expected state follows them without
 * a snapshot of the whole catalog; one that only returns the type keeps its
 * identity.
 */
describe('renaming a type renames the functions that take it', () => {
  it('follows a table renamed and moved, an enum and a domain renamed, into the functions over them', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      'data/001_schemas.sql':
        'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
      'data/002_made.sql': [
        'CREATE TABLE workspace.items (id int);',
        "CREATE TYPE workspace.mood AS ENUM ('ok');",
        'CREATE DOMAIN workspace.code AS text;',
        'CREATE FUNCTION workspace.first(i workspace.items) RETURNS int LANGUAGE sql AS $$ SELECT i.id $$;',
        'CREATE FUNCTION reference.count_of(xs workspace.items[]) RETURNS int LANGUAGE sql AS $$ SELECT cardinality(xs) $$;',
        'CREATE FUNCTION reference.feel(m workspace.mood, c workspace.code) RETURNS text LANGUAGE sql AS $$ SELECT c $$;',
        "CREATE FUNCTION reference.cheer() RETURNS workspace.mood LANGUAGE sql AS $$ SELECT 'ok'::workspace.mood $$;",
        '',
      ].join('\n'),
      'data/003_renamed.sql':
        'ALTER TABLE workspace.items RENAME TO goods;\nALTER TYPE workspace.mood RENAME TO feeling;\nALTER DOMAIN workspace.code RENAME TO tag;\n',
      'data/004_moved.sql': 'ALTER TABLE workspace.goods SET SCHEMA reference;\n',
    });
    await applied(url, cwd);
    const functions = (await expected(url)).filter((r) => r.kind === 'function');
    expect(functions).toEqual([
      { kind: 'function', identity: 'reference.cheer()', file: '002_made.sql' },
      { kind: 'function', identity: 'reference.count_of(reference.goods[])', file: '002_made.sql' },
      {
        kind: 'function',
        identity: 'reference.feel(workspace.feeling, workspace.tag)',
        file: '002_made.sql',
      },
      { kind: 'function', identity: 'workspace.first(reference.goods)', file: '002_made.sql' },
    ]);
    // The expected state is the catalog's, function by function.
    const listed = (await catalog(url)).filter((r) => r.kind === 'function').map((r) => r.identity);
    expect(listed).toEqual(functions.map((f) => f.identity));
  });
});

/*
 * SPEC §4.2: one scope for the snapshot before a migration and after it. A
 * file that names only an index, a sequence or a partition reaches the table
 * through it; after the drop, the table must still be in the snapshot, or it
 * leaves the expected state with every part and a real loss goes unreported.
 */
describe('a migration that drops a part of a table keeps the table expected', () => {
  const base: Record<string, string> = {
    'data/001_schemas.sql':
      'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
    'data/002_tables.sql': [
      'CREATE TABLE workspace.items (id serial PRIMARY KEY, title text NOT NULL);',
      'CREATE INDEX items_title_idx ON workspace.items (title);',
      'CREATE TABLE workspace.events (id int, at date NOT NULL) PARTITION BY RANGE (at);',
      "CREATE TABLE workspace.events_2025 PARTITION OF workspace.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');",
      "CREATE TABLE workspace.events_2026 PARTITION OF workspace.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');",
      '',
    ].join('\n'),
  };
  it.each([
    ['DROP INDEX', 'DROP INDEX workspace.items_title_idx;\n', 'workspace.items'],
    [
      'DROP INDEX unqualified through SET search_path',
      'SET search_path = workspace;\nDROP INDEX items_title_idx;\n',
      'workspace.items',
    ],
    [
      'DROP INDEX CONCURRENTLY, outside a transaction',
      '-- schemata:no-transaction\nDROP INDEX CONCURRENTLY workspace.items_title_idx;\n',
      'workspace.items',
    ],
    [
      'ALTER SEQUENCE ... OWNED BY NONE',
      'ALTER SEQUENCE workspace.items_id_seq OWNED BY NONE;\n',
      'workspace.items',
    ],
    ['one partition dropped', 'DROP TABLE workspace.events_2025;\n', 'workspace.events_2026'],
  ])('%s', async (_name, sql, table) => {
    const url = await freshDatabase();
    const cwd = makeProject({ ...base, 'data/003_drop_part.sql': sql });
    await applied(url, cwd);
    const objects = await expected(url);
    expect(objects.map(({ kind, identity }) => ({ kind, identity }))).toEqual(await catalog(url));
    expect(objects.find((o) => o.kind === 'table' && o.identity === table)?.file).toBe(
      '002_tables.sql',
    );
    // A DBA drops the table: validation names it with the migration that made it.
    await query(url, `DROP TABLE ${table}`);
    const report = await validate({ cwd, env: { PRIMARY_DATABASE_URL: url }, sets: ['data'] });
    expect(report.exitCode).toBe(3);
    expect(report.sets[0]?.problems[0]?.message).toContain(`table ${table} (002_tables.sql)`);
  });
});

describe('types, domains and routines in the snapshot of the names a file mentions', () => {
  it('expects each, credited to the file that made it, beside the built-in types and functions of the same names', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      'data/001_schemas.sql':
        'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
      'data/002_kinds.sql':
        "CREATE TYPE workspace.mood AS ENUM ('happy', 'sad');\n" +
        'CREATE DOMAIN reference.code AS text CONSTRAINT code_short CHECK (length(VALUE) < 9);\n' +
        'CREATE TYPE reference.pair AS (a int, b int);\n' +
        'CREATE FUNCTION workspace.label(n integer) RETURNS text LANGUAGE sql AS $$ SELECT n::text $$;\n' +
        'CREATE PROCEDURE reference.tidy() LANGUAGE sql AS $$ SELECT 1 $$;\n',
      // An overload; `text` and `length` also name built-in types and functions.
      'data/003_label_text.sql':
        'CREATE FUNCTION workspace.label(s text) RETURNS text LANGUAGE sql AS $$ SELECT length(s)::text $$;\n',
    });
    await applied(url, cwd);
    const objects = await expected(url);
    expect(objects.map(({ kind, identity }) => ({ kind, identity }))).toEqual(await catalog(url));
    const fileOf = (kind: string, identity: string) =>
      objects.find((o) => o.kind === kind && o.identity === identity)?.file;
    expect(fileOf('type', 'workspace.mood')).toBe('002_kinds.sql');
    expect(fileOf('type', 'reference.pair')).toBe('002_kinds.sql');
    expect(fileOf('domain', 'reference.code')).toBe('002_kinds.sql');
    expect(fileOf('constraint', 'code_short on domain reference.code')).toBe('002_kinds.sql');
    expect(fileOf('function', 'workspace.label(integer)')).toBe('002_kinds.sql');
    expect(fileOf('procedure', 'reference.tidy()')).toBe('002_kinds.sql');
    expect(fileOf('function', 'workspace.label(text)')).toBe('003_label_text.sql');
  });
});

/*
 * A migration that changes rows only is recorded without listing the catalog
 * after it: the transaction's row counters show none of the listing's
 * catalogs written. Its event is the one the full record would write, and a
 * migration that changes the catalog beside rows still lists it. Only for a
 * role that may not turn the counters off itself: a superuser's file could,
 * around its DDL, so a superuser's migration is listed after it whenever it
 * wrote anything.
 */
describe('a migration that changes rows only', () => {
  it('is recorded with the effects the full record writes, without a second listing of the catalog', async () => {
    const url = await freshDatabase();
    await setOnDatabase(url, "track_functions = 'pl'");
    const role = `owner_${databaseName(url)}`;
    await query(
      url,
      `CREATE ROLE ${role} LOGIN PASSWORD 'owner-pw'; ALTER DATABASE ${databaseName(url)} OWNER TO ${role}`,
    );
    const owner = new URL(url);
    owner.username = role;
    owner.password = 'owner-pw';
    const as = owner.toString();
    const files: Record<string, string> = {
      'data/001_schemas.sql':
        'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
      'data/002_accounts.sql':
        'CREATE TABLE reference.accounts (id serial PRIMARY KEY, code text);\n',
    };
    await applied(url, makeProject(files), as);
    // The server's own count of the snapshot function's calls, once the run's session has reported them: at
    // least `atLeast`, and unchanged for a second (before PostgreSQL 15 a collector passes them on, every half
    // second).
    const calls = async (atLeast: number) => {
      let n = -1;
      let since = Date.now();
      await waitFor(async () => {
        const [row] = await query<{ n: number }>(
          url,
          `SELECT COALESCE(sum(calls), 0)::int AS n FROM pg_catalog.pg_stat_user_functions WHERE schemaname = 'schemata' AND funcname LIKE 'snapshot\\_%'`,
        );
        if (row!.n !== n) [n, since] = [row!.n, Date.now()];
        return n >= atLeast && Date.now() - since >= 1000;
      }, 10000);
      return n;
    };
    const before = await calls(1);
    // Each project below is the one before it and a file more.
    const seeded = {
      ...files,
      'data/003_seed.sql': "INSERT INTO reference.accounts (code) VALUES ('a'), ('b');\n",
      'data/004_seed_again.sql':
        "DO $$ BEGIN EXECUTE '' || 'INSERT INTO reference.accounts (code) VALUES (''c'')'; END $$;\n",
    };
    await applied(url, makeProject(seeded), as);
    // 003's listing before the file, none after it (004, a DO block of dynamic SQL, is read through the whole
    // catalog in its batch, not through the function).
    expect((await calls(before + 1)) - before).toBe(1);
    const events = await query<{ version: string; effects: Record<string, unknown> }>(
      url,
      "SELECT version, effects FROM schemata.migrations WHERE set_name = 'data' AND version IN ('3', '4') ORDER BY version",
    );
    expect(events.map((e) => e.effects)).toEqual([
      {
        created: [],
        dropped: [],
        renamed: [],
        rebuilt: [],
        rows: [{ table: 'reference.accounts', inserted: 2, updated: 0, deleted: 0 }],
        forced: null,
      },
      {
        created: [],
        dropped: [],
        renamed: [],
        rebuilt: [],
        rows: [{ table: 'reference.accounts', inserted: 1, updated: 0, deleted: 0 }],
        forced: null,
      },
    ]);
    // A change to the catalog beside rows is listed after the file, and expected of its migration.
    const middle = await calls(before + 1);
    const noted = {
      ...seeded,
      'data/005_note.sql':
        "ALTER TABLE reference.accounts ADD COLUMN note text;\nUPDATE reference.accounts SET note = 'x' WHERE code = 'a';\n",
    };
    await applied(url, makeProject(noted), as);
    expect((await calls(middle + 2)) - middle).toBe(2);
    const objects = await expected(url);
    expect(objects.find((o) => o.identity === 'reference.accounts.note')?.file).toBe(
      '005_note.sql',
    );
    expect(objects.map(({ kind, identity }) => ({ kind, identity }))).toEqual(await catalog(url));

    // The same kind of file run by a superuser is listed after it too.
    const late = await calls(middle + 2);
    await applied(
      url,
      makeProject({
        ...noted,
        'data/006_seed_more.sql': "INSERT INTO reference.accounts (code) VALUES ('d');\n",
      }),
    );
    expect((await calls(late + 2)) - late).toBe(2);
  });
});
