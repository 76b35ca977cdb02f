import { beforeAll, describe, expect, it } from 'vitest';
import { type Classification, classify, type DestructiveStep, describeStep, qualified } from '../../../src/sql/classify.js';
import { loadParser } from '../../../src/sql/parse.js';
import { scan, parseFile, type Parser, type Statement } from '../../../src/sql/statements.js';

let parser: Parser;
beforeAll(async () => {
  parser = await loadParser();
});

function statements(sql: string): Statement[] {
  const parsed = parseFile(parser, sql);
  if (!parsed.ok) throw new Error(`expected ${JSON.stringify(sql)} to parse, got ${parsed.problem.message}`);
  return parsed.statements;
}

function classified(sql: string): Classification {
  return classify(statements(sql), (body) => scan(parser, body));
}

/** A destructive step without its statement: what the tables compare. */
function shape(step: DestructiveStep) {
  return {
    kind: step.kind,
    target: step.target,
    ...(step.column !== undefined ? { column: step.column } : {}),
    cascade: step.cascade,
    searchPath: step.searchPath,
  };
}

const rel = (name: string, schema?: string) => ({ relation: { schema, name } });

describe('classify: destructive statements', () => {
  it.each<[string, string, Array<ReturnType<typeof shape>>]>([
    ['DROP SCHEMA', 'DROP SCHEMA workspace;', [{ kind: 'drop-schema', target: { schema: 'workspace' }, cascade: false, searchPath: undefined }]],
    ['DROP SCHEMA IF EXISTS ... CASCADE', 'DROP SCHEMA IF EXISTS workspace CASCADE;', [{ kind: 'drop-schema', target: { schema: 'workspace' }, cascade: true, searchPath: undefined }]],
    [
      'DROP SCHEMA of several schemas',
      'DROP SCHEMA a, b, c CASCADE;',
      [
        { kind: 'drop-schema', target: { schema: 'a' }, cascade: true, searchPath: undefined },
        { kind: 'drop-schema', target: { schema: 'b' }, cascade: true, searchPath: undefined },
        { kind: 'drop-schema', target: { schema: 'c' }, cascade: true, searchPath: undefined },
      ],
    ],
    ['DROP TABLE qualified', 'DROP TABLE workspace.items;', [{ kind: 'drop-table', target: rel('items', 'workspace'), cascade: false, searchPath: undefined }]],
    ['DROP TABLE unqualified', 'DROP TABLE IF EXISTS items;', [{ kind: 'drop-table', target: rel('items'), cascade: false, searchPath: undefined }]],
    [
      'DROP TABLE of several tables, CASCADE',
      'DROP TABLE a.one, two, "Mixed Case".three CASCADE;',
      [
        { kind: 'drop-table', target: rel('one', 'a'), cascade: true, searchPath: undefined },
        { kind: 'drop-table', target: rel('two'), cascade: true, searchPath: undefined },
        { kind: 'drop-table', target: rel('three', 'Mixed Case'), cascade: true, searchPath: undefined },
      ],
    ],
    [
      'DROP MATERIALIZED VIEW',
      'DROP MATERIALIZED VIEW reporting.totals;',
      [{ kind: 'drop-materialized-view', target: rel('totals', 'reporting'), cascade: false, searchPath: undefined }],
    ],
    [
      'ALTER TABLE ... DROP COLUMN',
      'ALTER TABLE workspace.items DROP COLUMN note;',
      [{ kind: 'drop-column', target: rel('items', 'workspace'), column: 'note', cascade: false, searchPath: undefined }],
    ],
    [
      'ALTER TABLE with two DROP COLUMNs',
      'ALTER TABLE items DROP COLUMN IF EXISTS a, ADD COLUMN c int, DROP b;',
      [
        { kind: 'drop-column', target: rel('items'), column: 'a', cascade: false, searchPath: undefined },
        { kind: 'drop-column', target: rel('items'), column: 'b', cascade: false, searchPath: undefined },
      ],
    ],
    [
      'ALTER COLUMN ... TYPE',
      'ALTER TABLE workspace.items ALTER COLUMN price TYPE numeric(12, 2);',
      [{ kind: 'alter-column-type', target: rel('items', 'workspace'), column: 'price', cascade: false, searchPath: undefined }],
    ],
    [
      'ALTER COLUMN ... SET DATA TYPE',
      'ALTER TABLE items ALTER price SET DATA TYPE bigint USING price::bigint;',
      [{ kind: 'alter-column-type', target: rel('items'), column: 'price', cascade: false, searchPath: undefined }],
    ],
    ['TRUNCATE', 'TRUNCATE workspace.items;', [{ kind: 'truncate', target: rel('items', 'workspace'), cascade: false, searchPath: undefined }]],
    [
      'TRUNCATE of two tables with CASCADE',
      'TRUNCATE TABLE ONLY workspace.items, audit RESTART IDENTITY CASCADE;',
      [
        { kind: 'truncate', target: rel('items', 'workspace'), cascade: true, searchPath: undefined },
        { kind: 'truncate', target: rel('audit'), cascade: true, searchPath: undefined },
      ],
    ],
    ['DELETE without WHERE', 'DELETE FROM workspace.items;', [{ kind: 'delete-without-where', target: rel('items', 'workspace'), cascade: false, searchPath: undefined }]],
    ['DELETE without WHERE, with USING', 'DELETE FROM items USING other;', [{ kind: 'delete-without-where', target: rel('items'), cascade: false, searchPath: undefined }]],
    [
      'UPDATE without WHERE',
      "UPDATE workspace.items SET note = '';",
      [{ kind: 'update-without-where', target: rel('items', 'workspace'), cascade: false, searchPath: undefined }],
    ],
  ])('%s', (_what, sql, expected) => {
    const result = classified(sql);
    expect(result.destructive.map(shape)).toEqual(expected);
    for (const step of result.destructive) expect(step.statement.text).toBe(sql.replace(/;$/, ''));
  });

  it.each([
    ['DELETE with WHERE', 'DELETE FROM workspace.items WHERE id = 1;'],
    ['DELETE with WHERE true (still a WHERE)', 'DELETE FROM items WHERE true;'],
    ['UPDATE with WHERE', "UPDATE workspace.items SET note = '' WHERE note IS NULL;"],
    ['UPDATE ... FROM ... WHERE', 'UPDATE items i SET price = p.price FROM prices p WHERE p.id = i.id;'],
    ['DROP VIEW', 'DROP VIEW workspace.v;'],
    ['DROP INDEX', 'DROP INDEX workspace.items_idx;'],
    ['DROP FUNCTION', 'DROP FUNCTION workspace.f();'],
    ['ALTER TABLE ADD COLUMN', 'ALTER TABLE items ADD COLUMN IF NOT EXISTS note text;'],
    ['ALTER TABLE DROP CONSTRAINT', 'ALTER TABLE items DROP CONSTRAINT IF EXISTS items_check;'],
    ['ALTER COLUMN SET DEFAULT', 'ALTER TABLE items ALTER COLUMN note SET DEFAULT 1;'],
    ['INSERT', 'INSERT INTO items VALUES (1);'],
    ['a comment naming DROP TABLE', '-- DROP TABLE items;\nSELECT 1;'],
    ['a string naming DELETE', "SELECT 'DELETE FROM items';"],
  ])('%s is not destructive', (_what, sql) => {
    expect(classified(sql).destructive).toEqual([]);
  });

  it('keeps each step on its own statement, in file order', () => {
    const sql = 'CREATE TABLE IF NOT EXISTS a.t (id int);\nDROP TABLE a.old;\nDELETE FROM a.t;\n';
    const result = classified(sql);
    expect(result.destructive.map((s) => [s.kind, s.statement.at])).toEqual([
      ['drop-table', { line: 2, column: 1 }],
      ['delete-without-where', { line: 3, column: 1 }],
    ]);
  });

  // SPEC §5: "DELETE or UPDATE without WHERE". A data-modifying CTE is the usual
  // way to move rows (WITH moved AS (DELETE ... RETURNING *) INSERT ...).
  it.each([
    ['a DELETE in a CTE of an INSERT', 'WITH moved AS (DELETE FROM old.items RETURNING *) INSERT INTO workspace.items SELECT * FROM moved;', 'delete-without-where'],
    ['an UPDATE in a CTE of a SELECT', "WITH u AS (UPDATE old.items SET note = '' RETURNING id) SELECT count(*) FROM u;", 'update-without-where'],
  ])('%s without WHERE is destructive', (_what, sql, kind) => {
    expect(classified(sql).destructive.map(shape)).toEqual([{ kind, target: rel('items', 'old'), cascade: false, searchPath: undefined }]);
  });
});

