import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/api.js';
import { hintedArgs, runCli } from '../support/cli.js';
import { databaseName, freshDatabase, query, trackedVersions } from '../support/db.js';
import { appliedDataSet } from '../support/applied.js';
import { writeFile } from '../support/project.js';

/*
 * DROP DATABASE takes another database of the server with every table in
 * it. It runs only outside a transaction, so no measurement can roll it
 * back: the forecast asks that database itself, before anything of the run
 * runs, and refuses where a table there holds rows.
 */

const BASE = {
  'data/001_schemas.sql':
    'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
};

const dropFile = (name: string, ifExists = false) =>
  `-- schemata:no-transaction\nDROP DATABASE ${ifExists ? 'IF EXISTS ' : ''}${name};\n`;

const setUp = () => appliedDataSet(BASE);

const exists = async (url: string, name: string) =>
  (await query(url, 'SELECT 1 FROM pg_database WHERE datname = $1', [name])).length === 1;

describe('DROP DATABASE in a migration', () => {
  it('is refused where a table of that database holds rows, naming it; the printed --force drops it', async () => {
    const { url, cwd, env } = await setUp();
    const otherUrl = await freshDatabase();
    const other = databaseName(otherUrl);
    await query(
      otherUrl,
      'CREATE TABLE public.keep (id int); INSERT INTO public.keep VALUES (1), (2)',
    );
    writeFile(cwd, 'data/002_drop.sql', dropFile(other));

    const refused = await runCli(['migrate', 'data'], { cwd, env });
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain(
      `DROP DATABASE ${other} would destroy data: ${other}.public.keep holds 2 rows`,
    );
    expect(await exists(url, other)).toBe(true);
    expect(await trackedVersions(url, 'data')).toEqual(['1']);

    const forced = await runCli(hintedArgs(refused, 'migrate'), { cwd, env });
    expect(forced.code).toBe(0);
    expect(forced.stderr).toContain(`${other}.public.keep holds 2 rows (--force)`);
    expect(await exists(url, other)).toBe(false);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2']);
  });

  it("is asked as the set's URL asks: sslmode=prefer against a server without TLS", async () => {
    const { url, cwd } = await setUp();
    const otherUrl = await freshDatabase();
    const other = databaseName(otherUrl);
    await query(otherUrl, 'CREATE TABLE public.keep (id int); INSERT INTO public.keep VALUES (1)');
    writeFile(cwd, 'data/002_drop.sql', dropFile(other));
    const preferring = new URL(url);
    preferring.searchParams.set('sslmode', 'prefer');
    const refused = await runCli(['migrate', 'data'], {
      cwd,
      env: { PRIMARY_DATABASE_URL: preferring.toString() },
    });
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain(`${other}.public.keep holds 1 row`);
  });

  it('runs where that database holds no rows, or is not there (IF EXISTS)', async () => {
    const { url, cwd, env } = await setUp();
    const emptyUrl = await freshDatabase();
    const empty = databaseName(emptyUrl);
    await query(emptyUrl, 'CREATE TABLE public.nothing (id int)');
    writeFile(cwd, 'data/002_drop.sql', dropFile(empty));
    writeFile(cwd, 'data/003_gone.sql', dropFile(`t_${randomBytes(6).toString('hex')}`, true));

    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(await exists(url, empty)).toBe(false);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3']);
  });

  it('is refused where schemata cannot look into that database, saying why', async () => {
    const { url, cwd } = await setUp();
    const otherUrl = await freshDatabase();
    const other = databaseName(otherUrl);
    const role = `owner_${randomBytes(4).toString('hex')}`;
    // Its owner may drop it, but not connect to it.
    await query(
      url,
      `CREATE ROLE ${role} LOGIN PASSWORD 'owner-secret';
       ALTER DATABASE ${databaseName(url)} OWNER TO ${role}; ALTER SCHEMA workspace OWNER TO ${role};
       ALTER SCHEMA reference OWNER TO ${role}; ALTER SCHEMA schemata OWNER TO ${role};
       GRANT ALL ON ALL TABLES IN SCHEMA schemata TO ${role}; GRANT ALL ON ALL SEQUENCES IN SCHEMA schemata TO ${role};
       ALTER DATABASE ${other} OWNER TO ${role}; REVOKE CONNECT ON DATABASE ${other} FROM PUBLIC, ${role}`,
    );
    const asOwner = new URL(url);
    asOwner.username = role;
    asOwner.password = 'owner-secret';
    writeFile(cwd, 'data/002_drop.sql', dropFile(other));

    const refused = await runCli(['migrate', 'data'], {
      cwd,
      env: { PRIMARY_DATABASE_URL: asOwner.toString() },
    });
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain(
      `DROP DATABASE ${other} would destroy data: schemata could not look into database ${other} to see whether it holds rows (permission denied for database "${other}")`,
    );
    expect(refused.stderr).not.toContain('owner-secret');
    expect(await exists(url, other)).toBe(true);
    expect(await trackedVersions(url, 'data')).toEqual(['1']);
  });
});
