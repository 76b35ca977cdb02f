import { describe, expect, it } from 'vitest';
import { checkDrift } from '../../../src/plan/drift.js';
import { expectedObjects } from '../../../src/plan/expected.js';
import { type Effects, type ObjectRef, objectKey } from '../../../src/sql/objects.js';

const table = (schema: string, name: string): ObjectRef => ({ type: 'relation', kind: 'table', schema, name });
const column = (schema: string, t: string, name: string): ObjectRef => ({ type: 'column', schema, table: t, name });
const index = (schema: string, name: string, t: string): ObjectRef => ({ type: 'relation', kind: 'index', schema, name, table: t });
const view = (schema: string, name: string): ObjectRef => ({ type: 'relation', kind: 'view', schema, name });
const effects = (e: Partial<Effects>): Effects => ({ creates: [], drops: [], renames: [], opaque: false, ...e });
const migration = (version: string, e: Partial<Effects> | null) => ({ version, file: `${version}.sql`, effects: e && effects(e) });
const expectedKeys = (applied: ReturnType<typeof migration>[]) => expectedObjects(applied).map((e) => `${objectKey(e.ref)} ${e.by}`);

describe('expectedObjects', () => {
  it('keeps what was created, with the migration that made it', () => {
    expect(expectedKeys([migration('1', { creates: [{ type: 'schema', name: 's' }] }), migration('2', { creates: [table('s', 't'), column('s', 't', 'a')] })])).toEqual([
      'schema:s 1.sql',
      'relation:s.t 2.sql',
      'column:s.t.a 2.sql',
    ]);
  });

  it('forgets what a later migration dropped, with its columns and indexes, and everything of a dropped schema', () => {
    const made = migration('1', { creates: [{ type: 'schema', name: 's' }, table('s', 't'), column('s', 't', 'a'), index('s', 'i', 't'), table('s', 'keep')] });
    expect(expectedKeys([made, migration('2', { drops: [table('s', 't')] })])).toEqual(['schema:s 1.sql', 'relation:s.keep 1.sql']);
    expect(expectedKeys([made, migration('2', { drops: [{ type: 'schema', name: 's' }] })])).toEqual([]);
  });

  it('expects a renamed table, and its columns, under the new name', () => {
    const made = migration('1', { creates: [table('s', 'old'), column('s', 'old', 'a')] });
    const renamed = migration('2', { renames: [{ from: table('s', 'old'), to: table('s', 'new') }] });
    expect(expectedKeys([made, renamed])).toEqual(['relation:s.new 2.sql', 'column:s.new.a 2.sql']);
  });

  it('after CASCADE no longer expects the views that may have depended on what was dropped', () => {
    const made = migration('1', { creates: [table('s', 't'), view('s', 'v'), table('s', 'other')] });
    expect(expectedKeys([made, migration('2', { drops: [table('s', 't')], cascade: true })])).toEqual(['relation:s.other 1.sql']);
  });

  it('after a migration the parser could not follow, expects nothing made before it; unknown effects add nothing', () => {
    const made = migration('1', { creates: [table('s', 't')] });
    expect(expectedKeys([made, migration('2', { opaque: true, creates: [table('s', 'u')] })])).toEqual(['relation:s.u 2.sql']);
    expect(expectedKeys([made, migration('2', null)])).toEqual(['relation:s.t 1.sql']);
  });
});

describe('checkDrift', () => {
  const at = { line: 3, column: 1 };
  it('names a strict CREATE of something that exists, with the baseline command', () => {
    const problems = checkDrift('data', [{ path: 'database/data/004_x.sql', version: '4', strictCreates: [{ ref: column('w', 'items', 'note'), at }], effects: effects({}) }], new Set(['column:w.items.note']));
    expect(problems).toEqual([
      {
        kind: 'drift',
        message: expect.stringContaining('database/data/004_x.sql:3:1 creates column w.items.note, which already exists'),
        hint: expect.stringContaining('schemata baseline data --version 4'),
      },
    ]);
  });

  it('is not drift when the object is missing, or when an earlier pending migration drops it first', () => {
    const strict = [{ ref: table('w', 't'), at }];
    expect(checkDrift('data', [{ path: 'a', version: '4', strictCreates: strict, effects: effects({}) }], new Set())).toEqual([]);
    expect(
      checkDrift(
        'data',
        [
          { path: 'a', version: '3', strictCreates: [], effects: effects({ drops: [table('w', 't')] }) },
          { path: 'b', version: '4', strictCreates: strict, effects: effects({}) },
        ],
        new Set(['relation:w.t']),
      ),
    ).toEqual([]);
  });
});
