import { describe, expect, it } from 'vitest';
import type { MigrationFile } from '../../../src/config/discover.js';
import type { ExpectedObject, RowChange, TrackedMigration } from '../../../src/engine/tracking.js';
import {
  comesAlong,
  dropsAbsent,
  dropsMissing,
  identityParts,
  planRepair,
  replayOf,
  scopeRerun,
  withSettings,
} from '../../../src/model/repair.js';
import { operationsOfSql } from '../operations-helpers.js';
import type { Operation } from '../../../src/sql/operations.js';

const file = (version: string, checksum = `c${version}`): MigrationFile => ({
  version,
  name: `m${version}`,
  file: `00${version}_m${version}.sql`,
  path: `/p/00${version}_m${version}.sql`,
  checksum,
  rawChecksum: checksum,
  sql: '',
});
const row = (
  f: MigrationFile,
  state: TrackedMigration['state'] = 'applied',
  checksum = f.checksum,
): TrackedMigration => ({
  version: f.version,
  name: f.name,
  file: f.file,
  checksum,
  state,
  event: state === 'applied' ? 'applied' : state,
  appliedAt: new Date(0),
  eventId: null,
  durationMs: 1,
});
const F1 = file('1');
const F2 = file('2');
const F3 = file('3');
const expectation = (f: MigrationFile): ExpectedObject => ({
  kind: 'table',
  identity: 'x.t',
  schema: 'x',
  name: 't',
  parent: null,
  version: f.version,
  file: f.file,
});

describe('planRepair', () => {
  it('runs again, in version order, the migrations whose objects are missing and the dirty ones, with the pending ones', () => {
    const plan = {
      set: 'data',
      pending: [F3],
      problems: [
        { kind: 'mismatch' as const, message: 'm', hint: 'h' },
        { kind: 'dirty' as const, message: 'd', hint: 'h' },
      ],
    };
    const repair = planRepair(
      { files: [F1, F2, F3], tracked: [row(F1), row(F2, 'failed')], missing: [expectation(F1)] },
      plan,
    );
    expect(repair.rerun.map((f) => f.version)).toEqual(['1', '2']);
    expect(repair.plan.pending.map((f) => f.version)).toEqual(['1', '2', '3']);
    expect(repair.plan.problems).toEqual([]);
    expect(repair.notes).toEqual([
      '001_m1.sql runs again: objects it made are missing.',
      '002_m2.sql runs again: it is recorded as failed.',
    ]);
  });

  it('records a changed checksum when nothing of that migration is missing, and runs it again when something is', () => {
    const changed = file('2', 'new');
    const plan = {
      set: 'data',
      pending: [],
      problems: [{ kind: 'checksum' as const, message: 'c', hint: 'h' }],
    };
    expect(
      planRepair(
        { files: [F1, changed], tracked: [row(F1), row(changed, 'applied', 'old')], missing: [] },
        plan,
      ).rechecksum,
    ).toEqual([changed]);
    const again = planRepair(
      {
        files: [F1, changed],
        tracked: [row(F1), row(changed, 'applied', 'old')],
        missing: [expectation(changed)],
      },
      plan,
    );
    expect(again.rechecksum).toEqual([]);
    expect(again.rerun).toEqual([changed]);
  });

  it('keeps stopping on what it cannot fix: a dirty migration whose file is gone, an untracked database', () => {
    const plan = {
      set: 'data',
      pending: [],
      problems: [
        { kind: 'dirty' as const, message: 'd', hint: 'h' },
        { kind: 'untracked' as const, message: 'u', hint: 'h' },
      ],
    };
    const repair = planRepair(
      { files: [F1], tracked: [row(F1), row(F2, 'failed')], missing: [] },
      plan,
    );
    expect(repair.rerun).toEqual([]);
    expect(repair.plan.problems.map((p) => p.kind)).toEqual(['untracked', 'missing-file']);
    expect(repair.plan.problems[1]!.message).toContain(
      '--repair would run 002_m2.sql (version 2) again, but its file is gone',
    );
  });
});

