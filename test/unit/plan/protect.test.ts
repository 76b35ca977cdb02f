import { beforeAll, describe, expect, it } from 'vitest';
import type { Lookup, LookupFacts } from '../../../src/db/protection.js';
import { judgeMigration, lookupsFor } from '../../../src/plan/protect.js';
import { type Classification, classify, type DestructiveStep } from '../../../src/sql/classify.js';
import { loadParser } from '../../../src/sql/parse.js';
import { scan, parseFile, type Parser, type Statement } from '../../../src/sql/statements.js';

let parser: Parser;
beforeAll(async () => {
  parser = await loadParser();
});

function classified(sql: string): Classification {
  const parsed = parseFile(parser, sql);
  if (!parsed.ok) throw new Error(`expected ${JSON.stringify(sql)} to parse, got ${parsed.problem.message}`);
  return classify(parsed.statements, (body) => scan(parser, body));
}

type Catalog = Record<string, LookupFacts>;

const key = (l: { schema: string; name?: string | undefined }) => (l.name ? `${l.schema}.${l.name}` : l.schema);

/** The catalog's answer for each lookup, by `schema` or `schema.table`; what it does not name does not exist. */
function factsFor(lookups: readonly Lookup[], catalog: Catalog): Map<number, LookupFacts> {
  return new Map(lookups.map((l) => [l.id, catalog[key(l)] ?? { exists: false, holders: [] }]));
}

const rows = (...holders: string[]): LookupFacts => ({ exists: true, holders });
const empty: LookupFacts = { exists: true, holders: [] };

interface Options {
  catalog?: Catalog;
  defaultPath?: string[];
  created?: Set<string>;
  force?: boolean;
  createdWins?: boolean;
}

function judge(source: string | Pick<Classification, 'destructive' | 'creates'>, options: Options = {}) {
  const classification = typeof source === 'string' ? classified(source) : source;
  const looked = lookupsFor(classification, options.defaultPath ?? ['public']);
  const created = options.created ?? new Set<string>();
  const judgements = judgeMigration(classification, looked, factsFor(looked.lookups, options.catalog ?? {}), created, {
    force: options.force ?? false,
    createdWins: options.createdWins ?? false,
  });
  return { judgements, created, looked };
}

/** The parts of a judgement most tests compare. */
const brief = (j: { verdict: string; target: string; step: string; reason: string }) => ({ verdict: j.verdict, target: j.target, step: j.step, reason: j.reason });

function statement(start: number, text: string, line: number): Statement {
  return { node: {} as Statement['node'], start, end: start + text.length, text, at: { line, column: 1 } };
}

describe('lookupsFor', () => {
  it('asks for the creations first, then each destructive target, with ids in order', () => {
    const sql = [
      'CREATE SCHEMA IF NOT EXISTS s;',
      'CREATE TABLE IF NOT EXISTS s.t (id int);',
      'CREATE TABLE loose (id int);',
      'DROP SCHEMA old CASCADE;',
      'DROP TABLE x.t;',
      'DROP TABLE x.u CASCADE;',
      'TRUNCATE x.v CASCADE;',
      'DROP MATERIALIZED VIEW x.mv CASCADE;',
      'DELETE FROM x.w;',
    ].join('\n');
    const { lookups, candidates, created } = lookupsFor(classified(sql), ['app', 'public']);
    expect(lookups).toEqual([
      { id: 0, schema: 's', name: undefined, mode: 'schema' },
      { id: 1, schema: 's', name: 't', mode: 'relation' },
      { id: 2, schema: 'app', name: 'loose', mode: 'relation' },
      { id: 3, schema: 'old', mode: 'schema' },
      { id: 4, schema: 'x', name: 't', mode: 'relation' },
      { id: 5, schema: 'x', name: 'u', mode: 'drop-cascade' },
      { id: 6, schema: 'x', name: 'v', mode: 'truncate-cascade' },
      { id: 7, schema: 'x', name: 'mv', mode: 'drop-cascade' },
      { id: 8, schema: 'x', name: 'w', mode: 'relation' },
    ]);
    expect(created).toEqual([
      { id: 0, schema: 's', name: undefined },
      { id: 1, schema: 's', name: 't' },
      { id: 2, schema: 'app', name: 'loose' },
    ]);
    expect(candidates.map((list) => list.map((c) => c.id))).toEqual([[3], [4], [5], [6], [7], [8]]);
  });

  it('looks an unqualified name up in every schema of the SET search_path, in order', () => {
    const { lookups, candidates } = lookupsFor(classified('SET search_path TO a, b, c;\nDROP TABLE t;'), ['public']);
    expect(lookups).toEqual([
      { id: 0, schema: 'a', name: 't', mode: 'relation' },
      { id: 1, schema: 'b', name: 't', mode: 'relation' },
      { id: 2, schema: 'c', name: 't', mode: 'relation' },
    ]);
    expect(candidates).toEqual([
      [
        { id: 0, schema: 'a', name: 't' },
        { id: 1, schema: 'b', name: 't' },
        { id: 2, schema: 'c', name: 't' },
      ],
    ]);
  });

  it('uses the default path without a SET search_path, and only the named schema for a qualified name', () => {
    const { lookups } = lookupsFor(classified('TRUNCATE t;\nTRUNCATE q.t;'), ['app', 'public']);
    expect(lookups.map((l) => [l.id, key(l)])).toEqual([
      [0, 'app.t'],
      [1, 'public.t'],
      [2, 'q.t'],
    ]);
  });

  it("puts an unqualified creation in 'public' when the default path is empty", () => {
    expect(lookupsFor(classified('CREATE TABLE t (id int);'), []).created).toEqual([{ id: 0, schema: 'public', name: 't' }]);
  });

  it('asks nothing of a migration that neither creates nor destroys', () => {
    expect(lookupsFor(classified('INSERT INTO t VALUES (1);\nDELETE FROM t WHERE id = 1;'), ['public'])).toEqual({ lookups: [], candidates: [], created: [] });
  });
});

