import fc from 'fast-check';
import pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import { migrate } from '../../src/api.js';
import { CATALOG_OBJECTS_SQL, type CatalogObject } from '../../src/catalog/listing.js';
import { MODEL_SQL, readCatalogModel } from '../../src/catalog/model.js';
import {
  existenceOf,
  functionByIdentity,
  namesOf,
  partitionAncestors,
  refExists,
  resolveFunctions,
  schemasNamed,
} from '../../src/model/catalog.js';
import type { ObjectRef } from '../../src/sql/operations.js';
import { freshDatabase, openClient, query } from '../support/db.js';
import { makeProject, writeFile } from '../support/project.js';
import { operationsOfSql } from '../unit/operations-helpers.js';

const single = (url: string) => ({ PRIMARY_DATABASE_URL: url });
const SCHEMAS = {
  'data/001_schemas.sql':
    'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
};

/** The ObjectRefs of every object `sql` creates or drops, as the engine reads them. */
function refsOf(sql: string): ObjectRef[] {
  return operationsOfSql(sql).flatMap((o) =>
    o.kind === 'create' || o.kind === 'drop' ? [o.object] : [],
  );
}

/** The ObjectRef of the first object `sql` creates or drops, as the engine reads it. */
function refOf(sql: string): ObjectRef {
  const op = operationsOfSql(sql).find((o) => o.kind === 'create' || o.kind === 'drop');
  if (op?.kind !== 'create' && op?.kind !== 'drop') throw new Error(`no object in ${sql}`);
  return op.object;
}

describe('the catalog model, read from the server', () => {
  it('spells identities as the snapshot does and answers existence for every spelling', async () => {
    const url = await freshDatabase();
    await query(
      url,
      `CREATE EXTENSION IF NOT EXISTS citext SCHEMA public;
       CREATE SCHEMA workspace; CREATE SCHEMA "Mixed";
       CREATE TABLE "Mixed"."Case" (id int);
       CREATE TABLE workspace.events (at date, note text) PARTITION BY RANGE (at);
       CREATE TABLE workspace.events_2024 PARTITION OF workspace.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
       CREATE INDEX events_at ON workspace.events (at);
       CREATE TABLE workspace.parent (id int); CREATE TABLE workspace.child () INHERITS (workspace.parent);
       CREATE FUNCTION workspace.f(n int, v citext) RETURNS text LANGUAGE sql SET search_path = public AS $$ SELECT v::text $$;
       CREATE PROCEDURE workspace.p() LANGUAGE sql AS $$ SELECT 1 $$;`,
    );
    const client = await openClient(url);
    try {
      // Read under a path without public: citext is still public.citext.
      await client.query('SET search_path = workspace');
      // Each spelling against the server's own answer for the same statement.
      const spellings: Array<[string, boolean]> = [
        ['CREATE TABLE workspace.events (id int);', true],
        ['CREATE TABLE events (id int);', true],
        ['CREATE TABLE "Mixed"."Case" (id int);', true],
        ['CREATE TABLE "Mixed".case (id int);', false],
        ['CREATE INDEX events_at ON workspace.events (at);', true],
        [
          'CREATE FUNCTION workspace.f(n integer, v public.citext) RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;',
          true,
        ],
        ['CREATE FUNCTION f(int4, citext) RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;', false],
        [
          'CREATE FUNCTION workspace.f(int, text) RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;',
          false,
        ],
        ['CREATE PROCEDURE p() LANGUAGE sql AS $$ SELECT 1 $$;', true],
        ['ALTER TABLE events DROP COLUMN note;', true],
        ['ALTER TABLE workspace.events_2024 DROP COLUMN gone;', false],
        ['CREATE EXTENSION citext;', true],
        ['DO $$ BEGIN CREATE TABLE workspace.parent (id int); END $$;', true],
      ];
      // What the run can reach: the set's schema, the path's, those the statements name.
      const model = await readCatalogModel(
        client,
        schemasNamed(
          ['workspace'],
          spellings.map(([sql]) => operationsOfSql(sql)),
        ),
      );
      const listed = (await client.query<CatalogObject>(CATALOG_OBJECTS_SQL)).rows;
      const listedFunctions = listed
        .filter((o) => o.kind === 'function' || o.kind === 'procedure')
        .map((o) => o.identity)
        .sort();
      // The extension's members are the model's too (a CREATE FUNCTION citext(...) would fail), not the listing's.
      expect(
        model.facts.functions
          .filter((f) => f.schema === 'workspace')
          .map((f) => f.identity)
          .sort(),
      ).toEqual(listedFunctions);
      expect(listedFunctions).toContain('workspace.f(integer, public.citext)');
      expect(functionByIdentity(model, 'workspace.f(integer, public.citext)')?.searchPath).toEqual([
        'public',
      ]);
      const listedRelations = new Set(listed.map((o) => o.identity));
      for (const r of model.facts.relations) expect(listedRelations).toContain(r.identity);
      expect(partitionAncestors(model, 'workspace.events_2024')).toEqual(['workspace.events']);
      expect(partitionAncestors(model, 'workspace.child')).toEqual([]);
      expect(model.facts.relations.find((r) => r.identity === 'workspace.child')?.parents).toEqual([
        'workspace.parent',
      ]);

      for (const [sql, exists] of spellings)
        expect([sql, refExists(model, refOf(sql))]).toEqual([sql, exists]);
      // Unqualified citext does not resolve under this path: to_regtype says the same.
      expect(resolveFunctions(model, refOf('DROP FUNCTION workspace.f(int, citext);'))).toEqual([]);
      expect(
        (await client.query<{ t: string | null }>("SELECT to_regtype('citext') AS t")).rows[0]!.t,
      ).toBeNull();
    } finally {
      await client.end();
    }
  });
});

