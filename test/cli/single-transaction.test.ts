import { describe, expect, it } from 'vitest';
import { runCli, startCli } from '../support/cli.js';
import { freshDatabase, query, sleepingIn, tableExists, trackedVersions } from '../support/db.js';
import { makeProject } from '../support/project.js';

/*
 * migrate --single-transaction from the command line (issue 23): a stop in
 * the middle leaves nothing of the run; a fleet refuses the flag with a hint
 * that works as typed.
 */

describe('migrate --single-transaction', () => {
  it('stopped by SIGTERM in its third migration: nothing of the run stays, exit 143', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      'data/001_schemas.sql':
        'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
      'data/002_items.sql': 'CREATE TABLE workspace.items (id int);\n',
      'data/003_slow.sql': 'CREATE TABLE workspace.slow (id int);\nSELECT pg_sleep(60);\n',
    });
    const { child, done } = startCli(['migrate', 'data', '--single-transaction'], {
      cwd,
      env: { PRIMARY_DATABASE_URL: url },
    });
    expect(await sleepingIn(url)).toBe(true);
    child.kill('SIGTERM');
    const result = await done;
    expect(result.code).toBe(143);
    expect(result.stderr).toContain('stopped by SIGTERM while applying 003_slow.sql');
    expect(result.stderr).toContain(
      'every migration this run applied to the database before it is undone too',
    );
    expect(await tableExists(url, 'workspace.items')).toBe(false);
    expect(await tableExists(url, 'workspace.slow')).toBe(false);
    expect(await trackedVersions(url, 'data')).toEqual([]);
  });

  it('a set with tenants refuses it (exit 2), and the hint runs as typed', async () => {
    const url = await freshDatabase();
    await query(url, 'CREATE SCHEMA tenant_a; CREATE SCHEMA tenant_b;');
    const cwd = makeProject({
      'schemata.json': JSON.stringify({
        sets: [
          {
            name: 'tenant',
            dir: 'tenant',
            database: 'primary',
            tenants: { schemas: ['tenant_a', 'tenant_b'] },
          },
        ],
      }),
      'tenant/001_items.sql': 'CREATE TABLE IF NOT EXISTS items (id int);\n',
    });
    const env = { PRIMARY_DATABASE_URL: url };
    const refused = await runCli(['migrate', 'tenant', '--single-transaction'], { cwd, env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--single-transaction applies to sets without "tenants"');
    expect(await tableExists(url, 'tenant_a.items')).toBe(false);
    const hint = /Leave the flag out: npx schemata (.*)/.exec(refused.stderr);
    expect(hint, refused.stderr).not.toBeNull();
    const again = await runCli(hint![1]!.trim().split(' '), { cwd, env });
    expect(again.code, again.stderr).toBe(0);
    expect(await tableExists(url, 'tenant_a.items')).toBe(true);
    expect(await tableExists(url, 'tenant_b.items')).toBe(true);
  });
});
