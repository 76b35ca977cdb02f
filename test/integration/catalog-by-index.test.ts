import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/api.js';
import { freshDatabase, query } from '../support/db.js';
import { makeProject } from '../support/project.js';

/*
 * What schemata runs around every migration (the claim, the snapshots, the
 * measurement, the record) reads the system catalogs by their indexes: a
 * read of a whole catalog would make every migration cost more as the
 * database grows. The plans are the server's own: auto_explain, loaded into
 * the run's session by its connection options, reports each statement's plan
 * (nested ones too) as a notice, which the run keeps with the migration.
 */

/** The system catalogs that grow with the database's objects, and schemata's own tables that grow with the history. */
const GROWING = new Set([
  'pg_class',
  'pg_type',
  'pg_attribute',
  'pg_attrdef',
  'pg_depend',
  'pg_constraint',
  'pg_proc',
  'pg_index',
  'pg_trigger',
  'pg_rewrite',
  'pg_inherits',
  'pg_policy',
  'pg_description',
  'pg_sequence',
  'objects',
  'migrations',
]);

/**
 * The reads of a whole growing table in a plan (auto_explain's text) that ran: a sequential scan, or an index
 * scan with no condition on the index. A branch the statement did not take reads "never executed".
 */
function wholeReads(plan: string): string[] {
  const lines = plan.split('\n');
  const reads: string[] = [];
  lines.forEach((line, i) => {
    const node = /(Seq Scan|Index Scan|Index Only Scan)(?: Backward)?(?: using \S+)? on (\S+)/.exec(
      line,
    );
    if (!node || !GROWING.has(node[2]!) || line.includes('never executed')) return;
    // The node's own detail lines, up to the next node.
    const detail: string[] = [];
    for (const next of lines.slice(i + 1)) {
      if (/->|^\s*(InitPlan|SubPlan|CTE)\b/.test(next)) break;
      detail.push(next);
    }
    if (node[1] === 'Seq Scan' || !detail.some((d) => d.includes('Index Cond:')))
      reads.push(line.trim());
  });
  return reads;
}

/*
 * The run's session as the test's connection options make it: auto_explain reports every plan with what ran,
 * and sequential scans are disabled, so that the planner reads a whole table only where no index can serve
 * (a table of a few hundred rows is cheaper to scan, and would hide a read that grows with the database).
 */
const REPORTED =
  '-c session_preload_libraries=auto_explain -c auto_explain.log_min_duration=0 -c auto_explain.log_analyze=on ' +
  '-c auto_explain.log_timing=off -c auto_explain.log_nested_statements=on -c client_min_messages=log';
const PLANS = '?options=' + encodeURIComponent(`${REPORTED} -c enable_seqscan=off`);

/** A plan's statement, for the failure message. */
const statementOf = (plan: string) =>
  /Query Text: ([^\n]{0,160})/.exec(plan)?.[1] ?? plan.slice(0, 160);

/**
 * Each migration's reads of a whole growing table, by file: none expected. A run's first measured migration and
 * those before it are left out: the session's first measurement lists every table, which the next ones carry on
 * from (engine/measure.ts), and on a database that held no table the DDL before it runs unmeasured.
 */
function wholeReadsOf(
  applied: ReadonlyArray<{ file: string; notices?: string[] }>,
): Record<string, string[]> {
  const found: Record<string, string[]> = {};
  const firstMeasured = applied.findIndex((m) =>
    (m.notices ?? []).some((n) => n.includes('measure_before')),
  );
  expect(firstMeasured).toBeGreaterThanOrEqual(0);
  for (const migration of applied.slice(firstMeasured + 1)) {
    const plans = (migration.notices ?? []).filter((n) => n.includes('Query Text:'));
    // The plans were there to read: the claim, the snapshots, the measurement and the record each have some.
    expect(plans.length, migration.file).toBeGreaterThan(10);
    const reads = plans.flatMap((p) => wholeReads(p).map((read) => `${read} in ${statementOf(p)}`));
    if (reads.length > 0) found[migration.file] = reads;
  }
  return found;
}