describe('a model of names answers existence as the whole model does', () => {
  // Every kind drift asks of, there and not there, qualified and not, quoted, an index in two schemas, a
  // function over a table's row type and over an extension's type, parts of a partition and of a child.
  const SETUP = `CREATE EXTENSION IF NOT EXISTS citext SCHEMA public;
     CREATE SCHEMA workspace; CREATE SCHEMA reference; CREATE SCHEMA "Mixed";
     CREATE TABLE "Mixed"."Case" (id int);
     CREATE TABLE workspace.items (id int PRIMARY KEY, title text CONSTRAINT title_set CHECK (title <> ''));
     CREATE INDEX items_title ON workspace.items (title);
     CREATE TABLE reference.codes (code text); CREATE INDEX items_title_ref ON reference.codes (code);
     CREATE TABLE workspace.events (at date, note text) PARTITION BY RANGE (at);
     CREATE TABLE workspace.events_2024 PARTITION OF workspace.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
     CREATE TABLE workspace.parent (id int); CREATE TABLE workspace.child (extra int) INHERITS (workspace.parent);
     CREATE VIEW workspace.titles AS SELECT title FROM workspace.items;
     CREATE MATERIALIZED VIEW workspace.counted AS SELECT count(*) AS n FROM workspace.items;
     CREATE SEQUENCE workspace.numbers;
     CREATE TYPE workspace.mood AS ENUM ('ok'); CREATE DOMAIN workspace.positive AS int CHECK (VALUE > 0);
     CREATE FUNCTION workspace.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
     CREATE TRIGGER items_touch BEFORE UPDATE ON workspace.items FOR EACH ROW EXECUTE FUNCTION workspace.touch();
     ALTER TABLE workspace.items ENABLE ROW LEVEL SECURITY; CREATE POLICY own_rows ON workspace.items USING (true);
     CREATE FUNCTION workspace.label(i workspace.items) RETURNS text LANGUAGE sql AS $$ SELECT i.title $$;
     CREATE FUNCTION workspace.label(v public.citext) RETURNS text LANGUAGE sql AS $$ SELECT v::text $$;
     CREATE PROCEDURE workspace.tidy() LANGUAGE sql AS $$ SELECT 1 $$;`;
  const STATEMENTS = [
    'CREATE SCHEMA workspace;',
    'CREATE SCHEMA elsewhere;',
    'CREATE EXTENSION citext;',
    'CREATE EXTENSION hstore;',
    'CREATE TABLE workspace.items (id int);',
    'CREATE TABLE items (id int);',
    'CREATE TABLE reference.items (id int);',
    'CREATE TABLE "Mixed"."Case" (id int);',
    'CREATE TABLE "Mixed".case (id int);',
    'CREATE TABLE workspace.events_2024 (id int);',
    'CREATE TABLE workspace.child (id int);',
    'CREATE INDEX items_title ON workspace.items (title);',
    'CREATE INDEX items_title_ref ON workspace.items (title);',
    // The index there is another table's: drift names that table.
    'CREATE INDEX items_title ON workspace.events (at);',
    'CREATE INDEX items_title_ref ON reference.codes (code);',
    'CREATE INDEX fresh_idx ON workspace.items (id);',
    'CREATE VIEW workspace.titles AS SELECT 1;',
    'CREATE MATERIALIZED VIEW workspace.counted AS SELECT 1;',
    'CREATE SEQUENCE workspace.numbers;',
    'CREATE SEQUENCE numbers;',
    "CREATE TYPE workspace.mood AS ENUM ('x');",
    'CREATE TYPE workspace.items AS (a int);',
    'CREATE DOMAIN workspace.positive AS int;',
    'CREATE DOMAIN workspace.negative AS int;',
    'ALTER TABLE workspace.items ADD COLUMN title text;',
    'ALTER TABLE workspace.items ADD COLUMN body text;',
    'ALTER TABLE workspace.child ADD COLUMN extra int;',
    'ALTER TABLE workspace.events_2024 ADD COLUMN note text;',
    'ALTER TABLE items ADD CONSTRAINT title_set CHECK (true);',
    'ALTER TABLE workspace.items ADD CONSTRAINT items_pkey PRIMARY KEY (id);',
    'ALTER TABLE workspace.items ADD CONSTRAINT other CHECK (true);',
    'CREATE TRIGGER items_touch BEFORE UPDATE ON workspace.items FOR EACH ROW EXECUTE FUNCTION workspace.touch();',
    'CREATE TRIGGER items_touch BEFORE UPDATE ON reference.codes FOR EACH ROW EXECUTE FUNCTION workspace.touch();',
    'CREATE POLICY own_rows ON workspace.items USING (true);',
    'CREATE POLICY own_rows ON reference.codes USING (true);',
    'CREATE FUNCTION workspace.label(i workspace.items) RETURNS text LANGUAGE sql AS $$ SELECT 1 $$;',
    'CREATE FUNCTION workspace.label(i items) RETURNS text LANGUAGE sql AS $$ SELECT 1 $$;',
    'CREATE FUNCTION workspace.label(v citext) RETURNS text LANGUAGE sql AS $$ SELECT 1 $$;',
    'CREATE FUNCTION workspace.label(v public.citext) RETURNS text LANGUAGE sql AS $$ SELECT 1 $$;',
    'CREATE FUNCTION workspace.label(n int) RETURNS text LANGUAGE sql AS $$ SELECT 1 $$;',
    'CREATE FUNCTION workspace.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;',
    'CREATE PROCEDURE workspace.tidy() LANGUAGE sql AS $$ SELECT 1 $$;',
    'CREATE PROCEDURE tidy() LANGUAGE sql AS $$ SELECT 1 $$;',
  ];
  const REFS = STATEMENTS.flatMap(refsOf);

  it('for each object of every kind, one by one and all together, and for any subset of them', async () => {
    const url = await freshDatabase();
    await query(url, SETUP);
    const client = await openClient(url);
    try {
      await client.query('SET search_path = workspace, public');
      const scope = schemasNamed(
        ['workspace'],
        STATEMENTS.map((sql) => operationsOfSql(sql)),
      );
      const whole = await readCatalogModel(client, scope);
      const ofNames = async (refs: readonly ObjectRef[]) =>
        existenceOf(await readCatalogModel(client, scope, undefined, namesOf(refs)), refs);
      const all = existenceOf(whole, REFS);
      // Both answers occur: the comparison is not between two empty sets.
      expect(all.existing.size).toBeGreaterThan(15);
      expect(REFS.length - all.existing.size).toBeGreaterThan(10);
      expect(all.indexTables.get('relation:workspace..items_title')).toBe('items');
      expect(await ofNames(REFS)).toEqual(all);
      for (const ref of REFS)
        expect([ref, await ofNames([ref])]).toEqual([ref, existenceOf(whole, [ref])]);
      // The names model holds a part of the catalog only: it is a model for these questions alone.
      const few = await readCatalogModel(client, scope, undefined, namesOf(refsOf(STATEMENTS[5]!)));
      expect(few.facts.relations.length).toBeLessThan(whole.facts.relations.length);
      await fc.assert(
        fc.asyncProperty(fc.subarray(REFS, { minLength: 1 }), async (refs) => {
          expect(await ofNames(refs)).toEqual(existenceOf(whole, refs));
        }),
        { numRuns: 40 },
      );
    } finally {
      await client.end();
    }
  });
});