describe('judgeMigration: verdicts', () => {
  it('refuses a step whose target holds rows', () => {
    const { judgements } = judge('SELECT 1;\nDROP TABLE workspace.items;', { catalog: { 'workspace.items': rows('workspace.items') } });
    expect(judgements).toEqual([
      {
        kind: 'drop-table',
        at: { line: 2, column: 1 },
        step: 'DROP TABLE workspace.items',
        statement: 'DROP TABLE workspace.items',
        target: 'workspace.items',
        verdict: 'refused',
        holders: ['workspace.items'],
        reason: 'workspace.items holds data',
      },
    ]);
  });

  it('names every holder of a dropped schema', () => {
    const { judgements } = judge('DROP SCHEMA workspace CASCADE;', { catalog: { workspace: rows('workspace.a', 'workspace.b') } });
    expect(judgements.map((j) => ({ ...brief(j), holders: j.holders }))).toEqual([
      { verdict: 'refused', target: 'workspace', step: 'DROP SCHEMA workspace CASCADE', reason: 'workspace.a, workspace.b hold data', holders: ['workspace.a', 'workspace.b'] },
    ]);
  });

  it('forces a refused step with force', () => {
    const { judgements } = judge('TRUNCATE workspace.items CASCADE;', { catalog: { 'workspace.items': rows('workspace.items', 'workspace.lines') }, force: true });
    expect(judgements.map((j) => ({ ...brief(j), holders: j.holders }))).toEqual([
      { verdict: 'forced', target: 'workspace.items', step: 'TRUNCATE workspace.items CASCADE', reason: 'workspace.items, workspace.lines hold data', holders: ['workspace.items', 'workspace.lines'] },
    ]);
  });

  it('does not turn an allowed step into a forced one', () => {
    const { judgements } = judge('DROP TABLE workspace.items;', { catalog: { 'workspace.items': empty }, force: true });
    expect(judgements.map((j) => j.verdict)).toEqual(['allowed']);
  });

  it.each([
    ['DROP TABLE', 'DROP TABLE a.t;', 'DROP TABLE a.t'],
    ['DROP SCHEMA', 'DROP SCHEMA a;', 'DROP SCHEMA a'],
    ['ALTER COLUMN TYPE', 'ALTER TABLE a.t ALTER COLUMN c TYPE int;', 'ALTER TABLE a.t ALTER COLUMN c TYPE'],
    ['DELETE without WHERE', 'DELETE FROM a.t;', 'DELETE FROM a.t without WHERE'],
  ])("allows %s on a target that exists but holds no rows ('holds no rows')", (_what, sql, step) => {
    const { judgements } = judge(sql, { catalog: { a: empty, 'a.t': empty } });
    expect(judgements.map((j) => ({ ...brief(j), holders: j.holders }))).toEqual([{ verdict: 'allowed', target: sql.startsWith('DROP SCHEMA') ? 'a' : 'a.t', step, reason: 'holds no rows', holders: [] }]);
  });

  it.each([
    // The target as written: a qualified name keeps its schema (it is what the step names).
    ['a qualified table', 'DROP TABLE IF EXISTS a.t;', 'a.t', 'DROP TABLE a.t'],
    ['an unqualified table', 'DROP TABLE IF EXISTS t;', 't', 'DROP TABLE t'],
    ['a schema', 'DROP SCHEMA IF EXISTS a CASCADE;', 'a', 'DROP SCHEMA a CASCADE'],
  ])("allows dropping %s that does not exist ('does not exist')", (_what, sql, target, step) => {
    const { judgements } = judge(sql, { catalog: { other: rows('other.t') } });
    expect(judgements.map(brief)).toEqual([{ verdict: 'allowed', target, step, reason: 'does not exist, so holds no data' }]);
  });

  it('judges every step in file order', () => {
    const sql = 'DROP TABLE a.one;\nDROP TABLE a.two;\nDELETE FROM a.three;\n';
    const { judgements } = judge(sql, { catalog: { 'a.one': empty, 'a.two': rows('a.two') } });
    expect(judgements.map((j) => [j.at.line, j.verdict, j.reason])).toEqual([
      [1, 'allowed', 'holds no rows'],
      [2, 'refused', 'a.two holds data'],
      [3, 'allowed', 'does not exist, so holds no data'],
    ]);
  });

  it.each([
    ['DROP TABLE of three tables', 'DROP TABLE a.one, a.two, a.three;', ['DROP TABLE a.one', 'DROP TABLE a.two', 'DROP TABLE a.three']],
    ['TRUNCATE of two tables', 'SELECT 1;\nTRUNCATE a.one, a.two;', ['TRUNCATE a.one', 'TRUNCATE a.two']],
    ['DROP SCHEMA of two schemas', 'DROP SCHEMA x, y;', ['DROP SCHEMA x', 'DROP SCHEMA y']],
    ['two DROP COLUMNs', 'ALTER TABLE a.one DROP COLUMN b, DROP COLUMN c;', ['ALTER TABLE a.one DROP COLUMN b', 'ALTER TABLE a.one DROP COLUMN c']],
  ])('keeps the steps of one statement (%s) in file order', (_what, sql, steps) => {
    const catalog = { 'a.one': rows('a.one'), 'a.two': rows('a.two'), 'a.three': rows('a.three'), x: rows('x.t'), y: rows('y.t') };
    expect(judge(sql, { catalog }).judgements.map((j) => j.step)).toEqual(steps);
  });
});

