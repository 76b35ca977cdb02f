import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { json, runCli, startCli } from '../support/cli.js';
import { freshDatabase, servers } from '../support/db.js';
import { makeProject, SMALL_SETS } from '../support/project.js';

describe('reports that say what is so', () => {
  it('mode is split when SPLIT_DB_MODE comes from .env', async () => {
    const primary = await freshDatabase('primary');
    const data = await freshDatabase('data');
    const cwd = makeProject(SMALL_SETS);
    writeFileSync(
      join(cwd, '.env'),
      `SPLIT_DB_MODE=true\nPRIMARY_DATABASE_URL=${primary}\nDATA_DATABASE_URL=${data}\n`,
    );
    const result = await runCli(['migrate', '--json'], { cwd });
    expect(result.code).toBe(0);
    expect(json(result).mode).toBe('split');
  });

  it('migrate --json says whether each schema holds data', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      ...SMALL_SETS,
      'data/003_seed.sql': 'INSERT INTO workspace.items VALUES (1);\n',
    });
    const result = await runCli(['migrate', 'data', '--json'], {
      cwd,
      env: { PRIMARY_DATABASE_URL: url },
    });
    expect(result.code).toBe(0);
    expect(json(result).sets[0]?.schemas).toEqual([
      { name: 'workspace', exists: true, hasData: true },
      { name: 'reference', exists: true, hasData: false },
    ]);
  });

  it('a set whose files were not shipped, on a database without its schemas: validate exits 3', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({ 'primary/001_schemas.sql': SMALL_SETS['primary/001_schemas.sql']! });
    const result = await runCli(['validate'], { cwd, env: { PRIMARY_DATABASE_URL: url } });
    expect(result.code).toBe(3);
    // validate lists each problem under its set, once (stdout), not again on stderr.
    expect(result.stdout).toContain(
      'Set "data" has no migration files, and schemas workspace, reference are missing',
    );
  });

  it('status of a set it could not read shows no counts', async () => {
    const cwd = makeProject(SMALL_SETS);
    const gone = new URL(servers().primary);
    gone.port = '1';
    const result = await runCli(['status'], {
      cwd,
      env: { PRIMARY_DATABASE_URL: gone.toString() },
    });
    expect(result.code).toBe(1);
    expect(result.stdout).not.toContain('applied: 0');
  });

  it('a host name that does not resolve is a connection problem (exit 1) with --wait in the hint', async () => {
    const cwd = makeProject(SMALL_SETS);
    const result = await runCli(['validate'], {
      cwd,
      env: { PRIMARY_DATABASE_URL: 'postgres://app:pw@db-not-there.invalid:5432/app' },
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('--wait');
  });

  it('a refused connection is a connection problem, not a failed migration', async () => {
    const cwd = makeProject(SMALL_SETS);
    const env = { PRIMARY_DATABASE_URL: 'postgres://app:pw@127.0.0.1:1/app' };
    for (const command of ['status', 'migrate']) {
      const result = await runCli([command, '--json'], { cwd, env });
      expect(result.code).toBe(1);
      expect(json(result).sets[0]?.problems.map((p) => p.kind)).toEqual(['connection']);
    }
    const human = await runCli(['status'], { cwd, env });
    expect(human.stdout).toContain('problem (connection): ');
    expect(human.stdout).not.toContain('migration-failed');
  });
});

