import { describe, expect, it } from 'vitest';
import type { MigrationFile } from '../../../src/config/discover.js';
import { type JudgedMigration, planSteps, unmeasuredOf } from '../../../src/model/steps.js';
import { loadParser } from '../../../src/sql/parse.js';
import { parseFile } from '../../../src/sql/statements.js';

const parser = await loadParser();

/** A migration of `sql` as planning judges it on a database that held no table: nothing traced. */
function judged(sql: string, version = '1', transactional = true): JudgedMigration {
  const parsed = parseFile(parser, sql);
  if (!parsed.ok) throw new Error(parsed.problem.message);
  const file: MigrationFile = {
    version,
    name: 'm',
    file: `${version}_m.sql`,
    path: `/p/${version}_m.sql`,
    sql,
    checksum: '',
    rawChecksum: '',
  };
  return {
    file,
    path: file.file,
    statements: parsed.statements,
    operations: [],
    transactional,
    ownIsolation: false,
    forced: false,
    rerun: false,
    expectedEvent: null,
    guard: [],
    updatesRead: [],
    snapshot: 'all',
    judgements: [],
    outside: [],
  };
}

describe('a migration with nothing to measure', () => {
  it.each([
    'CREATE SCHEMA app;',
    'CREATE SCHEMA app CREATE TABLE t (id int) CREATE VIEW v AS SELECT 1 AS x;',
    'CREATE TABLE app.t (id int PRIMARY KEY, at timestamptz DEFAULT now(), CHECK (id > 0));',
    'CREATE TABLE "App"."T" (id int) PARTITION BY RANGE (id);',
    'CREATE INDEX t_id ON app.t (id);',
    'CREATE SEQUENCE app.s;',
    "CREATE TYPE app.mood AS ENUM ('a', 'b');",
    'CREATE DOMAIN app.pos AS int CHECK (VALUE > 0);',
    'CREATE VIEW app.v AS SELECT 1 AS x;',
    'CREATE FUNCTION app.f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;',
    'CREATE PROCEDURE app.p() LANGUAGE plpgsql AS $$ BEGIN DELETE FROM app.t; END $$;',
    'CREATE TRIGGER trg BEFORE INSERT ON app.t FOR EACH ROW EXECUTE FUNCTION app.f();',
    "COMMENT ON TABLE app.t IS 'x';",
    'GRANT SELECT ON app.t TO PUBLIC;',
    'SET search_path = app;',
    'ALTER TABLE app.t ADD CONSTRAINT t_fk FOREIGN KEY (id) REFERENCES app.u (id);',
    'ALTER TABLE app.t ADD COLUMN name text NOT NULL, ALTER COLUMN id SET DEFAULT 1;',
  ])('%s', (sql) => {
    expect(unmeasuredOf(judged(sql))).toBe(true);
  });

  it.each([
    'INSERT INTO app.t VALUES (1);',
    'CREATE TABLE app.t2 AS SELECT * FROM app.t;',
    'CREATE MATERIALIZED VIEW app.mv AS SELECT 1 AS x;',
    'SELECT app.f();',
    'CALL app.p();',
    'DO $$ BEGIN NULL; END $$;',
    'CREATE EXTENSION postgis;',
    'CREATE EVENT TRIGGER e ON ddl_command_end EXECUTE FUNCTION app.g();',
    // Evaluated over every row the table holds, and may call a function that writes.
    'ALTER TABLE app.t ADD CONSTRAINT positive CHECK (app.f() > 0);',
    'ALTER TABLE app.t ADD COLUMN at timestamptz DEFAULT clock_timestamp();',
    'ALTER TABLE app.t ALTER COLUMN id TYPE bigint;',
    'DROP TABLE app.t;',
    'TRUNCATE app.t;',
    'CREATE TABLE app.t (id int);\nINSERT INTO app.t VALUES (1);',
  ])('is not %s', (sql) => {
    expect(unmeasuredOf(judged(sql))).toBe(false);
  });

  it('is not one outside a transaction, or one the forecast traced', () => {
    expect(unmeasuredOf(judged('CREATE TABLE app.t (id int);', '1', false))).toBe(false);
    expect(unmeasuredOf({ ...judged('CREATE TABLE app.t (id int);'), guard: [16384] })).toBe(false);
  });

  it('is none after the first migration of the run that may write a row, nor where the database held a table', () => {
    const run = [
      judged('CREATE TABLE app.t (id int);', '1'),
      judged('INSERT INTO app.t VALUES (1);', '2'),
      judged('CREATE INDEX t_id ON app.t (id);', '3'),
    ];
    const unmeasured = (nothingHeld: boolean) =>
      planSteps(run, [], { force: false, tablesUpTo: 1, nothingHeld }).map(
        (s) => s.kind === 'apply' && s.measurement.unmeasured === true,
      );
    expect(unmeasured(true)).toEqual([true, false, false]);
    expect(unmeasured(false)).toEqual([false, false, false]);
  });
});
