import { describe, expect, it } from 'vitest';
import { nodePgMigrate } from '../../../src/tools/node-pg-migrate.js';

/*
 * node-pg-migrate's rows against an imported .up.sql/.down.sql pair (one
 * migration, 1700000000000_t1): its `sql` loader records the pair by its id;
 * its default loader for .sql files runs each half as a migration of its own
 * (rows 1700000000000_t1.down, then 1700000000000_t1.up), as seen running
 * node-pg-migrate 9.0.
 */
const imported = [
  { id: '1700000000000_t1', source: '1700000000000_t1.up.sql', file: '1700000000000_t1.sql' },
  { id: '1700000001000_t2', source: '1700000001000_t2.sql', file: '1700000001000_t2.sql' },
];
const rows = (...names: string[]) =>
  names.map((name, i) => ({ id: i + 1, name, run_on: '2024-01-01 00:00:00' }));
const judge = (names: string[]) =>
  nodePgMigrate.judge(rows(...names), imported, () => Buffer.from(''));

describe("node-pg-migrate's rows", () => {
  it('adopts the pair its sql loader ran under the pair id', () => {
    const verdict = judge(['1700000000000_t1', '1700000001000_t2']);
    expect(verdict.problems).toEqual([]);
    expect([...verdict.applied.keys()]).toEqual(['1700000000000_t1', '1700000001000_t2']);
  });

  it('names each half its default loader ran as a migration of its own, the down as run too', () => {
    const verdict = judge(['1700000000000_t1.down', '1700000000000_t1.up', '1700000001000_t2']);
    expect(verdict.problems).toEqual([
      '1700000000000_t1.down: node-pg-migrate ran 1700000000000_t1.down.sql as a migration of its own (its default loader for .sql files does not pair .up.sql with .down.sql; the `sql` loader does), so this database ran the down part as a migration too, where the import made one migration of the pair',
      '1700000000000_t1.up: node-pg-migrate ran 1700000000000_t1.up.sql as a migration of its own (its default loader for .sql files does not pair .up.sql with .down.sql; the `sql` loader does), where the import made one migration of the pair',
    ]);
  });

  it('names a row of no imported file as such', () => {
    expect(judge(['1699999999999_gone']).problems).toEqual([
      '1699999999999_gone: run by node-pg-migrate, but the imported migrations have no such file',
    ]);
  });
});
