import { describe, expect, it } from 'vitest';
import {
  type CatalogFacts,
  catalogModel,
  creationSchema,
  descendantsOf,
  existenceOf,
  functionByIdentity,
  indexTable,
  parentsOf,
  partitionAncestors,
  refExists,
  resolveFunctions,
  resolveRelation,
  resolveType,
  schemasNamed,
} from '../../../src/model/catalog.js';
import type { ObjectRef } from '../../../src/sql/operations.js';
import { operationsOfSql } from '../operations-helpers.js';

const table = (schema: string, name: string, oid: number, more: object = {}) => ({
  oid,
  schema,
  name,
  kind: 'table' as const,
  identity: `${schema}.${name}`,
  ...more,
});

/** A database with a tenant schema `workspace`, `public` holding citext, and a role `alice` with a schema of her own. */
const facts: CatalogFacts = {
  searchPath: ['missing', '$user', 'workspace', 'public'],
  user: 'alice',
  schemas: ['pg_catalog', 'public', 'workspace', 'alice', 'Mixed'],
  relations: [
    table('workspace', 'items', 10, { columns: ['id', 'title'], constraints: ['items_pkey'] }),
    table('public', 'items', 11, { columns: ['id'] }),
    table('alice', 'notes', 12, { triggers: ['touch'], policies: ['own'] }),
    table('Mixed', 'Case', 13, { identity: '"Mixed"."Case"' }),
    {
      oid: 14,
      schema: 'workspace',
      name: 'items_pkey',
      kind: 'index',
      identity: 'workspace.items_pkey',
      table: 'workspace.items',
    },
    // A partitioned table in another schema, two levels of partitions, an index of a partition.
    table('archive', 'events', 20, { columns: ['at'] }),
    table('workspace', 'events_2024', 21, {
      parents: ['archive.events'],
      partition: true,
    }),
    table('workspace', 'events_2024_q1', 22, {
      parents: ['workspace.events_2024'],
      partition: true,
    }),
    {
      oid: 23,
      schema: 'workspace',
      name: 'events_2024_q1_at_idx',
      kind: 'index',
      identity: 'workspace.events_2024_q1_at_idx',
      table: 'workspace.events_2024_q1',
    },
    // An inheritance child: no partition.
    table('workspace', 'notes_old', 24, { parents: ['alice.notes'] }),
  ],
  types: [
    { oid: 23, schema: 'pg_catalog', name: 'int4', rendering: 'integer' },
    { oid: 25, schema: 'pg_catalog', name: 'text', rendering: 'text' },
    { oid: 1043, schema: 'pg_catalog', name: 'varchar', rendering: 'character varying' },
    { oid: 9000, schema: 'public', name: 'citext', rendering: 'public.citext' },
    { oid: 9001, schema: 'workspace', name: 'mood', rendering: 'workspace.mood' },
    // A type named like a built-in one: pg_catalog's is found first.
    { oid: 9002, schema: 'workspace', name: 'text', rendering: 'workspace.text' },
  ],
  functions: [
    {
      schema: 'workspace',
      name: 'f',
      kind: 'function',
      args: 'integer',
      identity: 'workspace.f(integer)',
    },
    {
      schema: 'workspace',
      name: 'f',
      kind: 'function',
      args: 'integer, public.citext',
      identity: 'workspace.f(integer, public.citext)',
      searchPath: ['audit', 'public'],
    },
    {
      schema: 'workspace',
      name: 'p',
      kind: 'procedure',
      args: 'workspace.mood[]',
      identity: 'workspace.p(workspace.mood[])',
    },
  ],
  extensions: ['citext'],
};
const model = catalogModel(facts);

const ref = (
  kind: ObjectRef['kind'],
  schema: string,
  name: string,
  more: Partial<ObjectRef> = {},
) => ({ kind, schema, name, ...(schema === '' ? { unqualified: true } : {}), ...more });