describe('scopeRerun: the record of what a migration changed decides, the text only for migrations never measured', () => {
  const at = (line: number) => ({ line, column: 1 });
  const index: ExpectedObject = {
    kind: 'index',
    identity: 'w.items_by_price',
    schema: 'w',
    name: 'items_by_price',
    parent: 'w.items',
    version: '3',
    file: '003_x.sql',
  };
  const makesIndex: Operation = {
    kind: 'create',
    object: { kind: 'index', schema: 'w', name: 'items_by_price', table: 'items' },
    ifNotExists: false,
    at: at(2),
  };
  const calls: Operation = {
    kind: 'call',
    function: { kind: 'function', schema: 'w', name: 'to_cents' },
    at: at(1),
  };
  const statements = [
    { at: at(1), text: 'CALL w.to_cents()' },
    { at: at(2), text: 'CREATE INDEX items_by_price ON w.items (price)' },
  ];
  const scope = (
    operations: Operation[],
    recorded: RowChange[] | undefined,
    missing: ExpectedObject[] = [index],
    force = false,
    setMissing?: ExpectedObject[],
    dirty = false,
  ) =>
    scopeRerun({
      set: 'data',
      path: 'database/data/003_x.sql',
      operations,
      statements,
      missing,
      dirty,
      recorded,
      force,
      ...(setMissing ? { setMissing } : {}),
    });

  it.each([
    [
      'never measured, the text sees no row change: only the index',
      undefined,
      { kind: 'part', statements: [at(2)] },
    ],
    ['measured, no row changed: only the index', [], { kind: 'part', statements: [at(2)] }],
    [
      'measured, rows changed through the call: only the index',
      [{ table: 'w.items', inserted: 0, updated: 2, deleted: 0 }],
      { kind: 'part', statements: [at(2)], why: 'rows' },
    ],
  ])('%s', (_name, recorded, expected) => {
    expect(scope([calls, makesIndex], recorded)).toEqual(expected);
  });

  it('a migration recorded as stopped partway runs whole when it changed no rows, and stops when it did', () => {
    expect(scope([makesIndex], [], [], false, undefined, true)).toEqual({ kind: 'whole' });
    const stopped = scope(
      [calls, makesIndex],
      [{ table: 'w.items', inserted: 0, updated: 2, deleted: 0 }],
      [index],
      false,
      undefined,
      true,
    );
    expect(stopped.kind).toBe('stop');
    if (stopped.kind !== 'stop') return;
    expect(stopped.problem.message).toContain(
      'it is recorded as stopped partway, and repair cannot tell which of its statements ran',
    );
  });

  it('rows written into a table that is gone (itself or with its schema) are written into its new self: no row change', () => {
    const table: ExpectedObject = {
      kind: 'table',
      identity: 'w.codes',
      schema: 'w',
      name: 'codes',
      parent: null,
      version: '3',
      file: '003_x.sql',
    };
    const schema: ExpectedObject = {
      kind: 'schema',
      identity: 'w',
      schema: 'w',
      name: 'w',
      parent: null,
      version: '1',
      file: '001_s.sql',
    };
    const makesCodes: Operation = {
      kind: 'create',
      object: { kind: 'table', schema: 'w', name: 'codes' },
      ifNotExists: false,
      at: at(3),
    };
    const codes = [{ table: 'w.codes', inserted: 4, updated: 0, deleted: 0 }];
    expect(scope([calls, makesCodes], codes, [table])).toEqual({
      kind: 'part',
      statements: [at(3)],
    });
    expect(scope([calls, makesIndex], codes, [index], false, [schema, index])).toEqual({
      kind: 'part',
      statements: [at(2)],
    });
    expect(scope([calls, makesIndex], codes, [index])).toEqual({
      kind: 'part',
      statements: [at(2)],
      why: 'rows',
    });
  });

  it('--force runs it whole whatever was recorded', () => {
    expect(
      scope(
        [calls, makesIndex],
        [{ table: 'w.items', inserted: 0, updated: 2, deleted: 0 }],
        [index],
        true,
      ),
    ).toEqual({ kind: 'whole' });
  });

  it.each([
    [
      'CREATE TABLE ... (LIKE ... INCLUDING ALL) made it: that statement is named',
      'CREATE TABLE w.items (LIKE w.template INCLUDING ALL);',
      'index w.items_by_price came with database/data/003_x.sql:1 (CREATE TABLE w.items (LIKE w.template INCLUDING ALL)), which does not name it and cannot run again on w.items, still there, so repair cannot re-create it alone',
    ],
    [
      'its CREATE TABLE copies nothing, a DO block made it: no statement is blamed',
      "CREATE TABLE w.items (id int, price int);\nDO $$ BEGIN EXECUTE '' || 'CREATE INDEX items_by_price ON w.items (price)'; END $$;",
      'no statement of the file names index w.items_by_price (dynamic SQL or a function made it), so repair cannot re-create it alone',
    ],
  ])('an index of a table still there that no statement names, %s', (_name, sql, why) => {
    const operations = operationsOfSql(sql);
    const stopped = scopeRerun({
      set: 'data',
      path: 'database/data/003_x.sql',
      operations,
      statements: sql
        .split('\n')
        .map((text, i) => ({ at: { line: i + 1, column: 1 }, text: text.replace(/;$/, '') })),
      missing: [index],
      dirty: false,
      recorded: [],
      force: false,
    });
    expect(stopped.kind).toBe('stop');
    if (stopped.kind !== 'stop') return;
    // Whatever else it says (a DO block may change rows if run again), the cause names the statement or none.
    expect(stopped.problem.message).toMatch(
      /^Set "data": --repair would run database\/data\/003_x\.sql again, but /,
    );
    expect(stopped.problem.message).toContain(`; ${why}. Nothing was run.`);
  });

  it('rows changed where no statement of the text shows it, and nothing names the missing object: stops, quoting the record', () => {
    const stopped = scope([], [{ table: 'w.totals', inserted: 1, updated: 3, deleted: 0 }]);
    expect(stopped.kind).toBe('stop');
    if (stopped.kind !== 'stop') return;
    expect(stopped.problem.message).toBe(
      'Set "data": --repair would run database/data/003_x.sql again, but database/data/003_x.sql changed rows when it ran (1 row inserted into w.totals, 3 rows updated in w.totals), and running it twice would apply that change twice; no statement of the file names index w.items_by_price (dynamic SQL or a function made it), so repair cannot re-create it alone. Nothing was run.',
    );
    expect(stopped.problem.hint).toContain('schemata migrate data --repair --force');
  });

  it('USING that computes the values is a row change even unmeasured', () => {
    const alter: Operation = {
      kind: 'alter-type',
      column: { kind: 'column', schema: 'w', table: 'items', name: 'price' },
      type: { name: 'numeric', modifiers: [10, 2], array: false, computed: true },
      at: at(1),
    };
    expect(scope([alter, makesIndex], undefined)).toEqual({
      kind: 'part',
      statements: [at(2)],
      why: 'rows',
    });
  });
});