describe('configuration accepted only when it runs what it says', () => {
  it('.sql files in a sub-folder of a set are named, not silently skipped', async () => {
    const cwd = makeProject({ ...SMALL_SETS, 'data/archive/003_old.sql': 'SELECT 1;\n' });
    const result = await runCli(['validate'], {
      cwd,
      env: { PRIMARY_DATABASE_URL: await freshDatabase() },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('holds 1 .sql file (003_old.sql), but only');
  });
});

describe('checksums', () => {
  it('a checkout with CRLF line endings or a byte-order mark is the same migration', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(SMALL_SETS);
    const env = { PRIMARY_DATABASE_URL: url };
    expect((await runCli(['migrate'], { cwd, env })).code).toBe(0);
    const path = join(cwd, 'database', 'data', '002_tables.sql');
    writeFileSync(path, `\ufeff${readFileSync(path, 'utf8').replace(/\n/g, '\r\n')}`);
    const result = await runCli(['validate'], { cwd, env });
    expect(result.code, result.stderr).toBe(0);
  });
});

describe('secrets masked by where they stand', () => {
  it('the password "postgres" masks the password only: the user name and every other word stay', async () => {
    const cwd = makeProject(SMALL_SETS);
    const env = { PRIMARY_DATABASE_URL: 'postgres://postgres:postgres@127.0.0.1:1/dev' };
    const human = await runCli(['validate'], { cwd, env });
    expect(human.code).toBe(1);
    expect(human.stdout).toContain('postgres://postgres:***@127.0.0.1:1/dev');
    expect(human.stdout + human.stderr).not.toContain(':postgres@');
    const machine = await runCli(['validate', '--json'], { cwd, env });
    const report = json(machine); // still JSON
    expect(report.exitCode).toBe(1);
    expect(report.sets[0]?.target).toBe('postgres://postgres:***@127.0.0.1:1/dev');
  });

  it.each([
    [
      'a key=value string with spaces around =',
      'host=127.0.0.1 port=1 user=app password = KvSecret77 dbname=app',
      'KvSecret77',
    ],
    [
      'a query password under a percent-encoded name',
      'postgres://app@127.0.0.1:1/app?pass%77ord=QuerySecret77',
      'QuerySecret77',
    ],
  ])('%s never appears', async (_name, url, secret) => {
    const cwd = makeProject(SMALL_SETS);
    for (const args of [['validate'], ['validate', '--json']]) {
      const result = await runCli(args, { cwd, env: { PRIMARY_DATABASE_URL: url } });
      expect(result.code).not.toBe(0);
      expect(result.stdout + result.stderr).not.toContain(secret);
    }
  });

  it("a failing CREATE ROLE ... PASSWORD '...' is echoed with the password masked, in text and JSON", async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      ...SMALL_SETS,
      'data/003_role.sql': "CREATE ROLE postgres LOGIN PASSWORD 'RoleSecret77';\n",
    });
    for (const args of [
      ['migrate', 'data'],
      ['migrate', 'data', '--json'],
    ]) {
      const result = await runCli(args, { cwd, env: { PRIMARY_DATABASE_URL: url } });
      expect(result.code).toBe(1);
      expect(result.stdout + result.stderr).toContain("PASSWORD '***'");
      expect(result.stdout + result.stderr).not.toContain('RoleSecret77');
    }
  });
});

describe('DEBUG=schemata', () => {
  it('shows where an error raised inside a task came from; without it, no stack', async () => {
    const cwd = makeProject(SMALL_SETS);
    const env = { PRIMARY_DATABASE_URL: 'postgres://app:pw@127.0.0.1:1/app' };
    const plain = await runCli(['validate'], { cwd, env }); // runCli itself fails on a stack trace
    expect(plain.code).toBe(1);
    const { done } = startCli(['validate'], { cwd, env: { ...env, DEBUG: 'schemata' } });
    const debug = await done;
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/\n\s+at .+:\d+:\d+/);
    expect(debug.stderr).not.toContain(':pw@');
  });
});