describe('the catalog model resolves names as PostgreSQL does', () => {
  it.each([
    ['qualified', { schema: 'public', name: 'items' }, undefined, 'public.items'],
    ['unqualified, through the path', { schema: '', name: 'items' }, undefined, 'workspace.items'],
    [
      'unqualified, the first schema of the path missing',
      { schema: '', name: 'items' },
      ['missing', 'public'],
      'public.items',
    ],
    ['unqualified, through "$user"', { schema: '', name: 'notes' }, undefined, 'alice.notes'],
    [
      'a quoted name, as it is written',
      { schema: 'Mixed', name: 'Case' },
      undefined,
      '"Mixed"."Case"',
    ],
    [
      'a quoted name in another case: none',
      { schema: 'mixed', name: 'case' },
      undefined,
      undefined,
    ],
    ['not on the path: none', { schema: '', name: 'events' }, undefined, undefined],
  ])('a relation, %s', (_how, name, path, identity) => {
    expect(
      resolveRelation(model, { ...name, unqualified: name.schema === '' }, path)?.identity,
    ).toBe(identity);
  });

  it.each([
    ['"int4"', undefined, 'integer'],
    ['"text"', undefined, 'text'],
    ['"workspace"."text"', undefined, 'workspace.text'],
    ['"citext"', undefined, 'public.citext'],
    ['"citext"', ['workspace'], undefined],
    ['"public"."citext"', ['workspace'], 'public.citext'],
    ['"mood"[]', undefined, 'workspace.mood[]'],
    ['"mood"[][]', undefined, 'workspace.mood[]'],
    ['"items"', undefined, 'workspace.items'],
    ['"nothing"', undefined, undefined],
  ])('the type %s (path %j) is %s, as a function identity prints it', (text, path, rendering) => {
    expect(resolveType(model, text, path)).toBe(rendering);
  });

  it('lands an unqualified CREATE in the first schema of the path that exists', () => {
    expect(creationSchema(model)).toBe('alice');
    expect(creationSchema(model, ['missing', 'workspace'])).toBe('workspace');
    expect(creationSchema(model, ['missing'])).toBe('');
  });

  it.each([
    ['an overload by its argument types', ['"int4"'], ['workspace.f(integer)']],
    [
      'the other overload, citext through the path',
      ['"int4"', '"citext"'],
      ['workspace.f(integer, public.citext)'],
    ],
    ['citext qualified', ['"int4"', '"public"."citext"'], ['workspace.f(integer, public.citext)']],
    ['a signature that is not there', ['"text"'], []],
    ['an argument type that does not exist', ['"nothing"'], []],
    [
      'no arguments given: every function of the name',
      undefined,
      ['workspace.f(integer)', 'workspace.f(integer, public.citext)'],
    ],
  ])('functions: %s', (_how, args, identities) => {
    expect(
      resolveFunctions(model, ref('function', 'workspace', 'f', { args })).map((f) => f.identity),
    ).toEqual(identities);
  });

  it('finds a function over public.citext under another path, through the qualified type', () => {
    const elsewhere = catalogModel({ ...facts, searchPath: ['workspace'] });
    expect(
      resolveFunctions(
        elsewhere,
        ref('function', 'workspace', 'f', { args: ['"int4"', '"citext"'] }),
      ),
    ).toEqual([]);
    expect(
      resolveFunctions(
        elsewhere,
        ref('function', 'workspace', 'f', { args: ['"int4"', '"public"."citext"'] }),
      )[0]?.identity,
    ).toBe('workspace.f(integer, public.citext)');
  });

  it('names a function by the identity a snapshot prints, with its own search_path', () => {
    expect(functionByIdentity(model, 'workspace.f(integer, public.citext)')?.searchPath).toEqual([
      'audit',
      'public',
    ]);
    expect(functionByIdentity(model, 'workspace.f(integer)')?.searchPath).toBeUndefined();
    expect(functionByIdentity(model, 'workspace.p(workspace.mood[])')?.kind).toBe('procedure');
  });
});

