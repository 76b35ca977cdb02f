import { describe, expect, it } from 'vitest';
import { findingsOf } from './findings.js';

const RULE = 'create-without-if-not-exists';

const findings = findingsOf(RULE);

describe(RULE, () => {
  it.each([
    ['CREATE SCHEMA IF NOT EXISTS', 'CREATE SCHEMA IF NOT EXISTS workspace;'],
    ['CREATE TABLE IF NOT EXISTS', 'CREATE TABLE IF NOT EXISTS workspace.items (id int);'],
    ['CREATE INDEX IF NOT EXISTS', 'CREATE INDEX IF NOT EXISTS items_idx ON workspace.items (id);'],
    [
      'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS',
      'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS items_u ON workspace.items (id);',
    ],
    ['CREATE OR REPLACE VIEW', 'CREATE OR REPLACE VIEW workspace.v AS SELECT 1;'],
    [
      'CREATE OR REPLACE FUNCTION',
      'CREATE OR REPLACE FUNCTION workspace.f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;',
    ],
    ['a bare CREATE TABLE in a comment', '-- CREATE TABLE t (id int);\nSELECT 1;'],
    [
      'a bare CREATE TABLE inside a DO block',
      "DO $$ BEGIN IF to_regclass('a.t') IS NULL THEN CREATE TABLE a.t (id int); END IF; END $$;",
    ],
  ])('ok: %s', (_what, sql) => {
    expect(findings(sql)).toEqual([]);
  });

  it.each([
    [
      'CREATE SCHEMA',
      'SELECT 1;\nCREATE SCHEMA workspace;',
      2,
      1,
      'CREATE SCHEMA workspace without IF NOT EXISTS cannot run twice.',
    ],
    [
      'CREATE TABLE qualified',
      'SELECT 1;\n  CREATE TABLE workspace.items (id int);',
      2,
      3,
      'CREATE TABLE workspace.items without IF NOT EXISTS cannot run twice.',
    ],
    [
      'CREATE TABLE unqualified',
      'SELECT 1; CREATE TABLE items (id int);',
      1,
      11,
      'CREATE TABLE items without IF NOT EXISTS cannot run twice.',
    ],
    [
      'CREATE UNLOGGED TABLE',
      'CREATE UNLOGGED TABLE a.t (id int);',
      1,
      1,
      'CREATE TABLE a.t without IF NOT EXISTS cannot run twice.',
    ],
    [
      'CREATE INDEX',
      '\n\nCREATE INDEX items_idx ON workspace.items (id);',
      3,
      1,
      'CREATE INDEX items_idx without IF NOT EXISTS cannot run twice.',
    ],
    [
      'CREATE UNIQUE INDEX CONCURRENTLY',
      'CREATE UNIQUE INDEX CONCURRENTLY items_u ON workspace.items (id);',
      1,
      1,
      'CREATE INDEX items_u without IF NOT EXISTS cannot run twice.',
    ],
    [
      'an unnamed CREATE INDEX',
      'CREATE INDEX ON workspace.items (id);',
      1,
      1,
      'CREATE INDEX (unnamed) without IF NOT EXISTS cannot run twice.',
    ],
  ])('bad: %s', (_what, sql, line, column, message) => {
    const found = findings(sql);
    expect(found.map((f) => ({ at: f.at, severity: f.severity, message: f.message }))).toEqual([
      { at: { line, column }, severity: 'warning', message },
    ]);
    expect(found[0]!.fix).toContain('IF NOT EXISTS');
  });

  // SPEC §6: CREATE TABLE without IF NOT EXISTS. CREATE TABLE ... AS fails the
  // second time exactly like CREATE TABLE does ("relation already exists").
  it('bad: CREATE TABLE ... AS', () => {
    const found = findings('CREATE TABLE workspace.copy AS SELECT 1 AS x;');
    expect(found.map((f) => ({ at: f.at, severity: f.severity }))).toEqual([
      { at: { line: 1, column: 1 }, severity: 'warning' },
    ]);
    expect(found[0]!.message).toContain('workspace.copy');
  });

  it('ok: CREATE TABLE IF NOT EXISTS ... AS', () => {
    expect(findings('CREATE TABLE IF NOT EXISTS workspace.copy AS SELECT 1 AS x;')).toEqual([]);
  });

  it('reports each bare CREATE of a file', () => {
    const sql =
      'CREATE SCHEMA s;\nCREATE TABLE IF NOT EXISTS s.a (id int);\nCREATE TABLE s.b (id int);\nCREATE INDEX i ON s.b (id);\n';
    expect(findings(sql).map((f) => f.at.line)).toEqual([1, 3, 4]);
  });
});
