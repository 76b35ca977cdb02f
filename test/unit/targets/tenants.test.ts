import { describe, expect, it } from 'vitest';
import { databaseNames, unlistedDatabases } from '../../../src/targets/tenants.js';

const at = (server: string, database: string) => ({ server, database });

describe('databaseNames', () => {
  it.each([
    { among: [at('a:5432', 'x'), at('a:5432', 'y')], names: ['x', 'y'] },
    { among: [at('a:5432', 'x'), at('b:5432', 'x')], names: ['a:5432/x', 'b:5432/x'] },
    { among: [at('a:5432', 'x'), at('b:5433', 'y')], names: ['x', 'y'] },
  ])(
    'names $among.length databases by name, with host:port where two servers share one',
    ({ among, names }) => {
      expect(databaseNames(among)).toEqual(names);
    },
  );

  it('tells an orphan apart from a listed tenant of the same name on another server', () => {
    const listed = [at('a:5432', 'x')];
    const orphans = [at('b:5432', 'x'), at('b:5432', 'z')];
    expect(databaseNames(orphans, [...listed, ...orphans])).toEqual(['b:5432/x', 'z']);
  });
});

describe('unlistedDatabases', () => {
  it('leaves out the listed ones, on their own server only', () => {
    expect(
      unlistedDatabases(
        [at('a:5432', 'x')],
        [at('a:5432', 'x'), at('a:5432', 'y'), at('b:5432', 'x')],
      ),
    ).toEqual([at('a:5432', 'y'), at('b:5432', 'x')]);
  });
});
