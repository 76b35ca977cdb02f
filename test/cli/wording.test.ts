import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { freshDatabase, openClient, PASSWORD, query } from '../support/db.js';
import { makeProject, REPO, SMALL_SETS, writeFile } from '../support/project.js';

/** Runs bin/schemata.js with stderr and stdout in one stream, in the order written, as a deploy log has them. */
function runLogged(
  args: string[],
  options: { cwd: string; env: Record<string, string> },
): Promise<{ code: number | null; log: string }> {
  const child = spawn(
    'sh',
    ['-c', 'exec "$0" "$@" 2>&1', process.execPath, join(REPO, 'bin', 'schemata.js'), ...args],
    {
      cwd: options.cwd,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        CI: 'true',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let log = '';
  child.stdout.on('data', (d: Buffer) => {
    log += d.toString();
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      expect(log).not.toContain(PASSWORD());
      resolve({ code, log });
    });
  });
}

describe('a log that says each thing once, in its place', () => {
  it('each migration is one line in a log, its notices under it unmarked; warnings come before the closing line', async () => {
    const env = { PRIMARY_DATABASE_URL: await freshDatabase() };
    const cwd = makeProject(SMALL_SETS);
    writeFile(cwd, 'data/003_notice.sql', "DO $$ BEGIN RAISE NOTICE 'hello'; END $$;\n");
    writeFile(cwd, 'data/004_later.sql', '-- written by schemata create: no statement yet\n');
    const { code, log } = await runLogged(['migrate', 'data'], { cwd, env });
    expect(code, log).toBe(0);
    const lines = log.split('\n');
    // Once: the ✔ line; no "❯ 001_schemas.sql" before it.
    expect(lines.filter((l) => l.includes('001_schemas.sql'))).toEqual([
      expect.stringMatching(/^✔ 001_schemas\.sql \(\d+ms\)$/),
    ]);
    expect(lines.filter((l) => l.includes('connect and lock'))).toEqual(['✔ connect and lock']);
    // The set keeps its heading, before its steps.
    expect(lines[0]).toMatch(/^❯ data → /);
    // A notice under its migration, not marked as a task of its own.
    const notice = lines.findIndex((l) => l.includes('NOTICE: hello'));
    expect(lines[notice]).toBe('  NOTICE: hello');
    expect(lines[notice - 1]).toMatch(/^✔ 003_notice\.sql/);
    // "1 pending" is not followed by "nothing to apply: up to date": the file that holds no statement is said as such.
    expect(log).toContain('✔ pre-flight validation: 3 pending, 1 file holding no statement yet');
    expect(log).not.toContain('up to date');
    const warning = lines.findIndex((l) => l.startsWith('warning: '));
    const done = lines.findIndex((l) => l.startsWith('done: '));
    expect(warning).toBeGreaterThan(-1);
    expect(warning).toBeLessThan(done);
  });

  it('a file holding no statement alone: nothing to apply says why', async () => {
    const env = { PRIMARY_DATABASE_URL: await freshDatabase() };
    const cwd = makeProject(SMALL_SETS);
    expect((await runCli(['migrate', 'data'], { cwd, env })).code).toBe(0);
    writeFile(cwd, 'data/004_later.sql', '-- written by schemata create: no statement yet\n');
    const result = await runCli(['migrate', 'data'], { cwd, env });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('✔ pre-flight validation: 1 file holding no statement yet');
    expect(result.stdout).toContain('✔ nothing to apply: the pending files hold no statement yet');
    expect(result.stdout).not.toContain('pending\n');
  });

  it('validate lists each problem once, under its set, with its hint', async () => {
    const url = await freshDatabase();
    const env = { PRIMARY_DATABASE_URL: url };
    const cwd = makeProject(SMALL_SETS);
    expect((await runCli(['migrate'], { cwd, env })).code).toBe(0);
    await query(url, 'DROP SCHEMA reference');
    const { code, log } = await runLogged(['validate'], { cwd, env });
    expect(code).toBe(3);
    expect(log.split('schema reference is missing').length - 1, log).toBe(1);
    expect(log.split('→ npx schemata migrate data --repair').length - 1, log).toBe(1);
    expect(log).toContain('validate: failed with 1 problem (exit 3).');
  });

  it('an untracked database is one error per set, not one more per object its files create', async () => {
    const url = await freshDatabase();
    const env = { PRIMARY_DATABASE_URL: url };
    const cwd = makeProject(SMALL_SETS);
    writeFile(
      cwd,
      'data/002_tables.sql',
      'CREATE TABLE workspace.a (id int);\nCREATE TABLE workspace.b (id int);\nCREATE INDEX a_idx ON workspace.a (id);\n',
    );
    expect((await runCli(['migrate'], { cwd, env })).code).toBe(0);
    await query(url, 'DROP SCHEMA schemata CASCADE'); // the history lost: the objects stay
    const result = await runCli(['migrate'], { cwd, env });
    expect(result.code).toBe(3);
    const errors = result.stderr.split('\n').filter((l) => l.startsWith('error: '));
    expect(errors, result.stderr).toHaveLength(2);
    expect(result.stderr).not.toContain('already exists');
  });
});

describe('a long migration is never silent in a log', () => {
  it('says every few seconds where it is and whose lock it waits for', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(SMALL_SETS);
    const env = { PRIMARY_DATABASE_URL: url };
    expect((await runLogged(['migrate'], { cwd, env })).code).toBe(0);
    const holder = await openClient(url);
    const pid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!
      .pid;
    await holder.query(
      "SET application_name = 'long-report'; BEGIN; LOCK TABLE workspace.items IN ACCESS SHARE MODE",
    );
    writeFile(
      cwd,
      'data/010_slow.sql',
      'SELECT pg_sleep(6);\nALTER TABLE workspace.items ADD COLUMN slow_note text;\n',
    );
    // The holder lets go after the migration has waited for it a while.
    const release = setTimeout(() => void holder.query('COMMIT'), 13_000);
    try {
      const run = await runLogged(['migrate', 'data', '--statement-lock-timeout', '30'], {
        cwd,
        env,
      });
      expect(run.code, run.log).toBe(0);
      expect(run.log).toMatch(/010_slow\.sql: running for \d+s, waiting on Timeout \(PgSleep\)/);
      expect(run.log).toContain(
        `010_slow.sql: running for 10s, waiting for AccessExclusiveLock on workspace.items held by pid ${pid} (long-report, idle in transaction)`,
      );
    } finally {
      clearTimeout(release);
      await holder.end();
    }
  }, 60_000);
});

describe('a wait for the database is never silent in a log', () => {
  it('says every few seconds that it is still waiting, and for which database', async () => {
    const cwd = makeProject(SMALL_SETS);
    const env = { PRIMARY_DATABASE_URL: 'postgres://app:pw@db-not-there.invalid:5432/app' };
    const run = await runLogged(['validate', '--wait', '7'], { cwd, env });
    expect(run.code).toBe(1);
    expect(run.log).toMatch(
      /Set "primary": postgres:\/\/app:\*\*\*@db-not-there\.invalid:5432\/app is not reachable yet; trying again \(\d+s of --wait 7\)\./,
    );
    expect(run.log).not.toContain(':pw@');
  }, 30_000);
});
