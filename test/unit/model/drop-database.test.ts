import { describe, expect, it } from 'vitest';
import type { ProbeFacts } from '../../../src/catalog/rows.js';
import { catalogModel } from '../../../src/model/catalog.js';
import { findHazards, type GuardedMigration, judgeHazards } from '../../../src/model/protect.js';
import { loadParser } from '../../../src/sql/parse.js';
import { operationsOfSql } from '../operations-helpers.js';

const parser = await loadParser();
const model = catalogModel({
  searchPath: ['$user', 'public'],
  user: 'app',
  schemas: ['pg_catalog', 'public'],
  relations: [],
  types: [],
  functions: [],
  extensions: [],
});

const migration = (sql: string, forced = false): GuardedMigration => ({
  path: 'database/data/002_drop.sql',
  operations: operationsOfSql(sql),
  forced,
  statements: [],
});

describe('DROP DATABASE in the forecast', () => {
  it('is a hazard on that database, asked there, its name quoted as SQL needs', () => {
    for (const [sql, step, name] of [
      ['DROP DATABASE old_app;', 'DROP DATABASE old_app', 'old_app'],
      ['DROP DATABASE IF EXISTS "Old App" WITH (FORCE);', 'DROP DATABASE "Old App"', 'Old App'],
    ] as const) {
      const { hazards, probes } = findHazards(model, [migration(sql)], parser);
      expect(hazards.map((h) => h.step)).toEqual([step]);
      expect(probes).toEqual([{ id: 0, mode: 'database', name }]);
    }
  });

  it('is judged on what that database holds; what cannot be asked is refused, or forced', () => {
    const judge = (facts: ProbeFacts, forced = false) => {
      const m = migration('DROP DATABASE old_app;', forced);
      const { hazards, probes } = findHazards(model, [m], parser);
      const [j] = judgeHazards(hazards, new Map([[0, facts]]), [m], false, probes);
      return `${j!.verdict}: ${j!.reason}`;
    };
    expect(judge({ holders: [] })).toBe('allowed: holds no rows');
    expect(judge({ holders: [{ table: 'old_app.public.t', rows: 3, more: false }] })).toBe(
      'refused: old_app.public.t holds 3 rows',
    );
    expect(judge({ holders: [], unreadable: 'no way in' })).toBe('refused: no way in');
    expect(judge({ holders: [], unreadable: 'no way in' }, true)).toBe('forced: no way in');
  });
});
