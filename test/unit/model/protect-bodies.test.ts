import { describe, expect, it } from 'vitest';
import {
  type CatalogFacts,
  catalogModel,
  ruleEvents,
  triggerEvents,
} from '../../../src/model/catalog.js';
import { findHazards, type GuardedMigration } from '../../../src/model/protect.js';
import { type Routine, routineOperations, ruleOperations } from '../../../src/sql/operations.js';
import { loadParser } from '../../../src/sql/parse.js';
import { operationsOfSql } from '../operations-helpers.js';

const parser = await loadParser();

const table = (schema: string, name: string, oid: number, more: object = {}) => ({
  oid,
  schema,
  name,
  kind: 'table' as const,
  identity: `${schema}.${name}`,
  ...more,
});

const fn = (
  schema: string,
  name: string,
  source: string,
  more: Partial<CatalogFacts['functions'][number]> & { language?: 'sql' | 'plpgsql' } = {},
): CatalogFacts['functions'][number] => {
  const { language = 'plpgsql', ...rest } = more;
  return {
    schema,
    name,
    kind: 'function',
    args: '',
    identity: `${schema}.${name}()`,
    body: { language, source, standardBody: false, trigger: false },
    ...rest,
  };
};

/** What an earlier deploy left: tables with rows, their routines, a trigger and a rule. */
const facts: CatalogFacts = {
  searchPath: ['$user', 'public'],
  user: 'app',
  schemas: ['pg_catalog', 'public', 'workspace'],
  relations: [
    table('workspace', 'items', 10),
    table('workspace', 'audit', 11, {
      fires: [
        {
          trigger: 'wipe',
          events: ['INSERT'],
          function: { schema: 'public', name: 'wipe' },
        },
      ],
    }),
    table('workspace', 'flagged', 12, {
      rules: [
        {
          name: 'forget',
          events: ['INSERT'],
          definition:
            'CREATE RULE forget AS ON INSERT TO workspace.flagged DO ALSO DELETE FROM workspace.items;',
        },
      ],
    }),
  ],
  // pg_catalog's types as the model renders them: call arguments resolve through them.
  types: [
    { oid: 23, schema: 'pg_catalog', name: 'int4', rendering: 'integer' },
    { oid: 20, schema: 'pg_catalog', name: 'int8', rendering: 'bigint' },
    { oid: 25, schema: 'pg_catalog', name: 'text', rendering: 'text' },
  ],
  functions: [
    {
      ...fn('workspace', 'purge', 'DELETE FROM workspace.items', { language: 'sql' }),
      kind: 'procedure',
    },
    fn('public', 'Purge Items', 'BEGIN TRUNCATE workspace.items; END'),
    fn('workspace', 'tidy', 'DELETE FROM items', { language: 'sql', searchPath: ['workspace'] }),
    {
      ...fn('public', 'wipe', 'BEGIN DELETE FROM workspace.items; RETURN NEW; END'),
      body: {
        language: 'plpgsql',
        source: 'BEGIN DELETE FROM workspace.items; RETURN NEW; END',
        standardBody: false,
        trigger: true,
      },
    },
    // Overloads: which one a call reaches depends on its arguments.
    fn('workspace', 'twice', 'BEGIN TRUNCATE workspace.items; END', { args: 'integer' }),
    fn('workspace', 'twice', 'BEGIN NULL; END', { args: 'text' }),
    // The reverse: the text one empties the table.
    fn('workspace', 'once', 'BEGIN NULL; END', { args: 'integer' }),
    fn('workspace', 'once', 'BEGIN TRUNCATE workspace.items; END', { args: 'text' }),
    fn('workspace', 'wide', 'BEGIN TRUNCATE workspace.items; END', { args: 'bigint' }),
    fn('workspace', 'wide', 'BEGIN NULL; END', { args: 'integer, integer', defaults: 1 }),
    {
      schema: 'workspace',
      name: 'native',
      kind: 'function',
      args: '',
      identity: 'workspace.native()',
    },
  ],
  extensions: [],
};
const model = catalogModel(facts);

const migration = (sql: string): GuardedMigration => ({
  path: 'database/data/005_change.sql',
  operations: operationsOfSql(sql),
  forced: false,
  statements: [],
});

/** Each hazard as `step (via) -> target`. */
const hazards = (sql: string) =>
  findHazards(model, [migration(sql)], parser).hazards.map(
    (h) => `${h.step}${h.via ? ` (${h.via})` : ''} -> ${h.target}`,
  );

