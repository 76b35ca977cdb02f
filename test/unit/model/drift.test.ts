import { describe, expect, it } from 'vitest';
import { checkDrift, strictCreates } from '../../../src/model/drift.js';
import { refKey } from '../../../src/sql/operations.js';
import { operationsOfSql } from '../operations-helpers.js';

const pending = (files: Record<string, string>) =>
  Object.entries(files).map(([path, sql], i) => ({
    path,
    version: String(i + 2),
    operations: operationsOfSql(sql),
  }));

/** Drift of the pending files, given which of their strict creates exist now (by the unresolved key the server answers for). */
function drift(files: Record<string, string>, exists: (key: string) => boolean) {
  const migrations = pending(files);
  const existing = new Set(
    strictCreates(migrations)
      .map((ref) => refKey(ref))
      .filter(exists),
  );
  return checkDrift('data', migrations, existing, 'public');
}

describe('checkDrift', () => {
  it('names a strict CREATE of what exists, with file:line:column and the baseline of that version', () => {
    const [problem, ...rest] = drift(
      { '002_t.sql': 'SELECT 1;\nCREATE TABLE workspace.t (id int);\n' },
      () => true,
    );
    expect(rest).toEqual([]);
    expect(problem!.message).toContain(
      '002_t.sql:2:1 creates table workspace.t, which already exists',
    );
    expect(problem!.hint).toContain('schemata baseline data --version 2');
  });

  it.each([
    [
      'a DROP ... IF EXISTS earlier in the same file',
      { '002_v.sql': 'DROP VIEW IF EXISTS workspace.v;\nCREATE VIEW workspace.v AS SELECT 1;\n' },
    ],
    [
      'a DROP in an earlier pending file',
      {
        '002_d.sql': 'DROP VIEW workspace.v;\n',
        '003_v.sql': 'CREATE VIEW workspace.v AS SELECT 1;\n',
      },
    ],
    [
      'a rename away earlier in the file',
      {
        '002_s.sql':
          'ALTER TABLE workspace.v RENAME TO v_old;\nCREATE TABLE workspace.v (id int);\n',
      },
    ],
    [
      'an unqualified drop of the qualified name (through the creation schema)',
      { '002_v.sql': 'DROP VIEW IF EXISTS v;\nCREATE VIEW public.v AS SELECT 1;\n' },
    ],
    [
      'DROP FUNCTION without arguments',
      {
        '002_f.sql':
          'DROP FUNCTION workspace.f;\nCREATE FUNCTION workspace.f(int) RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n',
      },
    ],
  ])('no drift after %s', (_name, files) => {
    expect(drift(files, () => true)).toEqual([]);
  });

  it('a drop after the CREATE does not clear it: PostgreSQL fails at the CREATE', () => {
    expect(
      drift(
        { '002_v.sql': 'CREATE VIEW workspace.v AS SELECT 1;\nDROP VIEW workspace.v;\n' },
        () => true,
      ),
    ).toHaveLength(1);
  });

  it('functions by signature: `int` and `integer` are one signature, `text` another', () => {
    const files = {
      '002_f.sql':
        'CREATE FUNCTION workspace.f(a integer, OUT b text) RETURNS text LANGUAGE sql AS $$ SELECT 1 $$;\n',
    };
    const f = pending({
      x: 'CREATE FUNCTION workspace.f(int) RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;',
    })[0]!.operations[0]!;
    const existingKey = f.kind === 'create' ? refKey(f.object) : '';
    expect(drift(files, (key) => key === existingKey)).toHaveLength(1);
    expect(
      drift(
        {
          '002_f.sql':
            'CREATE FUNCTION workspace.f(text) RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n',
        },
        (key) => key === existingKey,
      ),
    ).toEqual([]);
  });

  it('IF NOT EXISTS, OR REPLACE and nameless indexes are never drift', () => {
    const migrations = pending({
      '002.sql':
        'CREATE TABLE IF NOT EXISTS t (id int);\nCREATE OR REPLACE VIEW v AS SELECT 1;\nCREATE INDEX ON t (id);\nALTER TABLE t ADD COLUMN IF NOT EXISTS c int;\n',
    });
    expect(strictCreates(migrations)).toEqual([]);
  });
});

describe('checkDrift: what a drop takes along', () => {
  const all = () => true;
  const driftWith = (sql: string, indexTables: Record<string, string>) => {
    const migrations = pending({ '003_x.sql': sql });
    const existing = new Set(strictCreates(migrations).map((ref) => refKey(ref)));
    return checkDrift('data', migrations, existing, 'public', new Map(Object.entries(indexTables)));
  };

  it.each([
    [
      'an index of a dropped table',
      'DROP TABLE w.t;\nCREATE TABLE w.t (id int);\nCREATE INDEX t_idx ON w.t (id);\n',
      { 'relation:w..t_idx': 't' },
    ],
    [
      'a constraint of a dropped table',
      'DROP TABLE w.t;\nCREATE TABLE w.t (id int);\nALTER TABLE w.t ADD CONSTRAINT t_pos CHECK (id > 0);\n',
      {},
    ],
    [
      'whatever was in a dropped schema, made again after the schema',
      'DROP SCHEMA s CASCADE;\nCREATE SCHEMA s;\nCREATE TABLE s.work (id int);\nCREATE INDEX work_idx ON s.work (id);\n',
      {},
    ],
  ])('%s is no drift', (_name, sql, indexTables) => {
    expect(
      driftWith(sql, indexTables).filter((p) => !p.message.includes('creates schema')),
    ).toEqual([]);
  });

  it('an index whose own table is not dropped is drift, though another table is', () => {
    const problems = driftWith('DROP TABLE w.other;\nCREATE INDEX t_idx ON w.t (id);\n', {
      'relation:w..t_idx': 't',
    });
    expect(problems.map((p) => p.message)).toEqual([
      expect.stringContaining('creates index w.t_idx') as unknown,
    ]);
  });

  it('a temporary table is no object of the set: no drift, whatever exists', () => {
    expect(
      drift(
        {
          '003_tmp.sql':
            'CREATE TEMP TABLE t (id int) ON COMMIT DROP;\nCREATE TEMPORARY VIEW v AS SELECT 1;\n',
        },
        all,
      ),
    ).toEqual([]);
  });
});
