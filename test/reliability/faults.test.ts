import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { json, runCli } from '../support/cli.js';
import { freshDatabase, query, schemaExists, trackedVersions } from '../support/db.js';
import { makeProject, REPO, SMALL_SETS } from '../support/project.js';

describe('faults', () => {
  it('the server terminates the connection mid-migration: exit 1 with a clear message, and the rerun completes', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      ...SMALL_SETS,
      'data/003_slow.sql': 'CREATE TABLE workspace.slow (id int);\nSELECT pg_sleep(3);\n',
    });
    const env = { PRIMARY_DATABASE_URL: url };
    const run = runCli(['migrate', 'data'], { cwd, env });
    const deadline = Date.now() + 20_000;
    let terminated = 0;
    while (terminated === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      const rows = await query<{ n: number }>(
        url,
        "SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name LIKE 'schemata%' AND wait_event = 'PgSleep' AND datname = current_database()",
      );
      terminated = rows[0]!.n;
    }
    expect(terminated).toBe(1);
    const result = await run;
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('migration 003_slow.sql failed');
    expect(result.stderr).toContain('terminating connection due to administrator command');
    expect(result.stderr).toContain('The connection to the database was lost');
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2']);
    const rerun = await runCli(['migrate', 'data'], { cwd, env });
    expect(rerun.code).toBe(0);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3']);
  });

  it('split mode, DATA unreachable: exit 1 naming the data set and its redacted target; PRIMARY keeps its work; the rerun finishes DATA only', async () => {
    const primary = await freshDatabase('primary');
    const data = await freshDatabase('data');
    const cwd = makeProject(SMALL_SETS);
    const split = { SPLIT_DB_MODE: 'true', PRIMARY_DATABASE_URL: primary };
    expect(
      (await runCli(['migrate', 'primary'], { cwd, env: { ...split, DATA_DATABASE_URL: data } }))
        .code,
    ).toBe(0);
    const before = await query(
      primary,
      'SELECT set_name, version, at FROM schemata.migrations ORDER BY 1, 2',
    );

    const unreachable = new URL(data);
    unreachable.port = '1';
    const failed = await runCli(['migrate'], {
      cwd,
      env: { ...split, DATA_DATABASE_URL: unreachable.toString() },
    });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(
      /Set "data": cannot connect to postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/t_[0-9a-f]+ \(DATA_DATABASE_URL\)/,
    );
    expect(
      await query(primary, 'SELECT set_name, version, at FROM schemata.migrations ORDER BY 1, 2'),
    ).toEqual(before);

    const rerun = await runCli(['migrate', '--json'], {
      cwd,
      env: { ...split, DATA_DATABASE_URL: data },
    });
    expect(rerun.code).toBe(0);
    const report = json(rerun);
    expect(report.sets.map((s) => [s.name, s.applied.length])).toEqual([
      ['primary', 0],
      ['data', 2],
    ]);
    expect(await schemaExists(data, 'workspace')).toBe(true);
  });

  it('a lock holder that died leaves no stale lock: PostgreSQL releases it with the session', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(SMALL_SETS);
    // A process that takes the lock the way schemata does, then is killed while holding it.
    const holder = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import pg from ${JSON.stringify(join(REPO, 'node_modules/pg/lib/index.js'))};
         const c = new pg.Client({ connectionString: process.env.URL }); await c.connect();
         await c.query("SELECT pg_advisory_lock(x'73636865'::int, x'6d617461'::int)");
         console.log('locked'); setInterval(() => {}, 1000);`,
      ],
      { env: { PATH: process.env.PATH ?? '', URL: url }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve) =>
      holder.stdout.on('data', (d: Buffer) => {
        if (String(d).includes('locked')) resolve();
      }),
    );
    const waited = await runCli(['migrate', '--lock-timeout', '0'], {
      cwd,
      env: { PRIMARY_DATABASE_URL: url },
    });
    expect(waited.code).toBe(5);
    holder.kill('SIGKILL');
    await new Promise((r) => holder.on('exit', r));
    const after = await runCli(['migrate', '--lock-timeout', '10'], {
      cwd,
      env: { PRIMARY_DATABASE_URL: url },
    });
    expect(after.code).toBe(0);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2']);
  });
});
