import { describe, expect, it } from 'vitest';
import { migrate, validate } from '../../src/api.js';
import { PASSWORD, query, trackedVersions } from '../support/db.js';
import { appliedDataSet } from '../support/applied.js';
import { writeFile } from '../support/project.js';
import { ELSEWHERE_REASON } from '../../src/sql/rules/work-in-another-session.js';

/*
 * Work a migration hands to another session (dblink) or another process
 * (COPY ... PROGRAM) runs outside its transaction: the measurement before
 * COMMIT cannot see it and a rollback cannot undo it. The forecast refuses it
 * before anything of the run is applied, however it is reached, unless forced.
 * Each case connects back to the database it migrates, as such a migration would.
 */

const BASE = {
  'data/001_schemas.sql':
    'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
  'data/002_tables.sql': 'CREATE TABLE workspace.items (id int PRIMARY KEY, label text);\n',
};

async function setUp() {
  const applied = await appliedDataSet(
    BASE,
    `INSERT INTO workspace.items VALUES (1, 'apple'), (2, 'banana'), (3, 'cherry');
     CREATE EXTENSION IF NOT EXISTS dblink;`,
  );
  // A migration of the same run before it: nothing of the run is applied.
  writeFile(applied.cwd, 'data/003_first.sql', 'CREATE TABLE workspace.first (id int);\n');
  return applied;
}

const items = async (url: string) =>
  (await query<{ n: number }>(url, 'SELECT count(*)::int AS n FROM workspace.items'))[0]!.n;

describe('work in another session or process', () => {
  it.each([
    [
      'dblink_exec in a statement',
      (url: string) => `SELECT dblink_exec('${url}', 'DELETE FROM workspace.items');\n`,
      'dblink_exec runs its SQL in another session',
    ],
    [
      'dblink_exec in a DO block',
      (url: string) =>
        `DO $$ BEGIN PERFORM dblink_exec('${url}', 'DELETE FROM workspace.items'); END $$;\n`,
      'dblink_exec runs its SQL in another session',
    ],
    [
      'a PL/pgSQL procedure the file makes, through CALL',
      (url: string) =>
        `CREATE PROCEDURE workspace.purge() LANGUAGE plpgsql AS $$ BEGIN PERFORM dblink_exec('${url}', 'DELETE FROM workspace.items'); END $$;\nCALL workspace.purge();\n`,
      'dblink_exec runs its SQL in another session',
    ],
    [
      'a SQL function the file makes, through SELECT',
      (url: string) =>
        `CREATE FUNCTION workspace.purge() RETURNS text LANGUAGE sql AS $$ SELECT dblink_exec('${url}', 'DELETE FROM workspace.items') $$;\nSELECT workspace.purge();\n`,
      'dblink_exec runs its SQL in another session',
    ],
    [
      'dblink_send_query, qualified, after dblink_connect',
      (url: string) =>
        `SELECT public.dblink_connect('other', '${url}');\nSELECT public.dblink_send_query('other', 'DELETE FROM workspace.items');\n`,
      'dblink_send_query runs its SQL in another session',
    ],
    [
      'a -- schemata:no-transaction file',
      (url: string) =>
        `-- schemata:no-transaction\nSELECT dblink_exec('${url}', 'DELETE FROM workspace.items');\n`,
      'dblink_exec runs its SQL in another session',
    ],
    [
      'COPY ... FROM PROGRAM',
      () => "COPY workspace.items FROM PROGRAM 'echo 4,pear' WITH (FORMAT csv);\n",
      'COPY ... FROM PROGRAM runs a program on the server',
    ],
  ])(
    '%s: refused before the run, exit 4, every row kept, no password shown',
    async (_, sql, words) => {
      const { url, cwd, env } = await setUp();
      writeFile(cwd, 'data/004_elsewhere.sql', sql(url));
      const report = await migrate({ cwd, env, sets: ['data'] });
      expect(report.exitCode).toBe(4);
      expect(report.error?.message).toContain(words);
      expect(report.error?.message).toContain(ELSEWHERE_REASON);
      expect(report.error?.message).toContain('nothing of this run was applied');
      expect(JSON.stringify(report)).not.toContain(PASSWORD());
      expect(await items(url)).toBe(3);
      expect(await trackedVersions(url, 'data')).toEqual(['1', '2']);
    },
  );

  it('a function of an earlier deploy that calls dblink_exec, named in the refusal', async () => {
    const { url, cwd, env } = await setUp();
    await query(
      url,
      `CREATE FUNCTION public.purge_elsewhere() RETURNS void LANGUAGE plpgsql AS $$ BEGIN PERFORM dblink_exec('${url}', 'DELETE FROM workspace.items'); END $$;`,
    );
    writeFile(cwd, 'data/004_elsewhere.sql', 'SELECT public.purge_elsewhere();\n');
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(4);
    expect(report.error?.message).toContain(
      'database/data/004_elsewhere.sql:1:1: dblink_exec runs its SQL in another session, over a connection of its own (in function public.purge_elsewhere), and',
    );
    expect(await items(url)).toBe(3);
  });

  it('-- schemata:force runs it, with a warning; what the other session did is beyond the measurement', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(
      cwd,
      'data/004_elsewhere.sql',
      `-- schemata:force\nSELECT dblink_exec('${url}', 'DELETE FROM workspace.items WHERE id = 3');\n`,
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(report.sets[0]!.warnings).toContain(
      `database/data/004_elsewhere.sql:2:1: dblink_exec runs its SQL in another session, over a connection of its own, and ${ELSEWHERE_REASON}; allowed (-- schemata:force).`,
    );
    expect(await items(url)).toBe(2);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3', '4']);
  });

  it('dblink_connect and dblink_disconnect run no SQL of their own: no refusal', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(
      cwd,
      'data/004_connect.sql',
      `SELECT dblink_connect('other', '${url}');\nSELECT dblink_disconnect('other');\n`,
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3', '4']);
  });
});

