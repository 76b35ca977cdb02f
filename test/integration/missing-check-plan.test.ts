import pg from 'pg';
import { describe, expect, it } from 'vitest';
import {
  ENSURE_TRACKING_SQL,
  extraObjects,
  missingAndExtra,
  missingObjectsOfSet,
} from '../../src/engine/tracking.js';
import { OWN_SETTINGS_SQL } from '../../src/engine/own-settings.js';
import { freshDatabase, query } from '../support/db.js';

/*
 * The checks for missing and extra objects compare the expected objects
 * with the catalog's, thousands of rows each. A database migrated a moment
 * ago has no statistics on schemata.objects yet (autovacuum analyzes it
 * later): there the planner sorted both sides to merge them, a quarter more
 * of a no-op deploy's check. The server's own plans, reported by
 * auto_explain in the session, say how they were matched.
 */
const AUTO_EXPLAIN =
  '-c session_preload_libraries=auto_explain -c auto_explain.log_min_duration=0 -c client_min_messages=log';

/** Runs `check` on a session of `url` whose plans auto_explain reports (`settings`: more of its options); the plans. */
async function plansOf(
  url: string,
  settings: string,
  check: (client: pg.Client) => Promise<void>,
): Promise<string[]> {
  const client = new pg.Client({
    connectionString: `${url}?options=${encodeURIComponent(`${AUTO_EXPLAIN} ${settings}`)}`,
  });
  const plans: string[] = [];
  client.on('notice', (n) => {
    if (n.message?.includes('Query Text:')) plans.push(n.message);
  });
  await client.connect();
  try {
    await check(client);
  } finally {
    await client.end();
  }
  return plans;
}

describe('the missing and extra objects are matched by a hash, with or without statistics', () => {
  it('plans no merge of the expected objects with the catalog on a database never analyzed', async () => {
    const url = await freshDatabase();
    await query(url, `${OWN_SETTINGS_SQL}; ${ENSURE_TRACKING_SQL}`);
    // 13,000 expected objects, as 1,000 migrated tables leave, written without an ANALYZE and kept from autovacuum's.
    await query(
      url,
      `CREATE SCHEMA workspace;
       ALTER TABLE schemata.objects SET (autovacuum_enabled = off);
       INSERT INTO schemata.objects (set_name, kind, identity, schema_name, name, parent, version, file)
       SELECT 'data', 'column', pg_catalog.format('workspace.t%s.c%s', i / 13, i), 'workspace', 'c' || i,
              pg_catalog.format('workspace.t%s', i / 13), '1', '001_tables.sql'
         FROM generate_series(1, 13000) i;`,
    );
    const [stats] = await query<{ reltuples: number }>(
      url,
      "SELECT reltuples FROM pg_class WHERE oid = 'schemata.objects'::regclass",
    );
    expect(stats?.reltuples).toBe(-1);

    const plans = await plansOf(url, '', async (client) => {
      // status (missing and extra in one read), a tenant's set, and the extra objects alone.
      const { missing, extra } = await missingAndExtra(client, ['workspace']);
      expect(missing.get('data')).toHaveLength(13000);
      expect(extra).toEqual([]);
      expect(await missingObjectsOfSet(client, 'data')).toHaveLength(13000);
      // migrate's and validate's: the missing alone.
      expect((await missingAndExtra(client, undefined)).missing.get('data')).toHaveLength(13000);
      expect(await extraObjects(client, ['workspace'])).toEqual([]);
    });

    const comparing = plans.filter((p) => / on objects\b/.test(p));
    expect(comparing).toHaveLength(4);
    for (const plan of comparing) {
      expect(plan).not.toMatch(/Merge/);
      expect(plan).toMatch(/Hash ((Right )?Anti|Full) Join/);
    }
  });
});

describe("a function's argument types are read by their OIDs", () => {
  it('reads no whole pg_type per function listed, with hash joins allowed as the check allows them', async () => {
    const url = await freshDatabase();
    await query(url, `${OWN_SETTINGS_SQL}; ${ENSURE_TRACKING_SQL}`);
    // Sixty functions over a type of the schema, an array of it and a built-in type: a history's helpers.
    await query(
      url,
      `CREATE SCHEMA workspace;
       CREATE TYPE workspace.mood AS ENUM ('happy', 'sad');
       DO $$ BEGIN
         FOR i IN 1..60 LOOP
           EXECUTE format('CREATE FUNCTION workspace.f%s(a workspace.mood, b workspace.mood[], c integer) RETURNS int LANGUAGE sql AS %L', i, 'SELECT 1');
         END LOOP;
       END $$;
       ANALYZE;`,
    );
    const plans = await plansOf(
      url,
      '-c auto_explain.log_analyze=on -c auto_explain.log_timing=off',
      async (client) => {
        const { missing, extra } = await missingAndExtra(client, ['workspace']);
        expect(missing.size).toBe(0);
        // Every function is extra (no migration made them): all sixty were listed, with their argument types.
        expect(extra?.filter((o) => o.kind === 'function')).toHaveLength(60);
        expect(extra).toContainEqual({
          kind: 'function',
          identity: 'workspace.f1(workspace.mood, workspace.mood[], integer)',
          schema: 'workspace',
        });
      },
    );
    const listing = plans.find((p) => / on objects\b/.test(p));
    expect(listing).toBeDefined();
    // A whole read of pg_type runs at most once per branch of the listing, never once per function.
    const loops = [...listing!.matchAll(/Seq Scan on pg_type \S+ .*loops=(\d+)/g)].map((m) =>
      Number(m[1]),
    );
    expect(loops.filter((n) => n > 1)).toEqual([]);
  });
});
