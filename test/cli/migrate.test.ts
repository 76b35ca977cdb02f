import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { json, runCli } from '../support/cli.js';
import {
  freshDatabase,
  PASSWORD,
  query,
  schemaExists,
  servers,
  trackedVersions,
  waitFor,
} from '../support/db.js';
import { makeProject, SMALL_SETS } from '../support/project.js';

describe('schemata migrate (CLI)', () => {
  it('applies the example sets in single mode, shows the task list, and a second run has nothing to do', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({}, { example: true });
    const first = await runCli(['migrate'], { cwd, env: { PRIMARY_DATABASE_URL: url } });
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/primary → postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/t_/);
    expect(first.stdout).toMatch(/002_workspace_tables\.sql \(\d+ms\)/);
    expect(first.stdout).toContain('post-migration validation');
    expect(await query(url, 'SELECT count(*)::int AS n FROM reference.countries')).toEqual([
      { n: 5 },
    ]);

    const second = await runCli(['migrate'], { cwd, env: { PRIMARY_DATABASE_URL: url } });
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('nothing to apply: up to date');
  });

  it('reads a file of 15,000 INSERTs (over a megabyte) in pieces, showing how far it got, and applies it in one batch', async () => {
    const url = await freshDatabase();
    const seed = Array.from(
      { length: 15000 },
      (_, i) =>
        `INSERT INTO config.settings (key, value) VALUES ('key ${i}', 'a value; with a semicolon, for row ${i} of the seed');`,
    );
    const cwd = makeProject({ ...SMALL_SETS, 'primary/003_seed.sql': `${seed.join('\n')}\n` });
    const result = await runCli(['migrate'], {
      cwd,
      env: { PRIMARY_DATABASE_URL: url, CI: 'true' },
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/reading database\/primary\/003_seed\.sql: 50%/);
    expect(result.stdout).toMatch(/003_seed\.sql \(\d+ms\)/);
    expect(await query(url, 'SELECT count(*)::int AS n FROM config.settings')).toEqual([
      { n: 15000 },
    ]);
  });

  it('prints one JSON document with --json, and nothing else on stdout', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(SMALL_SETS);
    const result = await runCli(['migrate', '--json'], { cwd, env: { DATABASE_URL: url } });
    expect(result.code).toBe(0);
    const report = json(result);
    expect(report).toMatchObject({ command: 'migrate', mode: 'single', ok: true, exitCode: 0 });
    expect(report.sets[1]?.applied.map((a) => a.file)).toEqual([
      '001_schemas.sql',
      '002_tables.sql',
    ]);
    expect(report.sets[0]?.target).toContain('***');
  });

  it('runs split mode against two servers', async () => {
    const primary = await freshDatabase('primary');
    const data = await freshDatabase('data');
    const cwd = makeProject(SMALL_SETS);
    const result = await runCli(['migrate', '--json'], {
      cwd,
      env: { SPLIT_DB_MODE: 'yes', PRIMARY_DATABASE_URL: primary, DATA_DATABASE_URL: data },
    });
    expect(result.code).toBe(0);
    expect(json(result).mode).toBe('split');
    expect(await schemaExists(data, 'workspace')).toBe(true);
    expect(await schemaExists(primary, 'workspace')).toBe(false);
  });

  it('reports a failing migration with file:line, exit 1, and resumes after the fix', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      'primary/001_schemas.sql':
        'CREATE SCHEMA IF NOT EXISTS config;\nCREATE SCHEMA IF NOT EXISTS customer;\n',
      'primary/002_bad.sql':
        'CREATE TABLE config.a (x int NOT NULL);\nINSERT INTO config.a VALUES (NULL);\n',
    });
    const failed = await runCli(['migrate', 'primary'], {
      cwd,
      env: { PRIMARY_DATABASE_URL: url },
    });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('database/primary/002_bad.sql:2:1');
    expect(failed.stderr).toContain('violates not-null constraint');
    expect(await trackedVersions(url, 'primary')).toEqual(['1']);
    writeFileSync(
      join(cwd, 'database/primary/002_bad.sql'),
      'CREATE TABLE config.a (x int NOT NULL);\n',
    );
    const fixed = await runCli(['migrate', 'primary'], { cwd, env: { PRIMARY_DATABASE_URL: url } });
    expect(fixed.code).toBe(0);
    expect(await trackedVersions(url, 'primary')).toEqual(['1', '2']);
  });

  it('applies every migration exactly once when eight processes start at once', async () => {
    const url = await freshDatabase();
    const files: Record<string, string> = {
      'data/001_schemas.sql':
        'CREATE SCHEMA workspace;\nCREATE SCHEMA reference;\nCREATE TABLE workspace.runs (n int);\n',
    };
    // Not re-runnable on purpose: a second application would fail or add a row.
    for (let i = 2; i <= 12; i++)
      files[`data/${String(i).padStart(3, '0')}_step.sql`] =
        `CREATE TABLE workspace.t${i} (x int);\nINSERT INTO workspace.runs VALUES (${i});\n`;
    const cwd = makeProject(files);
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        runCli(['migrate', 'data'], { cwd, env: { PRIMARY_DATABASE_URL: url } }),
      ),
    );
    expect(results.map((r) => r.code)).toEqual(Array(8).fill(0));
    expect(
      await query(
        url,
        'SELECT count(*)::int AS n, count(DISTINCT n)::int AS d FROM workspace.runs',
      ),
    ).toEqual([{ n: 11, d: 11 }]);
    expect(await trackedVersions(url, 'data')).toHaveLength(12);
  });

  it('never prints the password: wrong password (exit 2) and unreachable host (exit 1)', async () => {
    const cwd = makeProject(SMALL_SETS);
    const good = new URL(servers().primary);
    const wrong = new URL(good);
    wrong.password = `${PASSWORD()}-wrong`;
    const denied = await runCli(['migrate', '--json'], {
      cwd,
      env: { PRIMARY_DATABASE_URL: wrong.toString() },
    });
    expect(denied.code).toBe(2);
    expect(json(denied).error?.message).toContain('password authentication failed');
    expect(denied.stdout).toContain('postgres:***@');
    expect(denied.stdout).not.toContain(`${PASSWORD()}-wrong`);

    const away = `postgres://postgres:${PASSWORD()}@127.0.0.1:1/nowhere`;
    const unreachable = await runCli(['migrate'], { cwd, env: { PRIMARY_DATABASE_URL: away } });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain(
      'Set "primary": cannot connect to postgres://postgres:***@127.0.0.1:1/nowhere (PRIMARY_DATABASE_URL)',
    );
  });

  it('ends each of its sessions with a goodbye the server hears: none counted abandoned', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({}, { example: true });
    const env = { PRIMARY_DATABASE_URL: url };
    // A session whose client went without a goodbye is counted by the server as abandoned.
    const abandoned = async () =>
      (
        await query<{ n: number }>(
          url,
          'SELECT sessions_abandoned::int AS n FROM pg_stat_database WHERE datname = current_database()',
        )
      )[0]!.n;
    const others = async () =>
      (
        await query<{ n: number }>(
          url,
          'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
        )
      )[0]!.n;
    const before = await abandoned();
    expect((await runCli(['migrate'], { cwd, env })).code).toBe(0);
    expect((await runCli(['status'], { cwd, env })).code).toBe(0);
    expect(await waitFor(async () => (await others()) === 0, 5_000)).toBe(true);
    // A backend reports how its session ended as it exits, after it left pg_stat_activity.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await abandoned()).toBe(before);
  });

  it('exits 5 naming the holder when the lock is not free in time', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(SMALL_SETS);
    const { openClient } = await import('../support/db.js');
    const holder = await openClient(url);
    try {
      await holder.query("SELECT pg_advisory_lock(x'73636865'::int, x'6d617461'::int)");
      const result = await runCli(['migrate', '--lock-timeout', '1'], {
        cwd,
        env: { PRIMARY_DATABASE_URL: url },
      });
      expect(result.code).toBe(5);
      // The lock is the database's: both sets of the single database wait for it.
      expect(result.stderr).toContain('Sets "primary" and "data" on postgres://');
      expect(result.stderr).toMatch(/another run \(pid \d+, connected since \d{4}-/);
      expect(result.stderr).toContain('--lock-timeout');
    } finally {
      await holder.end();
    }
  });

  it('waits for a migration still running for a run that is gone, then plans on what it committed', async () => {
    // A killed run's migration runs on to its COMMIT on the server, holding the claim's key (objid + 1) in its
    // transaction, while the killed run's lock is gone: the test's open transaction stands for it.
    const url = await freshDatabase();
    const cwd = makeProject(SMALL_SETS);
    const { openClient } = await import('../support/db.js');
    const inFlight = await openClient(url);
    try {
      await inFlight.query(
        "BEGIN; SELECT pg_advisory_xact_lock(x'73636865'::int, x'6d617461'::int + 1)",
      );
      const gaveUp = await runCli(['migrate', '--lock-timeout', '1'], {
        cwd,
        env: { PRIMARY_DATABASE_URL: url },
      });
      expect(gaveUp.code).toBe(5);
      expect(gaveUp.stderr).toMatch(
        /Sets "primary" and "data" on postgres:\/\/\S+: another run \(pid \d+, connected since \d{4}-[^)]*\) holds the migration lock; gave up after 1s\./,
      );
      expect(await trackedVersions(url, 'primary')).toEqual([]);

      const waiting = runCli(['migrate', '--lock-timeout', '30'], {
        cwd,
        env: { PRIMARY_DATABASE_URL: url },
      });
      await new Promise((r) => setTimeout(r, 1500));
      expect(await trackedVersions(url, 'primary')).toEqual([]);
      await inFlight.query('COMMIT');
      const done = await waiting;
      expect(done.code, done.stderr).toBe(0);
      expect(await trackedVersions(url, 'data')).toEqual(['1', '2']);
    } finally {
      await inFlight.end();
    }
  });

  it('runs on the embedded PostgreSQL when no URL is set, keeps its data, and leaves no server running', async () => {
    const cwd = makeProject(SMALL_SETS);
    const first = await runCli(['migrate'], { cwd });
    expect(first.code).toBe(0);
    expect(first.stderr).toContain('using the embedded PostgreSQL in');
    const pidFile = join(cwd, '.schemata', 'pgdata', 'postmaster.pid');
    expect(existsSync(pidFile)).toBe(false); // removed by a clean shutdown
    const second = await runCli(['migrate', '--json'], { cwd });
    expect(second.code).toBe(0);
    expect(json(second).sets.flatMap((s: { applied: unknown[] }) => s.applied)).toEqual([]);
    expect(existsSync(pidFile)).toBe(false);
    const password = readFileSync(join(cwd, '.schemata', 'password'), 'utf8').trim();
    expect(second.stdout + first.stdout + first.stderr).not.toContain(password);
    // It keeps itself, password file included, out of the project's git.
    execFileSync('git', ['init', '-q'], { cwd });
    expect(
      execFileSync('git', ['status', '--porcelain', '--untracked-files=all'], {
        cwd,
        encoding: 'utf8',
      }),
    ).not.toContain('.schemata');
  });

  it.each([
    ['no locale at all (env -i)', {}],
    ['LC_ALL=C', { LC_ALL: 'C' }],
  ])(
    'the embedded database is UTF-8 when the shell sets %s',
    async (_name, env: Record<string, string>) => {
      const cwd = makeProject({
        ...SMALL_SETS,
        'data/900_utf8.sql':
          "DO $$ BEGIN IF current_setting('server_encoding') <> 'UTF8' THEN RAISE EXCEPTION 'server_encoding is %', current_setting('server_encoding'); END IF; END $$;\n",
      });
      const result = await runCli(['migrate'], { cwd, env });
      expect(result.stderr).not.toContain('server_encoding is');
      expect(result.code).toBe(0);
    },
  );

  it('from a workspace root with --config, uses the embedded database of the project the config belongs to', async () => {
    const root = makeProject({});
    const app = join(root, 'apps', 'api');
    for (const [path, sql] of Object.entries(SMALL_SETS)) {
      mkdirSync(join(app, 'database', dirname(path)), { recursive: true });
      writeFileSync(join(app, 'database', path), sql);
    }
    writeFileSync(
      join(app, 'database', 'schemata.json'),
      JSON.stringify({
        sets: [
          { name: 'primary', dir: 'primary', database: 'primary', schemas: ['config', 'customer'] },
          { name: 'data', dir: 'data', database: 'data', schemas: ['workspace', 'reference'] },
        ],
      }),
    );
    const result = await runCli(['migrate', '--config', 'apps/api/database/schemata.json'], {
      cwd: root,
    });
    expect(result.code).toBe(0);
    expect(existsSync(join(app, '.schemata', 'pgdata', 'PG_VERSION'))).toBe(true);
    expect(existsSync(join(root, '.schemata'))).toBe(false);
    const inApp = await runCli(['status', '--json'], { cwd: app });
    expect(json(inApp).sets.flatMap((s: { applied: unknown[] }) => s.applied)).toHaveLength(4);
  });

  it('refuses the embedded fallback in production (exit 2 naming the variable)', async () => {
    const cwd = makeProject(SMALL_SETS);
    const result = await runCli(['migrate'], { cwd, env: { NODE_ENV: 'production' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('PRIMARY_DATABASE_URL is not set and NODE_ENV is production');
    expect(existsSync(join(cwd, '.schemata'))).toBe(false);
  });
});