describe('classify: search_path', () => {
  it('records the path of a preceding SET search_path on each step', () => {
    const result = classified('SET search_path TO a, b;\nDROP TABLE t;\nDROP TABLE x.u;\n');
    expect(result.destructive.map((s) => ['relation' in s.target ? qualified(s.target.relation) : s.target.schema, s.searchPath])).toEqual([
      ['t', ['a', 'b']],
      ['x.u', ['a', 'b']],
    ]);
  });

  it('takes the latest SET, and the = form', () => {
    const result = classified("SET search_path TO a;\nTRUNCATE t;\nSET search_path = 'c', d;\nTRUNCATE t;\n");
    expect(result.destructive.map((s) => s.searchPath)).toEqual([['a'], ['c', 'd']]);
  });

  it('is undefined before any SET', () => {
    const result = classified('DROP TABLE t;\nSET search_path TO a;\n');
    expect(result.destructive.map((s) => s.searchPath)).toEqual([undefined]);
  });

  it.each([
    ['SET search_path TO DEFAULT', 'SET search_path TO DEFAULT;'],
    ['SET search_path = DEFAULT', 'SET search_path = DEFAULT;'],
    ['RESET search_path', 'RESET search_path;'],
  ])('%s goes back to the connection path', (_what, reset) => {
    const result = classified(`SET search_path TO a, b;\nDELETE FROM t;\n${reset}\nDELETE FROM t;\n`);
    expect(result.destructive.map((s) => s.searchPath)).toEqual([['a', 'b'], undefined]);
  });

  it('ignores other settings', () => {
    const result = classified("SET search_path TO a;\nSET statement_timeout = '5s';\nRESET statement_timeout;\nDROP TABLE t;\n");
    expect(result.destructive.map((s) => s.searchPath)).toEqual([['a']]);
  });
});