describe('the model is read at most once per plan, and not at all on a no-op run', () => {
  /** How often each run sends the model's query, and how many queries a no-op migrate sends. */
  it('one read for a file that drops, creates strictly and calls; none for the no-op that follows', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      ...SCHEMAS,
      'data/002_t.sql':
        'CREATE TABLE workspace.t (id int);\nCREATE FUNCTION workspace.tidy() RETURNS void LANGUAGE sql AS $$ SELECT $$;\n',
    });
    expect((await migrate({ cwd, env: single(url), sets: ['data'] })).error).toBeUndefined();
    writeFile(
      cwd,
      'data/003_more.sql',
      'DROP TABLE IF EXISTS workspace.t;\nCREATE TABLE workspace.u (id int);\nSELECT workspace.tidy();\n',
    );
    const spy = vi.spyOn(pg.Client.prototype, 'query');
    try {
      expect((await migrate({ cwd, env: single(url), sets: ['data'] })).error).toBeUndefined();
      const reads = () => spy.mock.calls.filter((call) => call[0] === MODEL_SQL).length;
      expect(reads()).toBe(1);
      // The whole model: the forecast reads it after drift, which asks it too.
      expect(spy.mock.calls.find((call) => call[0] === MODEL_SQL)?.[1]).toEqual([
        ['reference', 'workspace'],
        null,
      ]);
      spy.mockClear();
      expect((await migrate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
      expect(reads()).toBe(0);
    } finally {
      spy.mockRestore();
    }
  });

  it('a deploy of strict CREATEs alone reads the objects of their names, and drift still refuses what exists', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      ...SCHEMAS,
      'data/002_t.sql':
        'CREATE TABLE workspace.t (id int);\nCREATE INDEX t_id ON workspace.t (id);\n',
    });
    expect((await migrate({ cwd, env: single(url), sets: ['data'] })).error).toBeUndefined();
    const spy = vi.spyOn(pg.Client.prototype, 'query');
    try {
      writeFile(
        cwd,
        'data/003_u.sql',
        'CREATE TABLE workspace.u (id int);\nCREATE INDEX u_id ON workspace.u (id);\n',
      );
      expect((await migrate({ cwd, env: single(url), sets: ['data'] })).error).toBeUndefined();
      const asked = spy.mock.calls.filter((call) => call[0] === MODEL_SQL).map((call) => call[1]);
      expect(asked).toEqual([
        [
          ['reference', 'workspace'],
          ['u', 'u_id'],
        ],
      ]);
      // The index's name is taken, by another table's index: drift says so before anything runs.
      writeFile(
        cwd,
        'data/004_v.sql',
        'CREATE TABLE workspace.v (id int);\nCREATE INDEX t_id ON workspace.v (id);\n',
      );
      const refused = await migrate({ cwd, env: single(url), sets: ['data'] });
      expect(refused.error?.message).toContain(
        'creates index workspace.t_id, which already exists',
      );
      expect((await query(url, "SELECT to_regclass('workspace.v') IS NULL AS absent"))[0]).toEqual({
        absent: true,
      });
    } finally {
      spy.mockRestore();
    }
  });
});