describe('the forecast follows bodies the catalog holds', () => {
  it.each([
    [
      'CALL of a SQL procedure, qualified',
      'CALL workspace.purge();',
      [
        'DELETE FROM workspace.items without a WHERE that limits it (procedure workspace.purge) -> workspace.items',
      ],
    ],
    [
      'a function with a quoted name, unqualified through the path',
      'SELECT "Purge Items"();',
      ['TRUNCATE workspace.items (function public."Purge Items") -> workspace.items'],
    ],
    [
      "a function's own search_path resolves its unqualified DELETE",
      'SELECT workspace.tidy();',
      [
        'DELETE FROM workspace.items without a WHERE that limits it (function workspace.tidy) -> workspace.items',
      ],
    ],
    [
      'INSERT ... ON CONFLICT DO NOTHING fires the INSERT trigger',
      'INSERT INTO workspace.audit VALUES (1) ON CONFLICT DO NOTHING;',
      [
        'DELETE FROM workspace.items without a WHERE that limits it (function public.wipe, fired by trigger wipe on workspace.audit) -> workspace.items',
      ],
    ],
    [
      'an overload told by an integer literal',
      'SELECT workspace.twice(1);',
      ['TRUNCATE workspace.items (function workspace.twice) -> workspace.items'],
    ],
    [
      'an overload told by a quoted literal, which prefers text',
      "SELECT workspace.once('1');",
      ['TRUNCATE workspace.items (function workspace.once) -> workspace.items'],
    ],
    [
      'an overload told by a cast',
      'SELECT workspace.once(1::text);',
      ['TRUNCATE workspace.items (function workspace.once) -> workspace.items'],
    ],
    [
      'a call the text cannot tell: every overload followed, and said',
      'SELECT workspace.once(x) FROM workspace.audit;',
      [
        'TRUNCATE workspace.items (function workspace.once(text), one of 2 overloads the call may reach (workspace.once(integer), workspace.once(text)), each followed) -> workspace.items',
      ],
    ],
    [
      'an integer literal reaches a bigint parameter; the other overload has a default it may use',
      'SELECT workspace.wide(1);',
      [
        'TRUNCATE workspace.items (function workspace.wide(bigint), one of 2 overloads the call may reach (workspace.wide(bigint), workspace.wide(integer, integer)), each followed) -> workspace.items',
      ],
    ],
    [
      'an INSERT fires the rule',
      'INSERT INTO workspace.flagged VALUES (1);',
      [
        'DELETE FROM workspace.items without a WHERE that limits it (rule forget on workspace.flagged) -> workspace.items',
      ],
    ],
  ])('%s', (_what, sql, expected) => {
    expect(hazards(sql)).toEqual(expected);
  });

  it.each([
    ['an UPDATE: the trigger is on INSERT only', 'UPDATE workspace.audit SET id = 2 WHERE id = 1;'],
    ['the overload an integer does not reach', 'SELECT workspace.once(1);'],
    ['the overload a cast does not reach', 'SELECT workspace.twice(1::text);'],
    ['a count no overload takes', 'SELECT workspace.wide(1, 2);'],
    ['a function of another language', 'SELECT workspace.native();'],
    [
      'a function the run replaces before calling it',
      'CREATE OR REPLACE PROCEDURE workspace.purge() LANGUAGE sql AS $$ SELECT 1 $$; CALL workspace.purge();',
    ],
    ['a function the run dropped', 'DROP PROCEDURE workspace.purge(); CALL workspace.purge();'],
  ])('sees nothing in %s', (_what, sql) => {
    expect(hazards(sql)).toEqual([]);
  });

  it('a session path that does not reach the function: the unqualified DELETE in its body is not the caller’s', () => {
    // Without its own search_path, tidy's "items" would be looked up in the caller's path, which has none.
    const withoutPath = catalogModel({
      ...facts,
      functions: [fn('workspace', 'tidy', 'DELETE FROM items', { language: 'sql' })],
    });
    expect(
      findHazards(withoutPath, [migration('SELECT workspace.tidy();')], parser).hazards,
    ).toEqual([]);
  });
});

