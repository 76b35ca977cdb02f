import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  query,
  freshDatabase,
  sleepingIn,
  tableExists,
  trackedVersions,
  waitFor,
} from '../support/db.js';
import { startCli } from '../support/cli.js';
import { makeProject, REPO } from '../support/project.js';

/*
 * SPEC §4 "Stopping": a real signal to a real child process, mid-migration.
 * The migration sleeps on the server; the test waits until pg_stat_activity
 * shows it, then signals the CLI.
 */

const sessions = async (url: string) =>
  (
    await query<{ n: number }>(
      url,
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'schemata%'",
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
    expect(await sleepingIn(url)).toBe(true);
    const sent = Date.now();
    child.kill(signal);
    const result = await done;
    expect(Date.now() - sent).toBeLessThan(10_000);
    expect(result.code).toBe(exitCode);
    expect(result.stderr).toContain(`stopped by ${signal} while applying 002_slow.sql`);
    expect(result.stderr).toContain('nothing of it is applied or recorded');
    expect(result.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
    // The cancel request is sent without pg's deprecated Client.activeQuery, which would print a warning.
    expect(result.stderr).not.toContain('DeprecationWarning');
    // Nothing of it later either: no session left running it, nothing committed.
    expect(await waitFor(async () => (await sessions(url)) === 0, 5_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    expect(await tableExists(url, 'workspace.slow')).toBe(false);
    expect(await tableExists(url, 'workspace.after')).toBe(false);
    expect(await trackedVersions(url, 'data')).toEqual(['1']);
  });
});

/*
 * SPEC §4 "Stopping", however schemata was started: a platform stops the
 * process it started (npm run, sh -c), which exits without passing the
 * signal on. schemata, left to another parent, must stop too: nothing of the
 * migration may commit after the platform was told the job stopped.
 */
describe.each([
  [
    'npm run db:migrate',
    () => ['npm', ['run', '--silent', 'db:migrate']] as const,
    (bin: string) => `node ${bin} migrate data`,
  ],
  [
    'sh -c',
    (bin: string) => ['sh', ['-c', `node ${bin} migrate data; echo finished`]] as const,
    () => '',
  ],
])('started through %s, the wrapper stopped by SIGTERM', (_name, command, script) => {
  it('stops schemata too: the statement is cancelled, nothing of the migration commits', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      'data/001_schemas.sql':
        'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
      'data/002_slow.sql': 'CREATE TABLE workspace.slow (id int);\nSELECT pg_sleep(30);\n',
    });
    const bin = join(REPO, 'bin', 'schemata.js');
    writeFileSync(
      join(cwd, 'package.json'),
      JSON.stringify({ name: 'app', private: true, scripts: { 'db:migrate': script(bin) } }),
    );
    const [program, args] = command(bin);
    const wrapper = spawn(program, [...args], {
      cwd,
      env: { ...process.env, PRIMARY_DATABASE_URL: url },
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) =>
      wrapper.on('exit', (code) => {
        resolve(code);
      }),
    );
    expect(await sleepingIn(url)).toBe(true);
    wrapper.kill('SIGTERM');
    await exited;
    // schemata, left behind, stops within seconds: its session is gone, and nothing of 002 committed.
    expect(await waitFor(async () => (await sessions(url)) === 0, 10_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    expect(await tableExists(url, 'workspace.slow')).toBe(false);
    expect(await trackedVersions(url, 'data')).toEqual(['1']);
  });
});
