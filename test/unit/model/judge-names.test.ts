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
  schemas: ['pg_catalog', 'public', 'workspace', 'archive'],
  relations: [
    { oid: 10, schema: 'workspace', name: 'items', kind: 'table', identity: 'workspace.items' },
  ],
  types: [],
  functions: [],
  extensions: [],
});

/** The refusal's reason for `sql`, the server having said that the probed table (OID 10) holds 5 rows under its name when the run began. */
function reason(sql: string): string {
  const m: GuardedMigration = {
    path: 'database/data/002_x.sql',
    operations: operationsOfSql(sql),
    forced: false,
    statements: [],
  };
  const { hazards, probes } = findHazards(model, [m], parser);
  expect(probes.map((p) => ('oid' in p ? p.oid : undefined))).toEqual([10]);
  const facts: ProbeFacts = {
    holders: [{ table: 'workspace.items', rows: 5, more: false }],
    relation: 'workspace.items',
  };
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
  });
});