describe('whether an object a statement names exists', () => {
  it.each([
    [ref('schema', '', 'workspace'), true],
    [ref('schema', '', 'elsewhere'), false],
    [ref('extension', '', 'citext'), true],
    [ref('table', 'workspace', 'items'), true],
    [ref('table', '', 'notes'), true],
    // An unqualified CREATE lands in alice: workspace.items does not make it drift.
    [ref('table', '', 'items'), false],
    [ref('index', 'workspace', 'items_pkey'), true],
    [ref('type', 'workspace', 'mood'), true],
    [ref('type', 'workspace', 'items'), true],
    [ref('domain', 'public', 'mood'), false],
    [ref('column', 'workspace', 'title', { table: 'items' }), true],
    [ref('column', '', 'title', { table: 'items' }), true],
    [ref('column', 'public', 'title', { table: 'items' }), false],
    [ref('constraint', 'workspace', 'items_pkey', { table: 'items' }), true],
    [ref('trigger', '', 'touch', { table: 'notes' }), true],
    [ref('policy', 'alice', 'own', { table: 'notes' }), true],
    [ref('policy', 'alice', 'other', { table: 'notes' }), false],
    [ref('procedure', 'workspace', 'p', { args: ['"workspace"."mood"[]'] }), true],
    [ref('function', 'workspace', 'p', { args: ['"mood"'] }), false],
  ])('%j: %s', (object, exists) => {
    expect(refExists(model, object)).toBe(exists);
  });

  it('answers drift and repair for many refs at once, with the tables of indexes', () => {
    const index = ref('index', 'workspace', 'events_2024_q1_at_idx');
    const {
      existing,
      creationSchema: schema,
      indexTables,
    } = existenceOf(model, [index, ref('table', 'workspace', 'gone')]);
    expect([...existing]).toHaveLength(1);
    expect(schema).toBe('alice');
    expect([...indexTables.values()]).toEqual(['events_2024_q1']);
  });
});

describe('partition and inheritance trees', () => {
  it('an index of a partition belongs to its table, whose partitioned ancestors are known at any depth and schema', () => {
    expect(indexTable(model, ref('index', 'workspace', 'events_2024_q1_at_idx'))).toBe(
      'events_2024_q1',
    );
    expect(partitionAncestors(model, 'workspace.events_2024_q1')).toEqual([
      'workspace.events_2024',
      'archive.events',
    ]);
    expect(descendantsOf(model, 'archive.events')).toEqual([
      'workspace.events_2024',
      'workspace.events_2024_q1',
    ]);
  });

  it('an inheritance child has parents but no partitioned ancestors', () => {
    expect(parentsOf(model, 'workspace.notes_old')).toEqual(['alice.notes']);
    expect(partitionAncestors(model, 'workspace.notes_old')).toEqual([]);
    expect(descendantsOf(model, 'alice.notes')).toEqual(['workspace.notes_old']);
  });
});

describe('what the model reads', () => {
  it.each([
    [
      "the set's schemas and those a file names",
      'CREATE TABLE audit.log (id int);',
      ['audit', 'workspace'],
    ],
    [
      "a file's own search_path",
      'SET search_path = tenant_7, public;\nCREATE TABLE t (id int);',
      ['public', 'tenant_7', 'workspace'],
    ],
    ['a qualified argument type', 'DROP FUNCTION workspace.f(ext.citext);', ['ext', 'workspace']],
    [
      'a schema made and a function called in a DO block',
      'CREATE SCHEMA billing;\nDO $$ BEGIN PERFORM ops.tidy(); END $$;',
      ['billing', 'ops', 'workspace'],
    ],
  ])('%s', (_how, sql, schemas) => {
    expect(schemasNamed(['workspace'], [operationsOfSql(sql)])).toEqual({ schemas });
  });

  it('the whole catalog where a file runs dynamic SQL', () => {
    expect(
      schemasNamed(
        ['workspace'],
        [operationsOfSql("DO $$ BEGIN EXECUTE 'DROP TABLE ' || 'x'; END $$;")],
      ),
    ).toBe('all');
  });
});
