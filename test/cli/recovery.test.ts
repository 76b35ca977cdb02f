import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { freshDatabase, query, tableExists, trackedVersions } from '../support/db.js';
import { makeProject, REPO } from '../support/project.js';

const BIN = join(REPO, 'bin', 'schemata.js');

/** Starts `schemata migrate` and SIGKILLs it once `ready` says so; resolves when it is dead. */
async function killDuring(cwd: string, url: string, ready: () => Promise<boolean>): Promise<void> {
  const child = spawn(process.execPath, [BIN, 'migrate', 'data'], {
    cwd,
    env: { PATH: process.env.PATH ?? '', PRIMARY_DATABASE_URL: url, CI: 'true' },
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) =>
    child.on('exit', () => {
      resolve();
    }),
  );
  const deadline = Date.now() + 20_000;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error('the kill point was never reached');
    await new Promise((r) => setTimeout(r, 25));
  }
  child.kill('SIGKILL');
  await exited;
}

const sleeping = (url: string) => async () =>
  (
    await query<{ n: number }>(
      url,
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE 'schemata%' AND wait_event = 'PgSleep' AND datname = current_database()",
    )
  )[0]!.n > 0;

const FILES = {
  'data/001_schemas.sql':
    'CREATE SCHEMA workspace;\nCREATE SCHEMA reference;\nCREATE TABLE workspace.runs (step int);\n',
  'data/002_first.sql':
    'CREATE TABLE workspace.first (id int);\nINSERT INTO workspace.runs VALUES (2);\n',
  'data/003_slow.sql':
    'CREATE TABLE workspace.slow (id int);\nSELECT pg_sleep(2);\nINSERT INTO workspace.runs VALUES (3);\n',
  'data/004_last.sql':
    'CREATE TABLE workspace.last (id int);\nINSERT INTO workspace.runs VALUES (4);\n',
};

describe('recovery after SIGKILL', () => {
  it('killed during a transactional migration: nothing of it is left, and the next run resumes with no manual step', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(FILES);
    await killDuring(cwd, url, sleeping(url));
    // The server rolls the migration back when it notices its client is gone.
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2']);
    const rerun = await runCli(['migrate', 'data'], { cwd, env: { PRIMARY_DATABASE_URL: url } });
    expect(rerun.code).toBe(0);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3', '4']);
    expect(await query(url, 'SELECT step FROM workspace.runs ORDER BY step')).toEqual([
      { step: 2 },
      { step: 3 },
      { step: 4 },
    ]);
  });

  it('killed before it took the lock: the next run applies everything once', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(FILES);
    await killDuring(cwd, url, () => Promise.resolve(true));
    const rerun = await runCli(['migrate', 'data'], { cwd, env: { PRIMARY_DATABASE_URL: url } });
    expect(rerun.code).toBe(0);
    expect(await query(url, 'SELECT step FROM workspace.runs ORDER BY step')).toEqual([
      { step: 2 },
      { step: 3 },
      { step: 4 },
    ]);
  });

  it('killed during a migration outside a transaction: reported as failed with the one command that finishes it', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      ...FILES,
      'data/003_slow.sql':
        '-- schemata:no-transaction\nCREATE TABLE IF NOT EXISTS workspace.slow (id int);\nSELECT pg_sleep(2);\nCREATE INDEX CONCURRENTLY IF NOT EXISTS slow_id ON workspace.slow (id);\n',
    });
    await killDuring(cwd, url, sleeping(url));
    expect(
      await query(
        url,
        "SELECT event AS state FROM schemata.migrations WHERE set_name = 'data' AND version = '3' ORDER BY id DESC LIMIT 1",
      ),
    ).toEqual([{ state: 'running' }]);
    const blocked = await runCli(['migrate', 'data'], { cwd, env: { PRIMARY_DATABASE_URL: url } });
    expect(blocked.code).toBe(3);
    expect(blocked.stderr).toContain('003_slow.sql is recorded as running');
    expect(blocked.stderr).toContain(
      '→ Check what it left behind, make the file re-runnable, then run: npx schemata migrate data --repair',
    );
    const finished = await runCli(['migrate', 'data', '--repair'], {
      cwd,
      env: { PRIMARY_DATABASE_URL: url },
    });
    expect(finished.code).toBe(0);
    expect(await tableExists(url, 'workspace.slow_id')).toBe(true);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3', '4']);
  });
});