describe('identityParts', () => {
  it.each([
    ['workspace.items', ['workspace', 'items']],
    ['workspace."Post"', ['workspace', 'Post']],
    ['"my.schema"."a ""b"""', ['my.schema', 'a "b"']],
  ])('%s', (identity, parts) => {
    expect(identityParts(identity)).toEqual(parts);
  });
});

describe('replayOf', () => {
  const applied = (files: Record<string, string>) =>
    Object.entries(files).map(([version, sql]) => ({ version, operations: operationsOfSql(sql) }));
  const object = (
    kind: ExpectedObject['kind'],
    identity: string,
    version: string,
    parent: string | null = null,
  ): ExpectedObject => {
    const parts = identityParts(identity);
    return {
      kind,
      identity,
      schema: parts[0]!,
      name: parts[parts.length - 1]!,
      parent,
      version,
      file: `00${version}_x.sql`,
    };
  };

  it("gives a table made again what its file and later ones gave it (privileges, comments, owner, row security), under its name then; not another table's", () => {
    const history = applied({
      '2': "CREATE TABLE w.t (id int, c int);\nINSERT INTO w.log VALUES (1);\nGRANT SELECT ON w.t TO r;\nCOMMENT ON COLUMN w.t.c IS 'x';\nGRANT SELECT ON w.log TO r;\n",
      '3': "ALTER TABLE w.t RENAME TO u;\nCOMMENT ON TABLE w.u IS 'y';\nALTER TABLE w.u OWNER TO o, ENABLE ROW LEVEL SECURITY;\nCOMMENT ON COLUMN w.u.gone IS 'z';\n",
    });
    const table = object('table', 'w.u', '2');
    expect(Object.fromEntries(replayOf(history, [table]).statements)).toEqual({
      '2': [
        { line: 3, column: 1 },
        { line: 4, column: 1 },
      ],
      '3': [
        { line: 1, column: 1 },
        { line: 2, column: 1 },
        { line: 3, column: 1 },
      ],
    });
  });

  it('walks a renamed and moved table back to the name its CREATE gave it, naming each statement to run again', () => {
    const history = applied({
      '2': 'CREATE TABLE w.items (id int);\n',
      '3': 'SELECT 1;\nALTER TABLE w.items RENAME TO products;\n',
      '4': 'ALTER TABLE w.products SET SCHEMA r;\n',
    });
    const table = object('table', 'r.products', '2');
    const replay = replayOf(history, [table]);
    expect(replay.madeAs.get(table)).toMatchObject({ schema: 'w', name: 'items' });
    expect(Object.fromEntries(replay.statements)).toEqual({
      '3': [{ line: 2, column: 1 }],
      '4': [{ line: 1, column: 1 }],
    });
  });

  it('a function made again comes back with the body a later CREATE OR REPLACE gave it', () => {
    const history = applied({
      '3': 'CREATE FUNCTION w.normalise(raw citext) RETURNS citext LANGUAGE sql AS $$ SELECT raw $$;\n',
      '5': 'CREATE TABLE w.t (id int);\n',
      '9': 'CREATE OR REPLACE FUNCTION w.normalise(raw citext) RETURNS citext LANGUAGE sql AS $$ SELECT lower(raw)::citext $$;\n',
    });
    const fn: ExpectedObject = {
      kind: 'function',
      identity: 'w.normalise(public.citext)',
      schema: 'w',
      name: 'normalise',
      parent: null,
      version: '3',
      file: '003_x.sql',
    };
    expect(Object.fromEntries(replayOf(history, [fn]).statements)).toEqual({
      '9': [{ line: 1, column: 1 }],
    });
  });

  it('follows a column through a rename of its table and of itself', () => {
    const history = applied({
      '2': 'CREATE TABLE w.t (id int, name text);\nALTER TABLE w.t RENAME COLUMN name TO title;\n',
      '3': 'ALTER TABLE w.t RENAME TO u;\n',
    });
    const column = object('column', 'w.u.title', '2', 'w.u');
    expect(replayOf(history, [column]).madeAs.get(column)).toMatchObject({
      name: 'name',
      table: 't',
    });
  });

  it('replays a later DROP COLUMN of what the CREATE made, and of a column added later with its ADD COLUMN', () => {
    const history = applied({
      '2': 'CREATE TABLE w.t (id int, legacy text);\n',
      '3': 'ALTER TABLE w.t ADD COLUMN extra int;\nALTER TABLE w.t DROP COLUMN legacy;\nALTER TABLE w.t DROP COLUMN extra;\n',
    });
    const replay = replayOf(history, [object('table', 'w.t', '2')]);
    expect(Object.fromEntries(replay.statements)).toEqual({
      '3': [
        { line: 1, column: 1 },
        { line: 2, column: 1 },
        { line: 3, column: 1 },
      ],
    });
  });

  it('does not replay an ADD COLUMN of a table of the same name in another schema; follows the table through SET SCHEMA', () => {
    const history = applied({
      '2': 'CREATE TABLE w.t (id int);\nCREATE TABLE r.t (id int);\n',
      '3': 'ALTER TABLE r.t ADD COLUMN extra int;\nALTER TABLE w.t SET SCHEMA s;\n',
      '4': 'ALTER TABLE s.t ADD COLUMN note int;\nALTER TABLE w.t ADD COLUMN gone int;\n',
    });
    const replay = replayOf(history, [object('table', 's.t', '2')]);
    expect(Object.fromEntries(replay.statements)).toEqual({
      '3': [{ line: 2, column: 1 }],
      '4': [{ line: 1, column: 1 }],
    });
  });

  it('replays onto a table made again only what was done to it, by schema: qualified, or through the search_path the file set then', () => {
    const history = applied({
      '2': 'CREATE TABLE a.items (id int, legacy text, status text NOT NULL);\nCREATE TABLE b.items (id int, legacy text, status text NOT NULL);\n',
      '3': [
        'ALTER TABLE a.items DROP COLUMN legacy;',
        'ALTER TABLE a.items RENAME COLUMN status TO state;',
        'ALTER TABLE a.items ALTER COLUMN id TYPE bigint, ALTER COLUMN id SET DEFAULT 0;',
        "COMMENT ON TABLE a.items IS 'a';",
        'SET search_path = a, b;',
        'ALTER TABLE items ALTER COLUMN state DROP NOT NULL;',
        'SET search_path = b;',
        "COMMENT ON COLUMN items.status IS 'b';",
        '',
      ].join('\n'),
    });
    expect(
      Object.fromEntries(replayOf(history, [object('table', 'b.items', '2')]).statements),
    ).toEqual({
      '3': [{ line: 8, column: 1 }],
    });
    expect(
      Object.fromEntries(replayOf(history, [object('table', 'a.items', '2')]).statements),
    ).toEqual({
      '3': [1, 2, 3, 4, 6].map((line) => ({ line, column: 1 })),
    });
  });

  it("replays the ADD COLUMN of a column that a later ALTER TABLE drops while it adds one (Prisma's form)", () => {
    const history = applied({
      '2': 'CREATE TABLE w.t (id int);\n',
      '3': 'ALTER TABLE w.t ADD COLUMN extra int DEFAULT 0;\nALTER TABLE w.other ADD COLUMN extra int;\n',
      '4': 'ALTER TABLE w.t DROP COLUMN extra, ADD COLUMN note text;\n',
    });
    const replay = replayOf(history, [
      object('table', 'w.t', '2'),
      object('column', 'w.t.note', '4', 'w.t'),
    ]);
    expect(Object.fromEntries(replay.statements)).toEqual({
      '3': [{ line: 1, column: 1 }],
      '4': [{ line: 1, column: 1 }],
    });
  });

  it("replays later NOT NULL and DEFAULT changes of the columns the table has: its CREATE's, a later ADD COLUMN's, through a rename", () => {
    const history = applied({
      '2': 'CREATE TABLE w.t (id int, status text NOT NULL);\n',
      '3': "ALTER TABLE w.t ALTER COLUMN status DROP NOT NULL, ALTER COLUMN status SET DEFAULT 'new';\nALTER TABLE w.t ADD COLUMN rank int;\nALTER TABLE w.t ADD COLUMN gone int;\n",
      '4': 'ALTER TABLE w.t RENAME COLUMN status TO state;\nALTER TABLE w.t ALTER COLUMN state DROP DEFAULT;\n',
      '5': 'ALTER TABLE w.t ALTER COLUMN rank SET NOT NULL;\nALTER TABLE w.t ALTER COLUMN gone SET DEFAULT 1;\nALTER TABLE w.other ALTER COLUMN id DROP NOT NULL;\n',
    });
    const replay = replayOf(history, [
      object('table', 'w.t', '2'),
      object('column', 'w.t.rank', '3', 'w.t'),
    ]);
    expect(Object.fromEntries(replay.statements)).toEqual({
      '3': [
        { line: 1, column: 1 },
        { line: 3, column: 1 },
      ],
      '4': [
        { line: 1, column: 1 },
        { line: 2, column: 1 },
      ],
      '5': [
        { line: 1, column: 1 },
        { line: 2, column: 1 },
      ],
    });
  });

  it('replays a later ALTER COLUMN ... TYPE of a column the table made again has, USING or not', () => {
    const history = applied({
      '2': 'CREATE TABLE w.t (id int, price int);\nALTER TABLE w.t ALTER COLUMN price TYPE bigint;\n',
      '3': 'ALTER TABLE w.t ALTER COLUMN price TYPE numeric(12, 2) USING price / 100.0;\nALTER TABLE w.other ALTER COLUMN id TYPE bigint;\n',
    });
    const replay = replayOf(history, [object('table', 'w.t', '2')]);
    expect(Object.fromEntries(replay.statements)).toEqual({
      '2': [{ line: 2, column: 1 }],
      '3': [{ line: 1, column: 1 }],
    });
  });

  it('a constraint of the CREATE TABLE of a table still there is added as the table is now: no rename of it or its table runs again', () => {
    const history = applied({
      '2': 'CREATE TABLE w.t (id int, size int, CONSTRAINT t_size_check CHECK (size > 0));\n',
      '3': 'ALTER TABLE w.t RENAME COLUMN size TO headcount;\nALTER TABLE w.t RENAME CONSTRAINT t_size_check TO t_headcount_check;\nALTER TABLE w.t RENAME TO u;\n',
    });
    const check = object('constraint', 'w.t_headcount_check', '2', 'w.u');
    const replay = replayOf(history, [check]);
    expect(replay.statements.size).toBe(0);
    expect(replay.added.get(check)).toEqual({
      version: '2',
      at: { line: 1, column: 1 },
      as: 't_size_check',
      columns: new Map([['size', 'headcount']]),
    });
  });

  it('an index on a table still there, renamed since: made on the table and under the name they have now; no rename runs again', () => {
    const history = applied({
      '2': 'CREATE TABLE w.t (id int);\nCREATE INDEX t_idx ON w.t (id);\n',
      '3': 'ALTER INDEX w.t_idx RENAME TO t_id_idx;\nALTER TABLE w.t RENAME TO u;\nALTER TABLE w.u RENAME COLUMN id TO key;\n',
      '4': 'ALTER TABLE w.u SET SCHEMA r;\n',
    });
    const index = object('index', 'r.t_id_idx', '2', 'r.u');
    const replay = replayOf(history, [index]);
    expect(replay.statements.size).toBe(0);
    expect(replay.retargeted.get(index)).toEqual({
      version: '2',
      at: { line: 2, column: 1 },
      table: { schema: 'r', name: 'u' },
      columns: new Map([['id', 'key']]),
    });
  });

  it('an index on a table still there and unchanged runs as written', () => {
    const history = applied({
      '2': 'CREATE TABLE w.t (id int);\nCREATE INDEX t_idx ON w.t (id);\n',
    });
    expect(replayOf(history, [object('index', 'w.t_idx', '2', 'w.t')]).retargeted.size).toBe(0);
  });

  it("a NOT NULL constraint of a table still there: added from its column's definition or its SET NOT NULL, under its name then", () => {
    const history = applied({
      '2': 'CREATE TABLE w.t (id int NOT NULL, name text);\nALTER TABLE w.t ALTER COLUMN name SET NOT NULL;\n',
      '3': 'ALTER TABLE w.t RENAME TO u;\n',
    });
    const id = object('constraint', 't_id_not_null on w.u', '2', 'w.u');
    const name = object('constraint', 't_name_not_null on w.u', '2', 'w.u');
    Object.assign(id, { schema: 'w', name: 't_id_not_null' });
    Object.assign(name, { schema: 'w', name: 't_name_not_null' });
    const replay = replayOf(history, [id, name]);
    expect(replay.added.get(id)).toMatchObject({ at: { line: 1, column: 1 }, as: 't_id_not_null' });
    expect(replay.added.get(name)).toMatchObject({
      at: { line: 2, column: 1 },
      as: 't_name_not_null',
    });
  });

  it('leaves an object that was never renamed as it is, with nothing to replay', () => {
    const history = applied({
      '2': 'CREATE TABLE w.t (id int);\nCREATE INDEX t_idx ON w.t (id);\n',
      '3': 'ALTER TABLE w.other RENAME TO t2;\n',
    });
    const index = object('index', 'w.t_idx', '2', 'w.t');
    const replay = replayOf(history, [index]);
    expect(replay.madeAs.get(index)).toMatchObject({ name: 't_idx' });
    expect(replay.statements.size).toBe(0);
  });
});

