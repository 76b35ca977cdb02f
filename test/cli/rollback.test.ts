import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freshDatabase, query, sleepingIn, tableExists, trackedVersions } from '../support/db.js';
import { json, runCli, startCli } from '../support/cli.js';
import { makeProject, writeFile } from '../support/project.js';

/*
 * `rollback` as a user types it (SPEC §12): the task list and summary, each
 * exit code, every hint run as printed, and a real SIGTERM mid-down.
 */

const FILES = {
  'data/001_schemas.sql': 'CREATE SCHEMA workspace;\nCREATE SCHEMA reference;\n',
  'data/002_items.sql': 'CREATE TABLE workspace.items (id int PRIMARY KEY, title text);\n',
  'data/002_items.down.sql': 'DROP TABLE workspace.items;\n',
  'data/003_title_index.sql': 'CREATE INDEX items_title_idx ON workspace.items (title);\n',
  'data/003_title_index.down.sql': 'SELECT 1;\n',
};

describe('schemata rollback', () => {
  it('names a down that does not undo its up (exit 3); its hint, run as printed after the fix, rolls back', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(FILES);
    const env = { PRIMARY_DATABASE_URL: url };
    expect((await runCli(['migrate', 'data'], { cwd, env })).code).toBe(0);

    const status = await runCli(['status', 'data'], { cwd, env });
    expect(status.stdout).toMatch(/version +file +applied at +duration +state +down/);
    expect(status.stdout).toMatch(/\n +1 +001_schemas\.sql .* applied +no\n/);
    expect(status.stdout).toMatch(/\n +3 +003_title_index\.sql .* applied +yes\n/);
    expect(
      json(await runCli(['status', 'data', '--json'], { cwd, env })).sets[0]!.applied.map(
        (m) => m.down,
      ),
    ).toEqual([false, true, true]);

    const broken = await runCli(['rollback', 'data'], { cwd, env });
    expect(broken.code).toBe(3);
    expect(broken.stderr).toContain(
      'the down of 003_title_index.sql does not undo it: leaves index workspace.items_title_idx.',
    );
    // No package.json there and schemata not on the PATH: npx is what works as typed.
    const hint = /→ .*then run: npx (schemata rollback data --to 2)/.exec(broken.stderr)?.[1];
    expect(hint).toBe('schemata rollback data --to 2');
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3']);

    writeFile(cwd, 'data/003_title_index.down.sql', 'DROP INDEX workspace.items_title_idx;\n');
    const fixed = await runCli([...hint!.split(' ').slice(1)], { cwd, env });
    expect(fixed.code).toBe(0);
    expect(fixed.stdout).toContain(
      'done: rolled back 003_title_index.sql; migrate applies it again.',
    );
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2']);

    // 001 has no down: named, exit 2, nothing runs, 002 included.
    const lacking = await runCli(['rollback', 'data', '--steps', '2'], { cwd, env });
    expect(lacking.code).toBe(2);
    expect(lacking.stderr).toContain(
      'Set "data": 001_schemas.sql cannot be rolled back: it has no down file (001_schemas.down.sql). Nothing ran.',
    );
    expect(await tableExists(url, 'workspace.items')).toBe(true);

    const json_ = json(await runCli(['rollback', 'data', '--json'], { cwd, env }));
    expect(json_.ok).toBe(true);
    expect(json_.sets[0]!.rolledBack!.map((m) => m.file)).toEqual(['002_items.sql']);
    expect((await runCli(['migrate', 'data'], { cwd, env })).code).toBe(0);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3']);
  });

  it('refuses bad flags with exit 2 and a command that works', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(FILES);
    const env = { PRIMARY_DATABASE_URL: url };
    const steps = await runCli(['rollback', 'data', '--steps', 'two'], { cwd, env });
    expect(steps.code).toBe(2);
    expect(steps.stderr).toContain('--steps two is not a positive whole number.');
    const both = await runCli(['rollback', 'data', '--steps', '1', '--to', '1'], { cwd, env });
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('rollback takes --steps or --to, not both');
    const scratch = await runCli(['rollback', 'data', '--scratch-url', url], { cwd, env });
    expect(scratch.code).toBe(2);
    expect(scratch.stderr).toContain('--scratch-url goes with --check');
    expect((await runCli(['migrate', 'data'], { cwd, env })).code).toBe(0);
    const to = await runCli(['rollback', 'data', '--to', '7'], { cwd, env });
    expect(to.code).toBe(2);
    expect(to.stderr).toContain(
      '--to 7 names no applied migration (applied: 1, 2, 3). Nothing ran.',
    );
    const suggested =
      /give the version that is to stay applied, or 0 for none: npx (schemata rollback data --to \d+)/i.exec(
        to.stderr,
      )?.[1];
    expect(suggested).toBe('schemata rollback data --to 3');
    const ran = await runCli(suggested!.split(' ').slice(1), { cwd, env });
    expect(ran.code).toBe(0);
    expect(ran.stdout).toContain('done: nothing to roll back.');
  });

  it('create --down writes both files; rollback --check proves the down', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      'data/001_schemas.sql': FILES['data/001_schemas.sql'],
      'data/001_schemas.down.sql': 'DROP SCHEMA reference;\nDROP SCHEMA workspace;\n',
    });
    const env = { PRIMARY_DATABASE_URL: url };
    const created = await runCli(['create', 'data', 'add_items', '--down'], { cwd, env });
    expect(created.code).toBe(0);
    const [up, down] = created.stdout.trim().split('\n');
    expect(down).toBe(up!.replace(/\.sql$/, '.down.sql'));
    expect(existsSync(join(cwd, down!))).toBe(true);
    const written = readFileSync(join(cwd, down!), 'utf8');
    expect(written).toContain('schemata rollback data --check');
    const hint = /schemata (rollback data --check)\b/.exec(written)?.[1];
    writeFile(
      cwd,
      up!.replace(/^database\//, ''),
      `${readFileSync(join(cwd, up!), 'utf8')}CREATE TABLE workspace.items (id int);\n`,
    );
    writeFile(cwd, down!.replace(/^database\//, ''), 'DROP TABLE workspace.items;\n');
    const check = await runCli(['rollback', 'data', '--check', '--scratch-url', url], { cwd, env });
    expect(check.code).toBe(0);
    expect(check.stdout + check.stderr).toContain('2 downs proved on a scratch database');
    // The set's own database was not touched.
    expect(
      await query(url, "SELECT 1 FROM pg_namespace WHERE nspname IN ('workspace', 'schemata')"),
    ).toEqual([]);

    // As the down file says it, on the embedded server: the check ends, and stops the server it started
    // (left running, it kept the process alive for ever), proved or not.
    expect(hint).toBe('rollback data --check');
    const embedded = await runCli(hint!.split(' '), { cwd, env });
    expect(embedded.stdout + embedded.stderr).toContain('2 downs proved on a scratch database');
    expect(embedded.code).toBe(0);
    // Run as root, the embedded cluster lives where the user postgres can reach it, written in pgdata-location.
    const location = join(cwd, '.schemata', 'pgdata-location');
    const dataDir = existsSync(location)
      ? readFileSync(location, 'utf8').split('\n')[0]!
      : join(cwd, '.schemata', 'pgdata');
    expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true);
    expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(false);
    writeFile(cwd, down!.replace(/^database\//, ''), 'SELECT 1;\n');
    const unproved = await runCli(hint!.split(' '), { cwd, env });
    expect(unproved.code).toBe(3);
    // Named as the down that leaves the table, though its up then fails when applied again over it.
    expect(unproved.stderr).toContain(
      '.down.sql) leaves table workspace.items. Its up then failed when applied again (relation "items" already exists): the downs after it were not proved.',
    );
    expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(false);
  });

  it("rollback --check runs the files with the session's settings, not those of its own listing", async () => {
    const url = await freshDatabase();
    // The listing between the files plans generically (plan_cache_mode): a file that sees that setting fails.
    const asDefault =
      "DO $$ BEGIN IF pg_catalog.current_setting('plan_cache_mode') <> 'auto' THEN RAISE EXCEPTION 'plan_cache_mode is %', pg_catalog.current_setting('plan_cache_mode'); END IF; END $$;\n";
    const cwd = makeProject({
      ...FILES,
      'data/002_items.sql': `${asDefault}${FILES['data/002_items.sql']}`,
      'data/002_items.down.sql': `${asDefault}${FILES['data/002_items.down.sql']}`,
      'data/003_title_index.down.sql': 'DROP INDEX workspace.items_title_idx;\n',
    });
    const check = await runCli(['rollback', 'data', '--check', '--scratch-url', url], {
      cwd,
      env: { PRIMARY_DATABASE_URL: url },
    });
    expect(check.stdout + check.stderr).toContain('2 downs proved on a scratch database');
    expect(check.code).toBe(0);
  });

  it('stopped by SIGTERM mid-down: the down is rolled back, the migration stays applied, exit 143', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      ...FILES,
      'data/003_title_index.down.sql':
        'DROP INDEX workspace.items_title_idx;\nSELECT pg_sleep(60);\n',
    });
    const env = { PRIMARY_DATABASE_URL: url };
    expect((await runCli(['migrate', 'data'], { cwd, env })).code).toBe(0);
    const { child, done } = startCli(['rollback', 'data'], { cwd, env });
    expect(await sleepingIn(url)).toBe(true);
    child.kill('SIGTERM');
    const result = await done;
    expect(result.code).toBe(143);
    expect(result.stderr).toContain(
      'stopped by SIGTERM while running 003_title_index.down.sql: the server cancelled its statement and rolled it back',
    );
    expect(result.stderr).toContain('Go on with: npx schemata rollback data --to 2');
    await new Promise((r) => setTimeout(r, 500));
    expect(
      await query(url, "SELECT 1 FROM pg_class WHERE relname = 'items_title_idx'"),
    ).toHaveLength(1);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3']);
  });
});