describe('a foreign table whose rows live on another server (postgres_fdw, back to this database)', () => {
  /** postgres_fdw's server and user mapping to the database at `url`, and foreign table workspace.remote over workspace.items. */
  const wrapper = (url: string) => {
    const u = new URL(url);
    return [
      'CREATE EXTENSION IF NOT EXISTS postgres_fdw;',
      `CREATE SERVER IF NOT EXISTS here FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '${u.hostname}', port '${u.port}', dbname '${u.pathname.slice(1)}');`,
      `CREATE USER MAPPING IF NOT EXISTS FOR CURRENT_USER SERVER here OPTIONS (user '${decodeURIComponent(u.username)}', password '${decodeURIComponent(u.password)}');`,
    ].join('\n');
  };
  const REMOTE =
    "CREATE FOREIGN TABLE workspace.remote (id int, label text) SERVER here OPTIONS (schema_name 'workspace', table_name 'items');";

  it.each([
    [
      'DELETE of every row of a foreign table the file makes',
      (url: string) => `${wrapper(url)}\n${REMOTE}\nDELETE FROM workspace.remote;\n`,
      'DELETE FROM foreign table workspace.remote',
    ],
    [
      'TRUNCATE of a foreign table of an earlier deploy',
      () => 'TRUNCATE workspace.remote;\n',
      'TRUNCATE foreign table workspace.remote',
    ],
    [
      'UPDATE of every row of a table IMPORT FOREIGN SCHEMA ... LIMIT TO made, in a DO block',
      (url: string) =>
        `${wrapper(url)}\nIMPORT FOREIGN SCHEMA workspace LIMIT TO (items) FROM SERVER here INTO public;\nDO $$ BEGIN UPDATE public.items SET label = NULL; END $$;\n`,
      'UPDATE foreign table public.items',
    ],
    [
      'a DELETE of a table IMPORT FOREIGN SCHEMA made without naming it, unqualified through SET search_path',
      (url: string) =>
        `${wrapper(url)}\nCREATE SCHEMA IF NOT EXISTS mirror;\nIMPORT FOREIGN SCHEMA workspace FROM SERVER here INTO mirror;\nSET search_path = mirror;\nDELETE FROM items WHERE id > 0;\n`,
      'DELETE FROM mirror.items, which IMPORT FOREIGN SCHEMA ... INTO mirror may have made a foreign table,',
    ],
    [
      'a DELETE whose WHERE matches every row (only a local table is measured)',
      (url: string) => `${wrapper(url)}\n${REMOTE}\nDELETE FROM workspace.remote WHERE id > 0;\n`,
      'DELETE FROM foreign table workspace.remote',
    ],
  ])('%s: refused before the run, exit 4, every row kept', async (what, sql, words) => {
    const { url, cwd, env } = await setUp();
    if (what.includes('earlier deploy')) await query(url, `${wrapper(url)}\n${REMOTE}`);
    writeFile(cwd, 'data/004_remote.sql', sql(url));
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(4);
    expect(report.error?.message).toContain(
      `${words} changes rows that live on another server, through a session of its own`,
    );
    expect(report.error?.message).toContain(ELSEWHERE_REASON);
    expect(JSON.stringify(report)).not.toContain(PASSWORD());
    expect(await items(url)).toBe(3);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2']);
  });

  it('an INSERT into it runs, and validate is clean after', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(
      cwd,
      'data/004_remote.sql',
      `${wrapper(url)}\n${REMOTE}\nINSERT INTO workspace.remote VALUES (4, 'pear');\n`,
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(await items(url)).toBe(4);
    const checked = await validate({ cwd, env, sets: ['data'] });
    expect(checked.exitCode).toBe(0);
    expect(checked.sets[0]?.problems).toEqual([]);
  });
});
