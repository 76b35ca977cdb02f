import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/api.js';
import { databaseName, freshDatabase, query } from '../support/db.js';
import { makeProject, SMALL_SETS } from '../support/project.js';

/*
 * On a database that held no table when the run began, DDL that writes no
 * row runs without the measurement (model/steps.ts unmeasuredOf), until the
 * first migration that may write one. Which migrations the measurement ran
 * for is read from the server: its own count of calls of schemata's
 * measurement functions (track_functions), which it reports once the
 * session ends.
 */

/** Every later migration writes rows or follows one that does: measured. */
const FILES = {
  ...SMALL_SETS,
  'data/003_index.sql': 'CREATE INDEX items_id ON workspace.items (id);\n',
  'data/004_rows.sql': 'INSERT INTO workspace.items VALUES (1), (2), (3);\n',
  'data/005_more.sql': 'CREATE TABLE workspace.more (id int);\n',
};

async function countingMeasurements(url: string): Promise<void> {
  await query(url, `ALTER DATABASE ${databaseName(url)} SET track_functions = 'pl'`);
}

/** Calls of schemata's measurement before the file, as the server counted them. */
async function measuredMigrations(url: string, expected: number): Promise<number> {
  let calls = -1;
  // The run's session reports its counts as it ends: read until they are there.
  for (let i = 0; i < 40 && calls !== expected; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 100));
    const [row] = await query<{ calls: number }>(
      url,
      "SELECT COALESCE(sum(calls), 0)::int AS calls FROM pg_stat_user_functions WHERE schemaname = 'schemata' AND funcname LIKE 'measure\\_before\\_%'",
    );
    calls = row!.calls;
  }
  return calls;
}

const effectsOf = async (url: string, set: string, version: string) =>
  (
    await query<{ effects: { created: Array<{ identity: string }>; rows: unknown } }>(
      url,
      'SELECT effects FROM schemata.migrations WHERE set_name = $1 AND version = $2 ORDER BY id DESC LIMIT 1',
      [set, version],
    )
  )[0]?.effects;

describe('DDL on a database that held no table', () => {
  for (const singleTransaction of [false, true]) {
    it(`runs unmeasured until the first migration that writes rows${singleTransaction ? ' (--single-transaction)' : ''}`, async () => {
      const url = await freshDatabase();
      await countingMeasurements(url);
      const report = await migrate({
        cwd: makeProject(FILES),
        env: { PRIMARY_DATABASE_URL: url },
        singleTransaction,
      });
      expect(report.error).toBeUndefined();
      // 004 writes rows and 005 follows it: two measured, the six before them not.
      expect(await measuredMigrations(url, 2)).toBe(2);
      // What an unmeasured migration made is recorded from the catalog as ever, with no rows.
      const index = await effectsOf(url, 'data', '3');
      expect(index?.created.map((o) => o.identity)).toContain('workspace.items_id');
      expect(index?.rows).toEqual([]);
      expect((await effectsOf(url, 'data', '4'))?.rows).toEqual([
        { table: 'workspace.items', inserted: 3, updated: 0, deleted: 0 },
      ]);
      expect((await effectsOf(url, 'data', '5'))?.created.map((o) => o.identity)).toContain(
        'workspace.more',
      );
    });
  }

  it.each([
    [
      'a table was there when the run began',
      'CREATE TABLE public.kept (id int); INSERT INTO public.kept VALUES (1)',
    ],
    [
      'an event trigger could write rows as DDL runs',
      `CREATE FUNCTION public.noop() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$;
       CREATE EVENT TRIGGER audit ON ddl_command_end EXECUTE FUNCTION public.noop();`,
    ],
  ])('measures every migration where %s', async (_where, before) => {
    const url = await freshDatabase();
    await query(url, before);
    await countingMeasurements(url);
    const report = await migrate({
      cwd: makeProject(SMALL_SETS),
      env: { PRIMARY_DATABASE_URL: url },
    });
    expect(report.error).toBeUndefined();
    expect(await measuredMigrations(url, 4)).toBe(4);
  });
});
