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
  schemas: ['pg_catalog', 'public', 'workspace', 'archive', 'Mixed'],
  relations: [
    { oid: 10, schema: 'workspace', name: 'items', kind: 'table', identity: 'workspace.items' },
    { oid: 11, schema: 'Mixed', name: 'Case', kind: 'table', identity: '"Mixed"."Case"' },
  ],
  types: [],
  functions: [],
  extensions: [],
});

/**
 * The refusal's step and reason for `sql`, the server having said that the probed table holds 5 rows
 * under its name when the run began (as PostgreSQL prints it).
 */
function reason(sql: string, holder = 'workspace.items'): string {
  const m: GuardedMigration = {
    path: 'database/data/002_x.sql',
    operations: operationsOfSql(sql),
    forced: false,
    statements: [],
  };
  const { hazards, probes } = findHazards(model, [m], parser);
  // A DROP COLUMN also asks for the holders of the table's row type (another probe of the same hazard).
  expect(probes.filter((p) => p.mode !== 'row-type-columns')).toHaveLength(1);
  const facts: ProbeFacts = { holders: [{ table: holder, rows: 5, more: false }] };
  const [j] = judgeHazards(hazards, new Map([[0, facts]]), [m], false, probes);
  return `${j!.step}: ${j!.reason}`;
}

describe('a refusal names a table the run renamed or moved', () => {
  it('as the statement names it, and as it was when the run began', () => {
    expect(reason('DROP TABLE workspace.items;')).toBe(
      'DROP TABLE workspace.items: workspace.items holds 5 rows',
    );
    expect(
      reason('ALTER TABLE workspace.items RENAME TO items_old; DROP TABLE workspace.items_old;'),
    ).toBe(
      'DROP TABLE workspace.items_old: workspace.items_old (workspace.items when the run began) holds 5 rows',
    );
    expect(reason('ALTER TABLE workspace.items SET SCHEMA archive; TRUNCATE archive.items;')).toBe(
      'TRUNCATE archive.items: archive.items (workspace.items when the run began) holds 5 rows',
    );
    expect(
      reason(
        'ALTER TABLE workspace.items RENAME COLUMN id TO key; ALTER TABLE workspace.items RENAME TO things; ALTER TABLE workspace.things DROP COLUMN key;',
      ),
    ).toBe(
      'ALTER TABLE workspace.things DROP COLUMN key: workspace.things (workspace.items when the run began) holds 5 rows',
    );
  });

  it('not a table the run left as it was: a quoted name, or a table a schema takes along', () => {
    expect(reason('DROP TABLE "Mixed"."Case";', '"Mixed"."Case"')).toBe(
      'DROP TABLE "Mixed"."Case": "Mixed"."Case" holds 5 rows',
    );
    expect(reason('DROP SCHEMA workspace CASCADE;')).toBe(
      'DROP SCHEMA workspace CASCADE: workspace.items holds 5 rows',
    );
  });
});