describe('classify: statements that cannot run in a transaction', () => {
  it.each([
    ['CREATE INDEX CONCURRENTLY', 'CREATE INDEX CONCURRENTLY IF NOT EXISTS items_idx ON workspace.items (note);', 'CREATE INDEX CONCURRENTLY'],
    ['CREATE UNIQUE INDEX CONCURRENTLY', 'CREATE UNIQUE INDEX CONCURRENTLY items_u ON items (id);', 'CREATE INDEX CONCURRENTLY'],
    ['DROP INDEX CONCURRENTLY', 'DROP INDEX CONCURRENTLY IF EXISTS workspace.items_idx;', 'DROP INDEX CONCURRENTLY'],
    ['REINDEX INDEX ... CONCURRENTLY', 'REINDEX INDEX CONCURRENTLY workspace.items_idx;', 'REINDEX CONCURRENTLY'],
    ['REINDEX (CONCURRENTLY) TABLE', 'REINDEX (CONCURRENTLY) TABLE workspace.items;', 'REINDEX CONCURRENTLY'],
    ['REINDEX DATABASE', 'REINDEX DATABASE app;', 'REINDEX SYSTEM/DATABASE'],
    ['DETACH PARTITION ... CONCURRENTLY', 'ALTER TABLE workspace.events DETACH PARTITION workspace.events_2020 CONCURRENTLY;', 'ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY'],
    ['VACUUM', 'VACUUM workspace.items;', 'VACUUM'],
    ['VACUUM (ANALYZE)', 'VACUUM (ANALYZE) workspace.items;', 'VACUUM'],
    ['CREATE DATABASE', 'CREATE DATABASE other;', 'CREATE DATABASE'],
    ['DROP DATABASE', 'DROP DATABASE IF EXISTS other;', 'DROP DATABASE'],
    ['ALTER SYSTEM', "ALTER SYSTEM SET work_mem = '64MB';", 'ALTER SYSTEM'],
    ['CREATE TABLESPACE', "CREATE TABLESPACE fast LOCATION '/mnt/fast';", 'CREATE TABLESPACE'],
    ['DROP TABLESPACE', 'DROP TABLESPACE fast;', 'DROP TABLESPACE'],
  ])('%s', (_what, sql, reason) => {
    const result = classified(`SELECT 1;\n${sql}\n`);
    expect(result.nonTransactional.map((n) => [n.reason, n.statement.at])).toEqual([[reason, { line: 2, column: 1 }]]);
  });

  it.each([
    ['CREATE INDEX', 'CREATE INDEX IF NOT EXISTS items_idx ON workspace.items (note);'],
    ['DROP INDEX', 'DROP INDEX workspace.items_idx;'],
    ['REINDEX TABLE', 'REINDEX TABLE workspace.items;'],
    ['DETACH PARTITION', 'ALTER TABLE workspace.events DETACH PARTITION workspace.events_2020;'],
    ['ANALYZE', 'ANALYZE workspace.items;'],
    ['CREATE TABLE', 'CREATE TABLE t (id int);'],
    ['a comment naming CONCURRENTLY', '-- CREATE INDEX CONCURRENTLY i ON t (a);\nCREATE INDEX i ON t (a);'],
  ])('%s runs in a transaction', (_what, sql) => {
    expect(classified(sql).nonTransactional).toEqual([]);
  });
});