describe("a migration's bookkeeping reads the catalog by its indexes", () => {
  it('plans no read of a whole catalog or history table, building a fresh database and then on a large one', async () => {
    const url = await freshDatabase();
    // A fresh database: the session plans schemata's statements on a small catalog, and keeps those plans while
    // the run makes it grow (a hashed subplan over pg_class, planned there, read all of it in every migration).
    const history: Record<string, string> = {
      'data/001_schemas.sql':
        'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
      'data/002_items.sql':
        'CREATE TABLE workspace.items (id int PRIMARY KEY, label text);\n' +
        "INSERT INTO workspace.items SELECT i, 'item ' || i FROM generate_series(1, 50) i;\n" +
        'CREATE TABLE workspace.scratch (id int);\n' +
        'CREATE TYPE workspace.duo AS (a int, b int);\n',
    };
    for (let i = 0; i < 30; i++) {
      history[`data/${String(3 + i).padStart(3, '0')}_t${i}.sql`] =
        `CREATE TABLE reference.t${i} (id serial PRIMARY KEY, name text);\nCREATE INDEX t${i}_name ON reference.t${i} (name);\n` +
        (i % 5 === 0 ? `CREATE TYPE reference.pair_${i} AS (a int, b int);\n` : '');
    }
    const cwd = makeProject(history);
    const first = await migrate({
      cwd,
      env: { PRIMARY_DATABASE_URL: url + PLANS },
      sets: ['data'],
    });
    expect(first.error?.message).toBeUndefined();
    expect(first.sets[0]!.applied).toHaveLength(32);
    expect(wholeReadsOf(first.sets[0]!.applied)).toEqual({});

    // Then a catalog the size of a real database's, its statistics current.
    await query(
      url,
      `CREATE SCHEMA bulk;
       DO $$ BEGIN FOR i IN 1..1500 LOOP EXECUTE pg_catalog.format('CREATE TABLE bulk.b%s (id int PRIMARY KEY, v text)', i); END LOOP; END $$;`,
    );
    await query(url, 'ANALYZE');

    // Each shape of migration reaches other branches of the bookkeeping: made objects, renames (the expected
    // state follows them), a rewrite of a table holding rows (its storage listing changes), rows deleted and
    // written, drops, a function and a type by name, a table and a type renamed (with the functions over them).
    // (A file whose effects can reach objects it does not name, such as dynamic SQL, a call of a function or a
    // schema renamed, is snapshotted whole, by design: model/snapshot.ts.)
    const more: Record<string, string> = {
      'data/099_first.sql': "COMMENT ON SCHEMA workspace IS 'the first of the run';\n",
      'data/100_made.sql':
        'CREATE TABLE workspace.orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, item_id int REFERENCES workspace.items, note text);\n' +
        'CREATE INDEX orders_note ON workspace.orders (note);\n' +
        "INSERT INTO workspace.orders (item_id, note) VALUES (1, 'a'), (2, 'b');\n" +
        'CREATE TYPE workspace.pair AS (a int, b int);\n' +
        'CREATE FUNCTION workspace.total(n int) RETURNS int LANGUAGE sql AS $$ SELECT n $$;\n',
      'data/101_renamed.sql':
        'ALTER FUNCTION workspace.total(int) RENAME TO sum_of;\nALTER INDEX reference.t2_name RENAME TO t2_by_name;\n' +
        'ALTER TABLE reference.t4 RENAME COLUMN name TO title;\nALTER TABLE reference.t5 RENAME CONSTRAINT t5_pkey TO t5_key;\n' +
        'ALTER TABLE reference.t6 RENAME TO t6_renamed;\nALTER TYPE workspace.duo RENAME TO pair_of;\n',
      'data/102_rewritten.sql': 'ALTER TABLE workspace.items ALTER COLUMN id TYPE bigint;\n',
      'data/103_rows.sql':
        'DELETE FROM workspace.items WHERE id > 45;\nUPDATE workspace.items SET label = upper(label) WHERE id < 5;\n',
      'data/104_dropped.sql':
        'DROP TABLE workspace.scratch;\nDROP INDEX reference.t3_name;\nDROP TYPE workspace.pair;\n',
    };
    const later = makeProject({ ...history, ...more });
    const report = await migrate({
      cwd: later,
      env: { PRIMARY_DATABASE_URL: url + PLANS },
      sets: ['data'],
    });
    expect(report.error?.message).toBeUndefined();
    const applied = report.sets[0]!.applied;
    expect(applied.map((m) => m.version)).toEqual(['99', '100', '101', '102', '103', '104']);

    expect(wholeReadsOf(applied)).toEqual({});
  });
});

/** The largest "Rows Removed by Join Filter" of a plan: a join that compares each row with every row of the other side. */
const widestJoinFilter = (plan: string) =>
  Math.max(
    0,
    ...[...plan.matchAll(/Rows Removed by Join Filter: (\d+)/g)].map((m) => Number(m[1])),
  );

