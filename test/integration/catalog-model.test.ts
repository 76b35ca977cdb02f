import pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import { migrate } from '../../src/api.js';
import { CATALOG_OBJECTS_SQL, type CatalogObject } from '../../src/catalog/listing.js';
import { MODEL_SQL, readCatalogModel } from '../../src/catalog/model.js';
import {
  functionByIdentity,
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
      spy.mockClear();
      expect((await migrate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
      expect(reads()).toBe(0);
    } finally {
      spy.mockRestore();
    }
  });
});