describe('judgeMigration: unqualified names', () => {
  it('resolves through the SET search_path: the first schema that has it wins', () => {
    const sql = 'SET search_path TO a, b, c;\nDROP TABLE t;';
    expect(judge(sql, { catalog: { 'b.t': rows('b.t'), 'c.t': empty } }).judgements.map(brief)).toEqual([
      { verdict: 'refused', target: 'b.t', step: 'DROP TABLE b.t', reason: 'b.t holds data' },
    ]);
    expect(judge(sql, { catalog: { 'a.t': empty, 'b.t': rows('b.t') } }).judgements.map(brief)).toEqual([
      { verdict: 'allowed', target: 'a.t', step: 'DROP TABLE a.t', reason: 'holds no rows' },
    ]);
  });

  it('resolves through the default path when the file sets none', () => {
    const options = { defaultPath: ['app', 'public'], catalog: { 'public.t': rows('public.t'), 'other.t': empty } };
    expect(judge('DELETE FROM t;', options).judgements.map(brief)).toEqual([
      { verdict: 'refused', target: 'public.t', step: 'DELETE FROM public.t without WHERE', reason: 'public.t holds data' },
    ]);
    expect(judge('DELETE FROM t;', { ...options, catalog: { ...options.catalog, 'app.t': empty } }).judgements.map(brief)).toEqual([
      { verdict: 'allowed', target: 'app.t', step: 'DELETE FROM app.t without WHERE', reason: 'holds no rows' },
    ]);
  });

  it('goes back to the default path after RESET search_path', () => {
    const sql = 'SET search_path TO a;\nDROP TABLE t;\nRESET search_path;\nDROP TABLE t;';
    const { judgements } = judge(sql, { defaultPath: ['public'], catalog: { 'a.t': empty, 'public.t': rows('public.t') } });
    expect(judgements.map((j) => [j.target, j.verdict])).toEqual([
      ['a.t', 'allowed'],
      ['public.t', 'refused'],
    ]);
  });

  it('takes a name created earlier in the run in an earlier schema of the path before a later one that holds rows', () => {
    const { judgements } = judge('SET search_path TO a, b;\nTRUNCATE t;', { created: new Set(['a.t']), catalog: { 'b.t': rows('b.t') } });
    expect(judgements.map(brief)).toEqual([{ verdict: 'allowed', target: 'a.t', step: 'TRUNCATE a.t', reason: 'created earlier in this run, so empty' }]);
  });

  it('takes a table that holds rows in an earlier schema of the path before a later created one', () => {
    const { judgements } = judge('SET search_path TO a, b;\nTRUNCATE t;', { created: new Set(['b.t']), catalog: { 'a.t': rows('a.t') } });
    expect(judgements.map(brief)).toEqual([{ verdict: 'refused', target: 'a.t', step: 'TRUNCATE a.t', reason: 'a.t holds data' }]);
  });
});