describe('classify: transaction control', () => {
  it.each([
    ['BEGIN', 'BEGIN;'],
    ['BEGIN TRANSACTION', 'BEGIN TRANSACTION;'],
    ['START TRANSACTION', 'START TRANSACTION ISOLATION LEVEL SERIALIZABLE;'],
    ['COMMIT', 'COMMIT;'],
    ['END', 'END;'],
  ])('%s is the file’s own transaction control', (_what, sql) => {
    const result = classified(`SELECT 1;\n${sql}\n`);
    expect(result.transactionControl.map((s) => [s.text, s.at])).toEqual([[sql.replace(/;$/, ''), { line: 2, column: 1 }]]);
  });

  it('lists every one in order, and not BEGIN inside a DO block', () => {
    const result = classified('BEGIN;\nDO $$ BEGIN PERFORM 1; END $$;\nCOMMIT;\n');
    expect(result.transactionControl.map((s) => s.text)).toEqual(['BEGIN', 'COMMIT']);
  });

  it('is empty without any', () => {
    expect(classified('SAVEPOINT s;\nSELECT 1;\nRELEASE SAVEPOINT s;').transactionControl).toEqual([]);
  });
});

describe('classify: creates', () => {
  it('lists schemas and tables in file order, with the schema as written', () => {
    const sql = [
      'CREATE SCHEMA IF NOT EXISTS workspace;',
      'CREATE TABLE IF NOT EXISTS workspace.items (id int);',
      'CREATE TABLE loose (id int);',
      'CREATE TABLE workspace.copy AS SELECT * FROM workspace.items;',
      'CREATE INDEX i ON workspace.items (id);',
      'CREATE VIEW workspace.v AS SELECT 1;',
    ].join('\n');
    const result = classified(sql);
    expect(result.creates.map((c) => ('schema' in c ? { schema: c.schema } : { relation: c.relation }))).toEqual([
      { schema: 'workspace' },
      { relation: { schema: 'workspace', name: 'items' } },
      { relation: { schema: undefined, name: 'loose' } },
      { relation: { schema: 'workspace', name: 'copy' } },
    ]);
    expect(result.creates.map((c) => c.statement.at.line)).toEqual([1, 2, 3, 4]);
  });

  it('gives an unqualified table the first schema of a SET search_path', () => {
    const result = classified('SET search_path TO app, public;\nCREATE TABLE items (id int);\nCREATE TABLE other.t (id int);\nRESET search_path;\nCREATE TABLE late (id int);');
    expect(result.creates.map((c) => ('relation' in c ? c.relation : c))).toEqual([
      { schema: 'app', name: 'items' },
      { schema: 'other', name: 't' },
      { schema: undefined, name: 'late' },
    ]);
  });
});