describe('a migration that reaches many relations', () => {
  it('lists a partitioned table of 200 partitions without comparing each relation with every other', async () => {
    const url = await freshDatabase();
    const partitions = Array.from(
      { length: 200 },
      (_, i) =>
        `CREATE TABLE workspace.events_${i} PARTITION OF workspace.events FOR VALUES FROM (${i * 10}) TO (${(i + 1) * 10});`,
    ).join('\n');
    const history = {
      'data/001_schemas.sql':
        'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
      'data/002_events.sql': `CREATE TABLE workspace.events (id int PRIMARY KEY, at date) PARTITION BY RANGE (id);\n${partitions}\n`,
    };
    expect(
      (
        await migrate({
          cwd: makeProject(history),
          env: { PRIMARY_DATABASE_URL: url },
          sets: ['data'],
        })
      ).ok,
    ).toBe(true);
    // ADD COLUMN reaches every partition: the snapshots before and after list the 200 with their parts (2,000 rows).
    const report = await migrate({
      cwd: makeProject({
        ...history,
        'data/003_note.sql': 'ALTER TABLE workspace.events ADD COLUMN note text;\n',
      }),
      env: { PRIMARY_DATABASE_URL: url + PLANS },
      sets: ['data'],
    });
    expect(report.error?.message).toBeUndefined();
    const plans = (report.sets[0]!.applied[0]!.notices ?? []).filter((n) =>
      n.includes('Query Text:'),
    );
    expect(plans.length).toBeGreaterThan(10);
    const widest = plans
      .map((p) => ({ removed: widestJoinFilter(p), statement: statementOf(p) }))
      .sort((a, b) => b.removed - a.removed)[0]!;
    // Linear: a few rows per relation at most. A nested loop of the 400 relations (tables and indexes) over
    // themselves removes 160,000.
    expect(widest.removed, widest.statement).toBeLessThan(4000);
  });
});

/**
 * The scans of schemata.objects that ran in a plan (auto_explain's text), and the rows they read: the rows each
 * returned, and those its filter removed, over its loops.
 */
function objectRowsRead(plan: string): { scans: number; read: number } {
  const lines = plan.split('\n');
  let read = 0;
  let scans = 0;
  lines.forEach((line, i) => {
    if (!/Scan(?: using \S+)? on objects\b/.test(line) || line.includes('Bitmap Index Scan'))
      return;
    const actual = /actual rows=([\d.]+) loops=(\d+)/.exec(line);
    if (!actual) return;
    let removed = 0;
    for (const next of lines.slice(i + 1)) {
      if (/->|^\s*(InitPlan|SubPlan|CTE)\b/.test(next)) break;
      const filtered = /Rows Removed by (?:Filter|Index Recheck): (\d+)/.exec(next);
      if (filtered) removed += Number(filtered[1]);
    }
    scans++;
    read += Number(actual[1]) * Number(actual[2]) + removed;
  });
  return { scans, read };
}

describe("the run's one transaction", () => {
  it("finds the expected state's rows a migration replaces by their index, where no statistics say how many there are", async () => {
    const url = await freshDatabase();
    // Every row of schemata.objects is the run's own, never analyzed: the session's plans are made while the
    // table is small, and kept while the run fills it.
    const history: Record<string, string> = {
      'data/001_schemas.sql':
        'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
    };
    for (let i = 0; i < 40; i++)
      history[`data/${String(2 + i).padStart(3, '0')}_t${i}.sql`] =
        `CREATE TABLE workspace.t${i} (id int PRIMARY KEY, a text, b text, c text);\n`;
    const report = await migrate({
      cwd: makeProject(history),
      env: {
        // The planner's own choices: sequential scans allowed, as in a user's session.
        PRIMARY_DATABASE_URL: url + '?options=' + encodeURIComponent(REPORTED),
      },
      sets: ['data'],
      singleTransaction: true,
    });
    expect(report.error?.message).toBeUndefined();
    const applied = report.sets[0]!.applied;
    expect(applied).toHaveLength(41);
    // Each migration makes six objects (a table, four columns, its primary key): its record reads about as many
    // of the stored rows, not every row the run stored before it (240 by the last).
    for (const m of applied.slice(-10)) {
      const scans = (m.notices ?? [])
        .filter((n) => n.includes('Query Text:'))
        .map(objectRowsRead)
        .filter((s) => s.scans > 0);
      // The record's statement scans the stored rows (the rows it replaces, renames, forgets) ...
      expect(scans.length, m.file).toBeGreaterThan(0);
      // ... and reads a few of them, not the whole table.
      expect(
        scans.reduce((sum, s) => sum + s.read, 0),
        m.file,
      ).toBeLessThan(40);
    }
  });
});
