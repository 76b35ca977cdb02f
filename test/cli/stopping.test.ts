import { describe, expect, it } from 'vitest';
import { query, freshDatabase, tableExists, trackedVersions } from '../support/db.js';
import { startCli } from '../support/cli.js';
import { makeProject } from '../support/project.js';

/*
 * SPEC §4 "Stopping": a real signal to a real child process, mid-migration.
 * The migration sleeps on the server; the test waits until pg_stat_activity
 * shows it, then signals the CLI.
 */

async function waitFor(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

const sessions = async (url: string) =>
  (
    await query<{ n: number }>(
      url,
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'schemata'",
    )
  )[0]!.n;

describe.each([
  ['SIGTERM', 143],
  ['SIGINT', 130],
] as const)('stopped by %s', (signal, exitCode) => {
  it(`cancels the running statement on the server, rolls the migration back, and exits ${exitCode} naming it`, async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      'data/001_schemas.sql':
        'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
      'data/002_slow.sql': 'CREATE TABLE workspace.slow (id int);\nSELECT pg_sleep(60);\n',
      'data/003_after.sql': 'CREATE TABLE workspace.after (id int);\n',
    });
    const { child, done } = startCli(['migrate', 'data'], {
      cwd,
      env: { PRIMARY_DATABASE_URL: url },
    });
    const sleeping = await waitFor(
      async () =>
        (
          await query<{ n: number }>(
            url,
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = current_database()",
          )
        )[0]!.n > 0,
      20_000,
    );
    expect(sleeping).toBe(true);
    const sent = Date.now();
    child.kill(signal);
    const result = await done;
    expect(Date.now() - sent).toBeLessThan(10_000);
    expect(result.code).toBe(exitCode);
    expect(result.stderr).toContain(`stopped by ${signal} while applying 002_slow.sql`);
    expect(result.stderr).toContain('nothing of it is applied or recorded');
    expect(result.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
    // Nothing of it later either: no session left running it, nothing committed.
    expect(await waitFor(async () => (await sessions(url)) === 0, 5_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    expect(await tableExists(url, 'workspace.slow')).toBe(false);
    expect(await tableExists(url, 'workspace.after')).toBe(false);
    expect(await trackedVersions(url, 'data')).toEqual(['1']);
  });
});