describe('routineOperations reads a body as the run reads one it creates', () => {
  const routine = (more: Partial<Routine>): Routine => ({
    schema: 'w',
    name: 'f',
    kind: 'function',
    language: 'plpgsql',
    source: 'BEGIN DELETE FROM w.items; END',
    standardBody: false,
    trigger: false,
    ...more,
  });
  const kinds = (r: Routine) =>
    routineOperations(parser, r)?.map((op) =>
      op.kind === 'delete-rows' || op.kind === 'write-rows'
        ? `${op.kind} ${op.table.schema}.${op.table.name}${op.wholesale ? ' wholesale' : ''}`
        : op.kind === 'search-path'
          ? `search-path ${op.path?.join(',')}`
          : op.kind,
    );

  it.each([
    ['PL/pgSQL', routine({}), ['delete-rows w.items wholesale']],
    [
      'a body holding the dollar quote schemata would use',
      routine({ source: "BEGIN DELETE FROM w.items WHERE note = '$schemata$'; END" }),
      ['delete-rows w.items'],
    ],
    [
      'a trigger function that assigns to NEW',
      routine({ source: 'BEGIN NEW.at := now(); RETURN NEW; END', trigger: true }),
      ['call'],
    ],
    [
      'SQL with its own search_path',
      routine({ language: 'sql', source: 'DELETE FROM items', searchPath: ['w', 'public'] }),
      ['search-path w,public', 'delete-rows w.items wholesale'],
    ],
    [
      'a SQL-standard body',
      routine({
        language: 'sql',
        kind: 'procedure',
        source: 'BEGIN ATOMIC\n DELETE FROM w.items;\nEND',
        standardBody: true,
      }),
      ['delete-rows w.items wholesale'],
    ],
    ['dynamic SQL', routine({ source: "BEGIN EXECUTE 'TRUNCATE ' || 'w.items'; END" }), ['opaque']],
    [
      'EXECUTE of a string constant',
      routine({ source: "BEGIN EXECUTE 'TRUNCATE w.items'; END" }),
      ['delete-rows w.items wholesale'],
    ],
    ['another language', routine({ language: 'c', source: 'f' }), undefined],
  ])('%s', (_what, r, expected) => {
    expect(kinds(r)).toEqual(expected);
  });

  it('ruleOperations reads the actions of a rule', () => {
    expect(
      ruleOperations(
        parser,
        'CREATE RULE r AS ON INSERT TO w.t DO ALSO (DELETE FROM w.items; UPDATE w.other SET x = 1);',
        'rule r on w.t',
      )?.map((op) => `${op.kind} ${op.via}`),
    ).toEqual(['delete-rows rule r on w.t', 'write-rows rule r on w.t']);
  });
});

describe('events of triggers and rules, from the catalog', () => {
  it.each([
    [5, ['INSERT']], // ROW | INSERT
    [29, ['INSERT', 'DELETE', 'UPDATE']], // ROW | INSERT | DELETE | UPDATE
    [32, ['TRUNCATE']],
    [2, []],
  ])('tgtype %i', (tgtype, events) => {
    expect(triggerEvents(tgtype)).toEqual(events);
  });

  it.each([
    ['1', []],
    ['2', ['UPDATE']],
    ['3', ['INSERT']],
    ['4', ['DELETE']],
  ])('ev_type %s', (evType, events) => {
    expect(ruleEvents(evType)).toEqual(events);
  });
});

describe('the UPDATEs the forecast read, as the measurement is told of them', () => {
  // A table with a row trigger on UPDATE, and a function that updates a column and runs dynamic SQL.
  const more = catalogModel({
    ...facts,
    relations: [
      ...facts.relations,
      table('workspace', 'stamped', 13, {
        fires: [
          { trigger: 'touch', events: ['UPDATE'], function: { schema: 'public', name: 'touch' } },
        ],
      }),
    ],
    functions: [
      ...facts.functions,
      fn(
        'workspace',
        'both',
        "BEGIN UPDATE workspace.items SET label = 'x' WHERE id > 0; EXECUTE 'SELECT ' || '1'; END",
      ),
    ],
  });
  const updatesRead = (sql: string) => findHazards(more, [migration(sql)], parser).updatesRead[0];
  const DYNAMIC = "DO $$ BEGIN EXECUTE 'SELECT ' || '1'; END $$;";

  it.each([
    [
      'every statement read: each table judged by the forecast alone',
      'UPDATE workspace.items SET label = upper(label) WHERE id > 0;',
      [{ oid: 10, sets: null }],
    ],
    [
      'with dynamic SQL: the columns the read UPDATE sets, the rest left to the measurement',
      `UPDATE workspace.items SET label = upper(label), (id, note) = (id + 1, 'n') WHERE id > 0; ${DYNAMIC}`,
      [{ oid: 10, sets: ['id', 'label', 'note'] }],
    ],
    [
      'with dynamic SQL, an upsert: the columns of its DO UPDATE',
      `INSERT INTO workspace.items VALUES (1) ON CONFLICT (id) DO UPDATE SET label = excluded.label; ${DYNAMIC}`,
      [{ oid: 10, sets: ['label'] }],
    ],
    [
      'with dynamic SQL in a function body read through a call: the same',
      'SELECT workspace.both();',
      [{ oid: 10, sets: ['label'] }],
    ],
    [
      'with dynamic SQL, a table whose row trigger fires on UPDATE (it may assign any column of NEW): judged by the forecast',
      `UPDATE workspace.stamped SET label = 'x' WHERE id > 0; ${DYNAMIC}`,
      [{ oid: 13, sets: null }],
    ],
  ])('%s', (_, sql, expected) => {
    expect(updatesRead(sql)).toEqual(expected);
  });

  it('a migration with no UPDATE lists none', () => {
    expect(updatesRead(`INSERT INTO workspace.items VALUES (1); ${DYNAMIC}`)).toEqual([]);
  });
});