describe('classify: opaque bodies', () => {
  it.each([
    ['a DO block with EXECUTE', "DO $$\nBEGIN\n  EXECUTE 'DROP TABLE ' || 'x';\nEND\n$$;", 'the DO block runs dynamic SQL (EXECUTE), which data protection cannot check'],
    ['a DO block with EXECUTE format()', "DO $$ BEGIN EXECUTE format('TRUNCATE %I', 't'); END $$;", 'the DO block runs dynamic SQL (EXECUTE), which data protection cannot check'],
    ['a DO block with a static DELETE', 'DO $$\nBEGIN\n  DELETE FROM workspace.items;\nEND\n$$;', 'the DO block runs DELETE itself, which data protection does not check'],
    ['a DO block with TRUNCATE', 'DO $$ BEGIN TRUNCATE workspace.items; END $$;', 'the DO block runs TRUNCATE itself, which data protection does not check'],
    [
      'a DO block with ALTER TABLE ... DROP COLUMN',
      'DO $$ BEGIN IF true THEN ALTER TABLE workspace.items DROP COLUMN note; END IF; END $$;',
      'the DO block runs DROP itself, which data protection does not check',
    ],
    ['a DO block with LANGUAGE first', "DO LANGUAGE plpgsql $$ BEGIN UPDATE t SET a = 1; END $$;", 'the DO block runs UPDATE itself, which data protection does not check'],
    [
      'a plpgsql function that runs EXECUTE',
      "CREATE OR REPLACE FUNCTION workspace.purge(t text) RETURNS void LANGUAGE plpgsql AS $$\nBEGIN\n  EXECUTE format('DELETE FROM %I', t);\nEND\n$$;",
      'the function body runs dynamic SQL (EXECUTE), which data protection cannot check',
    ],
  ])('%s is opaque', (_what, sql, reason) => {
    const result = classified(`SELECT 1;\n${sql}\n`);
    expect(result.opaque.map((o) => [o.reason, o.statement.at])).toEqual([[reason, { line: 2, column: 1 }]]);
  });

  it.each([
    [
      'a DO block guarding ADD CONSTRAINT with IF NOT EXISTS',
      [
        'DO $$',
        'BEGIN',
        "  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'c' AND conrelid = 'a.t'::regclass) THEN",
        '    ALTER TABLE a.t ADD CONSTRAINT c CHECK (x > 0);',
        '  END IF;',
        'END',
        '$$;',
      ].join('\n'),
    ],
    ['a DO block with only PERFORM and RAISE', "DO $$ BEGIN PERFORM 1; RAISE NOTICE 'hi'; END $$;"],
    ['a DO block with INSERT', 'DO $$ BEGIN INSERT INTO a.t VALUES (1); END $$;'],
    ['a DO block whose strings and comments say EXECUTE', "DO $$\nBEGIN\n  -- EXECUTE nothing\n  /* EXECUTE */\n  RAISE NOTICE 'EXECUTE %', 'DELETE FROM t';\nEND\n$$;"],
    ['a DO block with EXECUTE in a nested dollar-quoted string', 'DO $do$ BEGIN RAISE NOTICE $msg$EXECUTE DROP TABLE x$msg$; END $do$;'],
    ['a plpgsql function with only an UPDATE', 'CREATE FUNCTION workspace.touch() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  UPDATE workspace.items SET seen = now();\n  RETURN NEW;\nEND\n$$;'],
    ['an SQL function with a DELETE', 'CREATE FUNCTION workspace.purge() RETURNS void LANGUAGE sql AS $$ DELETE FROM workspace.items $$;'],
    ['a function whose comment says EXECUTE', "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN -- EXECUTE\n RETURN 1; END $$;"],
    ['a SELECT that calls EXECUTE in a string', "SELECT 'EXECUTE';"],
  ])('%s is not opaque', (_what, sql) => {
    expect(classified(sql).opaque).toEqual([]);
  });

  // A foreign key added by a guarded DO block (the form lint recommends) is not
  // a DELETE: ON DELETE CASCADE is a clause of the constraint, not a statement.
  it('a guarded DO block adding a foreign key ON DELETE CASCADE is not opaque', () => {
    const sql = [
      'DO $$',
      'BEGIN',
      "  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'items_ws_fk') THEN",
      '    ALTER TABLE workspace.items ADD CONSTRAINT items_ws_fk',
      '      FOREIGN KEY (workspace_id) REFERENCES workspace.workspaces (id) ON DELETE CASCADE ON UPDATE CASCADE;',
      '  END IF;',
      'END',
      '$$;',
    ].join('\n');
    expect(classified(sql).opaque).toEqual([]);
  });

  // SPEC §5 lists ALTER ... TYPE on a column as destructive; inside a DO block
  // data protection cannot resolve it, so it must at least be a warning.
  it('a DO block that changes a column type is opaque', () => {
    const result = classified('DO $$ BEGIN ALTER TABLE workspace.items ALTER COLUMN price TYPE bigint; END $$;');
    expect(result.opaque).toHaveLength(1);
    expect(result.opaque[0]!.reason).toBe('the DO block runs ALTER COLUMN ... TYPE itself, which data protection does not check');
  });
});

