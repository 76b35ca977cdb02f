import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { migrate, status, validate } from '../../src/api.js';
import { databaseName, freshDatabase, openClient, query, waitFor } from '../support/db.js';
import { makeProject, SMALL_SETS } from '../support/project.js';

/*
 * The missing-object check, the longest reading of a run with nothing to do,
 * is read ahead on a session of its own while the run's session reads the
 * tracking and the schemas (engine/context.ts RunOptions.readAhead): under
 * migrate's run lock only once it is held, and where no session can be
 * added, on the run's own as before.
 */

const single = (url: string) => ({ PRIMARY_DATABASE_URL: url });

/** Which client sent each query whose text includes a marker: the tracking read, the missing-object check. */
function watchQueries() {
  const spy = vi.spyOn(pg.Client.prototype, 'query');
  const clientOf = (marker: string) => {
    const at = spy.mock.calls.findIndex((call) => {
      const text: unknown = call[0];
      return typeof text === 'string' && text.includes(marker);
    });
    return at < 0 ? undefined : (spy.mock.contexts[at] as pg.Client);
  };
  return {
    tracking: () => clientOf('SELECT DISTINCT ON (version)'),
    missing: () => clientOf('WITH now AS MATERIALIZED'),
  };
}

/** A role that owns the database, allowed `limit` connections at once; its URL. */
async function limitedOwner(url: string): Promise<{ url: string; role: string }> {
  const role = `limited_${Math.random().toString(36).slice(2, 8)}`;
  await query(
    url,
    `CREATE ROLE ${role} LOGIN PASSWORD 'limited-pw'; ALTER DATABASE ${databaseName(url)} OWNER TO ${role}`,
  );
  const owner = new URL(url);
  owner.username = role;
  owner.password = 'limited-pw';
  return { url: owner.toString(), role };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the missing objects, read ahead on a session of their own', () => {
  it('migrate reads them once it holds the run lock: what changed while it waited is missing', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(SMALL_SETS);
    expect((await migrate({ cwd, env: single(url) })).error).toBeUndefined();
    const holder = await openClient(url);
    await holder.query("SELECT pg_advisory_lock(x'73636865'::int, x'6d617461'::int)");
    const watched = watchQueries();
    const run = migrate({ cwd, env: single(url), lockTimeout: 30 });
    // The run waits for the lock, its session open.
    expect(
      await waitFor(
        async () =>
          (
            await query<{ n: number }>(
              url,
              "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%schemata waits for the run lock%'",
            )
          )[0]!.n > 0,
        10_000,
      ),
    ).toBe(true);
    // A while later (what reads before the lock would have read by now), another run's work, by hand here:
    // the table the data set made is gone.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await query(url, 'DROP TABLE workspace.items');
    await holder.end();
    const report = await run;
    expect(report.exitCode).toBe(3);
    expect(report.sets[1]!.problems.map((p) => p.message).join('\n')).toContain('workspace.items');
    // Read on a session of its own, neither the run's nor the lock's.
    expect(watched.missing()).toBeDefined();
    expect(watched.missing()).not.toBe(watched.tracking());
  });

  it('status and validate read them beside the tracking, with what no migration made', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(SMALL_SETS);
    expect((await migrate({ cwd, env: single(url) })).error).toBeUndefined();
    await query(url, 'CREATE TABLE workspace.by_hand (id int); DROP TABLE config.settings');
    const watched = watchQueries();
    const shown = await status({ cwd, env: single(url) });
    expect(watched.missing()).toBeDefined();
    expect(watched.missing()).not.toBe(watched.tracking());
    expect(shown.sets[1]!.extra).toEqual([
      'table workspace.by_hand',
      'column workspace.by_hand.id',
    ]);
    expect(shown.sets[0]!.problems.map((p) => p.message).join('\n')).toContain('config.settings');
    const checked = await validate({ cwd, env: single(url) });
    expect(checked.exitCode).toBe(3);
    expect(checked.sets[0]!.problems.map((p) => p.message).join('\n')).toContain('config.settings');
  });

  it('where the role may open no more sessions, they are read on the run’s own, with the same answers', async () => {
    const admin = await freshDatabase();
    const { url, role } = await limitedOwner(admin);
    const cwd = makeProject(SMALL_SETS);
    expect((await migrate({ cwd, env: single(url) })).error).toBeUndefined();
    await query(url, 'CREATE TABLE workspace.by_hand (id int); DROP TABLE config.settings');
    // migrate needs two sessions (its own and the lock's), status and validate one.
    await query(admin, `ALTER ROLE ${role} CONNECTION LIMIT 1`);
    const watched = watchQueries();
    const shown = await status({ cwd, env: single(url) });
    expect(shown.error).toBeUndefined();
    expect(watched.missing()).toBe(watched.tracking());
    expect(shown.sets[1]!.extra).toEqual([
      'table workspace.by_hand',
      'column workspace.by_hand.id',
    ]);
    expect(shown.sets[0]!.problems.map((p) => p.message).join('\n')).toContain('config.settings');
    expect((await validate({ cwd, env: single(url) })).exitCode).toBe(3);
    await query(admin, `ALTER ROLE ${role} CONNECTION LIMIT 2`);
    const refused = await migrate({ cwd, env: single(url) });
    expect(refused.exitCode).toBe(3);
    expect(refused.sets[0]!.problems.map((p) => p.message).join('\n')).toContain('config.settings');
    // The three sessions of a run end with it: the role may connect again at once.
    expect((await migrate({ cwd, env: single(url), repair: true })).error).toBeUndefined();
  });
});