describe('withSettings', () => {
  it('puts the SET search_path before the statements that run among them, not one after, nor one that calls', () => {
    const operations = operationsOfSql(
      "SET search_path TO w;\nSELECT set_config('search_path', 'w', false), w.bump();\nCREATE INDEX i ON t (id);\nSET search_path TO x;\n",
    );
    expect(withSettings(operations, [{ line: 3, column: 1 }])).toEqual([
      { line: 1, column: 1 },
      { line: 3, column: 1 },
    ]);
    expect(withSettings(operations, [])).toEqual([]);
  });

  it('puts SET ROLE and SET LOCAL before them too: who owns what they make, and their timeouts', () => {
    const operations = operationsOfSql(
      "SET ROLE app_owner;\nSET LOCAL lock_timeout = '4s';\nINSERT INTO w.log VALUES (1);\nCREATE TABLE w.t (id int);\nRESET ROLE;\n",
    );
    expect(withSettings(operations, [{ line: 4, column: 1 }])).toEqual([
      { line: 1, column: 1 },
      { line: 2, column: 1 },
      { line: 4, column: 1 },
    ]);
  });
});

describe('dropsMissing and comesAlong', () => {
  const index = (identity: string, parent: string): ExpectedObject => ({
    kind: 'index',
    identity,
    schema: identityParts(identity)[0]!,
    name: identityParts(identity)[1]!,
    parent,
    version: '2',
    file: '002_x.sql',
  });

  it('finds a DROP without IF EXISTS of what is missing: the file cannot run again whole', () => {
    const missing = [index('w.t_idx', 'w.t')];
    expect(
      dropsMissing(operationsOfSql('DROP INDEX w.t_idx;\nCREATE INDEX t_idx ON w.t (a);'), missing)
        ?.at,
    ).toEqual({ line: 1, column: 1 });
    expect(
      dropsMissing(operationsOfSql('DROP INDEX IF EXISTS w.t_idx;\nDROP INDEX w.other;'), missing),
    ).toBeUndefined();
  });

  it('finds a DROP without IF EXISTS of what is not there now, unless the file made it before (judged in file order)', () => {
    const ops = operationsOfSql(
      'DROP INDEX "Loan_memberId_idx";\nCREATE INDEX "Loan_memberId_status_idx" ON "Loan" ("memberId", status);',
    );
    // The file itself dropped Loan_memberId_idx when it ran: run whole again, it would fail there.
    expect(dropsAbsent(ops, new Set())?.at).toEqual({ line: 1, column: 1 });
    expect(
      dropsAbsent(
        operationsOfSql(
          'CREATE INDEX i ON t (a);\nDROP INDEX i;\nDROP INDEX IF EXISTS gone;\nDO $$ BEGIN DROP INDEX gone; EXCEPTION WHEN undefined_object THEN NULL; END $$;',
        ),
        new Set(),
      ),
    ).toBeUndefined();
  });

  it("a partition's index comes back with its partitioned table's", () => {
    const parent = index('w.events_kind_idx', 'w.events');
    const child = index('w.events_2025_kind_idx', 'w.events_2025');
    const alone = index('w.events_2026_note_idx', 'w.events_2026');
    const ancestors = new Map([
      ['w.events_2025', ['w.events']],
      ['w.events_2026', ['w.events_all']],
    ]);
    expect([...comesAlong([parent, child, alone], ancestors)]).toEqual([child]);
  });
});