describe('describeStep', () => {
  it.each([
    ['DROP SCHEMA workspace;', 'DROP SCHEMA workspace'],
    ['DROP SCHEMA workspace CASCADE;', 'DROP SCHEMA workspace CASCADE'],
    ['DROP TABLE workspace.items;', 'DROP TABLE workspace.items'],
    ['DROP TABLE items CASCADE;', 'DROP TABLE items CASCADE'],
    ['DROP MATERIALIZED VIEW reporting.totals;', 'DROP MATERIALIZED VIEW reporting.totals'],
    ['ALTER TABLE workspace.items DROP COLUMN note;', 'ALTER TABLE workspace.items DROP COLUMN note'],
    ['ALTER TABLE items ALTER COLUMN price TYPE bigint;', 'ALTER TABLE items ALTER COLUMN price TYPE'],
    ['TRUNCATE workspace.items;', 'TRUNCATE workspace.items'],
    ['TRUNCATE workspace.items CASCADE;', 'TRUNCATE workspace.items CASCADE'],
    ['DELETE FROM workspace.items;', 'DELETE FROM workspace.items without WHERE'],
    ["UPDATE items SET note = '';", 'UPDATE items without WHERE'],
  ])('%s → %s', (sql, expected) => {
    const [step, ...rest] = classified(sql).destructive;
    expect(rest).toEqual([]);
    expect(describeStep(step!)).toBe(expected);
  });
});