describe('sslmode as libpq means it', () => {
  it('sslmode=prefer against a server without TLS falls back, and pg prints no SECURITY WARNING', async () => {
    const url = new URL(await freshDatabase());
    url.searchParams.set('sslmode', 'prefer');
    const cwd = makeProject(SMALL_SETS);
    const result = await runCli(['migrate', '--json'], {
      cwd,
      env: { PRIMARY_DATABASE_URL: url.toString() },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(json(result).ok).toBe(true);
    expect(result.stderr).not.toContain('SECURITY WARNING');
  });

  it('sslmode=require against a server without TLS is a configuration error naming sslmode', async () => {
    const url = new URL(await freshDatabase());
    url.searchParams.set('sslmode', 'require');
    const result = await runCli(['validate'], {
      cwd: makeProject(SMALL_SETS),
      env: { PRIMARY_DATABASE_URL: url.toString() },
    });
    expect(result.code).toBe(2);
    expect(result.stdout).toContain('sslmode');
    expect(result.stdout + result.stderr).not.toContain('SECURITY WARNING');
  });
});

describe('the task list', () => {
  it('a failing migration: its message printed once, the ✖ on the set that failed, and a closing line', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      ...SMALL_SETS,
      'data/003_zero.sql': 'CREATE TABLE workspace.z (id int);\nSELECT 1 / 0;\n',
    });
    const result = await runCli(['migrate'], { cwd, env: { PRIMARY_DATABASE_URL: url } });
    expect(result.code).toBe(1);
    const all = result.stdout + result.stderr;
    expect(all.split('division by zero').length - 1).toBe(1);
    expect(all).toMatch(/✖ data → .*\[FAILED: failed, see below\]/);
    expect(all).not.toMatch(/✖ primary → /);
    expect(result.stdout).toMatch(
      /stopped \(exit 1\): applied 4 migrations before it stopped \(primary 2 applied, 0 skipped, [\d.]+ m?s; data 2 applied, 1 skipped, [\d.]+ m?s\); the error follows\.\n/,
    );
  });

  it('a problem in a later set: ✖ on that set, the healthy set says nothing of the run is applied', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      ...SMALL_SETS,
      'data/003_bad.sql':
        'ALTER TABLE workspace.items ADD CONSTRAINT IF NOT EXISTS c CHECK (id > 0);\n',
    });
    const result = await runCli(['migrate'], { cwd, env: { PRIMARY_DATABASE_URL: url } });
    expect(result.code).toBe(3);
    const all = result.stdout + result.stderr;
    expect(all).toMatch(/✖ data → /);
    expect(all).not.toMatch(/✖ primary → /);
    expect(result.stdout).toContain('nothing of the run is applied: set "data" has problems');
    // Neither set applied anything: the healthy one's two are skipped, as the failing one's three (its bad file included).
    expect(result.stdout).toMatch(
      /stopped \(exit 3\): nothing was applied \(primary 0 applied, 2 skipped, [\d.]+ m?s; data 0 applied, 3 skipped, [\d.]+ m?s\); the error follows\.\n/,
    );
  });

  it("the closing line: per set applied, skipped and time; --json has each set's ms", async () => {
    const url = await freshDatabase();
    const cwd = makeProject({ ...SMALL_SETS, 'data/003_empty.sql': '-- nothing yet\n' });
    const env = { PRIMARY_DATABASE_URL: url };
    const first = await runCli(['migrate'], { cwd, env });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(
      /\ndone: applied 4 migrations \(primary 2 applied, 0 skipped, [\d.]+ m?s; data 2 applied, 1 skipped, [\d.]+ m?s\)\.\n$/,
    );
    const again = await runCli(['migrate'], { cwd, env });
    expect(again.stdout).toMatch(
      /\ndone: nothing to apply \(primary 0 applied, 0 skipped, [\d.]+ m?s; data 0 applied, 1 skipped, [\d.]+ m?s\); the 1 skipped hold no statement yet\.\n$/,
    );
    const report = json(await runCli(['migrate', '--json'], { cwd, env }));
    for (const set of report.sets) expect(set.ms).toEqual(expect.any(Number));
  });

  it('a set the run never reached is "not run", one it could not read "not read"', async () => {
    const gone = new URL(servers().primary);
    gone.port = '1';
    const cwd = makeProject(SMALL_SETS);
    const env = {
      SPLIT_DB_MODE: 'true',
      PRIMARY_DATABASE_URL: gone.toString(),
      DATA_DATABASE_URL: await freshDatabase('data'),
    };
    const result = await runCli(['migrate'], { cwd, env });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /\nstopped \(exit 1\): nothing was applied \(primary not read, [\d.]+ m?s; data not run\); the error follows\.\n$/,
    );
    const report = json(await runCli(['migrate', '--json'], { cwd, env }));
    expect(report.sets.map((s) => s.ms)).toEqual([expect.any(Number), null]);
  });
});