describe('judgeMigration: what the run creates', () => {
  it.each([
    ['a table created earlier in the file', 'CREATE TABLE IF NOT EXISTS a.t (id int);\nDROP TABLE a.t;', 'a.t', 'DROP TABLE a.t'],
    ['a schema created earlier in the file', 'CREATE SCHEMA IF NOT EXISTS a;\nDROP SCHEMA a CASCADE;', 'a', 'DROP SCHEMA a CASCADE'],
    ['a table created by CREATE TABLE AS', 'CREATE TABLE a.t AS SELECT 1 AS x;\nDELETE FROM a.t;', 'a.t', 'DELETE FROM a.t without WHERE'],
    ['an unqualified table created after SET search_path', 'SET search_path TO a, b;\nCREATE TABLE t (id int);\nDROP TABLE t;', 'a.t', 'DROP TABLE a.t'],
    ['an unqualified table created in the default path', 'CREATE TABLE t (id int);\nUPDATE t SET id = 1;', 'app.t', 'UPDATE app.t without WHERE'],
  ])('%s that did not exist is empty', (_what, sql, target, step) => {
    const { judgements } = judge(sql, { defaultPath: ['app', 'public'], catalog: { 'b.t': rows('b.t'), 'public.t': rows('public.t') } });
    expect(judgements.map(brief)).toEqual([{ verdict: 'allowed', target, step, reason: 'created earlier in this run, so empty' }]);
  });

  it('a creation after the step does not count', () => {
    const sql = 'DROP TABLE a.t;\nCREATE TABLE a.t (id int);';
    const { judgements } = judge(sql, { catalog: { 'a.t': rows('a.t') }, createdWins: true });
    expect(judgements.map((j) => [j.verdict, j.reason])).toEqual([['refused', 'a.t holds data']]);
  });

  it('a step and a creation of the same statement: the step comes first', () => {
    const both = statement(0, 'both', 1);
    const classification: Pick<Classification, 'destructive' | 'creates'> = {
      destructive: [{ kind: 'drop-table', statement: both, target: { relation: { schema: 'a', name: 't' } }, cascade: false, searchPath: undefined }],
      creates: [{ statement: both, relation: { schema: 'a', name: 't' } }],
    };
    const { judgements, created } = judge(classification, { catalog: { 'a.t': rows('a.t') }, createdWins: true });
    expect(judgements.map((j) => j.verdict)).toEqual(['refused']);
    expect([...created]).toEqual(['a.t']);
  });

  it('createdWins false: a created name that already existed is judged on the catalog', () => {
    const sql = 'CREATE TABLE IF NOT EXISTS a.t (id int);\nDROP TABLE a.t;';
    const { judgements, created } = judge(sql, { catalog: { 'a.t': rows('a.t') }, createdWins: false });
    expect(judgements.map(brief)).toEqual([{ verdict: 'refused', target: 'a.t', step: 'DROP TABLE a.t', reason: 'a.t holds data' }]);
    expect(created.has('a.t')).toBe(false);
  });

  it('createdWins false: an existing empty created name is allowed for holding no rows, not for being created', () => {
    const { judgements } = judge('CREATE TABLE IF NOT EXISTS a.t (id int);\nDROP TABLE a.t;', { catalog: { 'a.t': empty } });
    expect(judgements.map((j) => j.reason)).toEqual(['holds no rows']);
  });

  it('createdWins true: the created name wins over the catalog', () => {
    const sql = 'CREATE TABLE IF NOT EXISTS a.t (id int);\nDROP TABLE a.t;';
    const { judgements, created } = judge(sql, { catalog: { 'a.t': rows('a.t') }, createdWins: true });
    expect(judgements.map(brief)).toEqual([{ verdict: 'allowed', target: 'a.t', step: 'DROP TABLE a.t', reason: 'created earlier in this run, so empty' }]);
    expect(created.has('a.t')).toBe(true);
  });

  it('honours names created by earlier migrations of the run', () => {
    const sql = 'DROP SCHEMA s CASCADE;\nDROP TABLE a.t;\nDROP TABLE a.u;';
    const catalog = { s: rows('s.x'), 'a.t': rows('a.t'), 'a.u': rows('a.u') };
    // Planning: the earlier migrations have not run yet, so their names do not exist.
    expect(judge(sql, { created: new Set(['s', 'a.t']) }).judgements.map((j) => [j.step, j.verdict, j.reason])).toEqual([
      ['DROP SCHEMA s CASCADE', 'allowed', 'created earlier in this run, so empty'],
      ['DROP TABLE a.t', 'allowed', 'created earlier in this run, so empty'],
      ['DROP TABLE a.u', 'allowed', 'does not exist, so holds no data'],
    ]);
    // Re-check right before running: they exist now, and may hold the run's own rows.
    expect(judge(sql, { created: new Set(['s', 'a.t']), catalog, createdWins: true }).judgements.map((j) => [j.target, j.verdict])).toEqual([
      ['s', 'allowed'],
      ['a.t', 'allowed'],
      ['a.u', 'refused'],
    ]);
    // Without createdWins an existing name is judged on its rows, whatever the set says.
    expect(judge(sql, { created: new Set(['s', 'a.t']), catalog, createdWins: false }).judgements.map((j) => [j.target, j.verdict])).toEqual([
      ['s', 'refused'],
      ['a.t', 'refused'],
      ['a.u', 'refused'],
    ]);
  });

  it('extends the set with what the file creates that did not exist, in place', () => {
    const created = new Set(['earlier']);
    const sql = 'CREATE SCHEMA IF NOT EXISTS s;\nCREATE TABLE IF NOT EXISTS s.t (id int);\nCREATE TABLE IF NOT EXISTS old.t (id int);\nCREATE TABLE loose (id int);';
    const result = judge(sql, { created, defaultPath: ['app'], catalog: { old: empty, 'old.t': rows('old.t') } });
    expect(result.created).toBe(created);
    expect([...created]).toEqual(['earlier', 's', 's.t', 'app.loose']);
    expect(result.judgements).toEqual([]);
  });

  it('with createdWins adds every creation of the file', () => {
    const created = new Set<string>();
    judge('CREATE SCHEMA IF NOT EXISTS s;\nCREATE TABLE IF NOT EXISTS old.t (id int);', { created, catalog: { s: empty, 'old.t': rows('old.t') }, createdWins: true });
    expect([...created]).toEqual(['s', 'old.t']);
  });
});

describe('judgeMigration: hand-built steps', () => {
  const step = (overrides: Partial<DestructiveStep>): DestructiveStep => ({
    kind: 'drop-table',
    statement: statement(10, 'DROP TABLE whatever', 3),
    target: { relation: { name: 't' } },
    cascade: false,
    searchPath: ['x', 'y'],
    ...overrides,
  });

  it('uses the step’s own search path and statement position', () => {
    const classification = { destructive: [step({})], creates: [] };
    const { judgements } = judge(classification, { defaultPath: ['public'], catalog: { 'public.t': rows('public.t'), 'y.t': rows('y.t') } });
    expect(judgements).toEqual([
      {
        kind: 'drop-table',
        at: { line: 3, column: 1 },
        step: 'DROP TABLE y.t',
        statement: 'DROP TABLE whatever',
        target: 'y.t',
        verdict: 'refused',
        holders: ['y.t'],
        reason: 'y.t holds data',
      },
    ]);
  });
});
