import { createServer, connect as netConnect, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { lint, migrate } from '../../src/api.js';
import {
  databaseName,
  freshDatabase,
  openClient,
  query,
  servers,
  tableExists,
  trackedVersions,
  waitFor,
  roleWithoutFunctions,
} from '../support/db.js';
import { havePgBouncer, startPgBouncer } from '../support/pgbouncer.js';
import { makeProject, writeFile } from '../support/project.js';

const SCHEMAS = {
  'data/001_schemas.sql':
    'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
};
const single = (url: string) => ({ PRIMARY_DATABASE_URL: url });

/** A set with workspace.items applied, and a second client that ran `sql` (and holds what it took). */
async function itemsHeldBy(sql: string) {
  const url = await freshDatabase();
  const cwd = makeProject({
    ...SCHEMAS,
    'data/002_items.sql': 'CREATE TABLE workspace.items (id int);\n',
  });
  expect((await migrate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
  const holder = await openClient(url);
  const pid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  await holder.query(sql);
  return { url, cwd, holder, pid };
}

describe('never queue behind a long transaction', () => {
  it('a long report (a SELECT in an open transaction, ACCESS SHARE) is named as the blocker, and the hint ends it by its pid', async () => {
    const { url, cwd, holder, pid } = await itemsHeldBy(
      "SET application_name = 'monthly-report'; BEGIN; SELECT count(*) FROM workspace.items",
    );
    writeFile(cwd, 'data/003_alter.sql', 'ALTER TABLE workspace.items ADD COLUMN note text;\n');
    try {
      const report = await migrate({
        cwd,
        env: single(url),
        sets: ['data'],
        statementLockTimeout: 0.2,
      });
      expect(report.exitCode).toBe(1);
      expect(report.error!.message).not.toContain('No session holds a table lock now');
      expect(report.error!.message).toContain(`pid ${pid} (monthly-report, idle in transaction`);
      expect(report.error!.message).toContain('holding AccessShareLock on workspace.items');
      expect(report.error!.hint).toContain(`SELECT pg_terminate_backend(${pid})`);
      // The hint, followed as typed: the report ends, the migration applies.
      holder.on('error', () => undefined); // its connection is the one ended
      const other = await openClient(url);
      try {
        await other.query(`SELECT pg_terminate_backend(${pid})`);
      } finally {
        await other.end();
      }
      expect((await migrate({ cwd, env: single(url), sets: ['data'] })).error).toBeUndefined();
      expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3']);
    } finally {
      await holder.end().catch(() => undefined);
    }
  });

  it('an ALTER behind a held lock gives up within the statement lock timeout, retries, names the blocker, applies nothing', async () => {
    const { url, cwd, holder, pid } = await itemsHeldBy(
      "SET application_name = 'long-report'; BEGIN; LOCK TABLE   workspace.items\n  IN ACCESS EXCLUSIVE MODE",
    );
    writeFile(
      cwd,
      'data/003_alter.sql',
      'CREATE TABLE workspace.other (id int);\nALTER TABLE workspace.items ADD COLUMN note text;\n',
    );
    try {
      const started = Date.now();
      const report = await migrate({
        cwd,
        env: single(url),
        sets: ['data'],
        statementLockTimeout: 0.3,
      });
      // 4 tries of 0.3 s and 1 + 2 + 4 s between them: well under a minute, never for ever.
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(report.exitCode).toBe(1);
      expect(report.error!.message).toContain('003_alter.sql at database/data/003_alter.sql:2:1');
      expect(report.error!.message).toContain('waited more than 0.3s for a lock, 4 times');
      expect(report.error!.message).toContain(`pid ${pid} (long-report, idle in transaction`);
      // Its query, white space folded: what the operator looks for.
      expect(report.error!.message).toContain(
        'LOCK TABLE workspace.items IN ACCESS EXCLUSIVE MODE',
      );
      expect(report.error!.hint).toContain('--statement-lock-timeout');
      expect(await tableExists(url, 'workspace.other')).toBe(false);
      expect(await trackedVersions(url, 'data')).toEqual(['1', '2']);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    expect((await migrate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
  });

  it('waits out a lock released within the retries', async () => {
    const { url, cwd, holder } = await itemsHeldBy(
      'BEGIN; LOCK TABLE workspace.items IN ACCESS EXCLUSIVE MODE',
    );
    setTimeout(() => void holder.query('ROLLBACK').then(() => holder.end()), 1_500);
    writeFile(cwd, 'data/003_alter.sql', 'ALTER TABLE workspace.items ADD COLUMN note text;\n');
    const report = await migrate({
      cwd,
      env: single(url),
      sets: ['data'],
      statementLockTimeout: 0.3,
    });
    expect(report.error).toBeUndefined();
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3']);
  });
});

describe("a DBA's view", () => {
  it('pg_stat_activity names the set and the file, and shows what the file runs, while it runs', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      ...SCHEMAS,
      'data/002_slow.sql': 'CREATE TABLE workspace.slow (id int);\nSELECT pg_sleep(30);\n',
    });
    const running = migrate({ cwd, env: single(url), sets: ['data'] });
    const seen = await (async () => {
      for (let i = 0; i < 200; i++) {
        const rows = await query<{ pid: number; application_name: string; query: string }>(
          url,
          "SELECT pid, application_name, query FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = current_database()",
        );
        if (rows[0]) return rows[0];
        await new Promise((r) => setTimeout(r, 100));
      }
      return undefined;
    })();
    await query(url, `SELECT pg_cancel_backend(${seen?.pid ?? 0})`);
    await running;
    expect(seen?.application_name).toBe('schemata: data 002_slow.sql');
    expect(seen?.query.split('\n')[0]).toBe(
      '-- schemata: set data, 002_slow.sql (2 statements): CREATE TABLE workspace.slow (id int); SELECT pg_sleep(30)',
    );
  });
});

describe('the run lock', () => {
  it("a database's statement_timeout shorter than the wait for another run's lock is no failure", async () => {
    const url = await freshDatabase();
    await query(url, `ALTER DATABASE ${databaseName(url)} SET statement_timeout = '500ms'`);
    const cwd = makeProject({ ...SCHEMAS });
    const other = await openClient(url);
    // The run lock, as another run holds it ('sche', 'mata').
    await other.query("SELECT pg_advisory_lock(x'73636865'::int, x'6d617461'::int)");
    let released = false;
    setTimeout(() => void other.end().then(() => (released = true)), 2_000);
    const report = await migrate({ cwd, env: single(url), sets: ['data'], lockTimeout: 20 });
    expect(report.error).toBeUndefined();
    expect(released).toBe(true); // it waited for the other run
    expect(await trackedVersions(url, 'data')).toEqual(['1']);
  });

  it('a stop while waiting for the run lock ends the wait: exit 143, nothing applied', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({ ...SCHEMAS });
    const other = await openClient(url);
    await other.query("SELECT pg_advisory_lock(x'73636865'::int, x'6d617461'::int)");
    const stop = new AbortController();
    try {
      const running = migrate({
        cwd,
        env: single(url),
        sets: ['data'],
        signal: stop.signal,
        lockTimeout: 60,
      });
      const asking = async () =>
        (
          await query<{ n: number }>(
            url,
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%advisory_xact_lock(1935894629, 1835103329)%' AND pid <> pg_backend_pid()",
          )
        )[0]!.n > 0;
      expect(await waitFor(asking, 20_000)).toBe(true);
      stop.abort('SIGTERM');
      // Long before the 60 s it would wait (the test's own timeout is shorter).
      const report = await running;
      expect(report.exitCode).toBe(143);
      expect(report.error!.message).toContain('stopped by SIGTERM while waiting for another run');
      expect(await trackedVersions(url, 'data')).toEqual([]);
    } finally {
      await other.end();
    }
  }, 30_000);

  it("a migration longer than the database's statement_timeout: the message says so, one sentence each, and the hint works as typed", async () => {
    const url = await freshDatabase();
    await query(url, `ALTER DATABASE ${databaseName(url)} SET statement_timeout = '300ms'`);
    const cwd = makeProject({ ...SCHEMAS, 'data/002_slow.sql': 'SELECT pg_sleep(1);\n' });
    const report = await migrate({ cwd, env: single(url), sets: ['data'] });
    expect(report.exitCode).toBe(1);
    expect(report.error!.message).toContain('canceling statement due to statement timeout.');
    expect(report.error!.message).toContain('statement_timeout of the database or the role');
    expect(report.error!.message).not.toContain('..');
    expect(report.error!.hint).toBe(
      "Give it more time with a first line in database/data/002_slow.sql: SET LOCAL statement_timeout = '30min'; then run again: schemata migrate data",
    );
    writeFile(
      cwd,
      'data/002_slow.sql',
      "SET LOCAL statement_timeout = '30min';\nSELECT pg_sleep(1);\n",
    );
    expect((await migrate({ cwd, env: single(url), sets: ['data'] })).error).toBeUndefined();
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2']);
  });

  it('split mode with both URLs reaching one database (localhost and 127.0.0.1): one lock, no waiting on itself', async () => {
    const url = await freshDatabase();
    const other = new URL(url);
    other.hostname = other.hostname === 'localhost' ? '127.0.0.1' : 'localhost';
    const cwd = makeProject({
      'primary/001_schemas.sql':
        'CREATE SCHEMA IF NOT EXISTS config;\nCREATE SCHEMA IF NOT EXISTS customer;\n',
      ...SCHEMAS,
    });
    const report = await migrate({
      cwd,
      env: {
        SPLIT_DB_MODE: 'true',
        PRIMARY_DATABASE_URL: url,
        DATA_DATABASE_URL: other.toString(),
      },
      lockTimeout: 2,
    });
    expect(report.error).toBeUndefined();
    expect(await trackedVersions(url, 'primary')).toEqual(['1']);
    expect(await trackedVersions(url, 'data')).toEqual(['1']);
  });
});

/*
 * SPEC §4 "Never queue": runs waiting for the run lock never hold anything that
 * a running CREATE INDEX CONCURRENTLY must wait for. Its last phase waits for
 * every transaction whose snapshot is older than its own; a waiter that sat in
 * a statement for the lock held one, and waited for the very run whose index
 * waited for it, until its lock timeout ended it (issue 24: 20 s directly, 60 s
 * through PgBouncer).
 */
describe.each([
  ['directly', false],
  ['through PgBouncer in transaction pooling', true],
] as const)(
  'CREATE INDEX CONCURRENTLY while other runs wait for the run lock, %s',
  (_how, pooled) => {
    it.skipIf(pooled && !havePgBouncer())(
      'the index is built and the waiting runs go on after it, well before their lock timeout',
      async () => {
        const direct = await freshDatabase();
        const bouncer = pooled ? await startPgBouncer(servers().primary) : undefined;
        const stop = new AbortController();
        try {
          const url = bouncer ? bouncer.url(databaseName(direct)) : direct;
          const cwd = makeProject({
            ...SCHEMAS,
            'data/002_items.sql':
              'CREATE TABLE workspace.items (id int);\nINSERT INTO workspace.items SELECT generate_series(1, 10000);\n',
          });
          expect((await migrate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
          writeFile(
            cwd,
            'data/003_index.sql',
            '-- schemata:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS items_id ON workspace.items (id);\n',
          );
          // An application's write in flight: the index build waits for it first, while the other runs start waiting.
          const writer = await openClient(direct);
          await writer.query('BEGIN; INSERT INTO workspace.items VALUES (0)');
          // Long enough for the test's own waits (the writer's transaction holds the index build meanwhile). A
          // waiter that held a snapshot held the build until this ran out: the index failed, dirty.
          const run = () =>
            migrate({
              cwd,
              env: single(url),
              sets: ['data'],
              lockTimeout: 60,
              statementLockTimeout: 20,
              signal: stop.signal,
            });
          const first = run();
          const building = async () =>
            (
              await query<{ n: number }>(
                direct,
                "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%CREATE INDEX CONCURRENTLY%' AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()",
              )
            )[0]!.n > 0;
          expect(await waitFor(building, 20_000)).toBe(true);
          const others = [run(), run()];
          // They have asked for the run lock, which the first run holds: seen from the server (behind PgBouncer
          // their tries may share a server connection, so at least one), and a second more for both to be at it.
          const asking = async () =>
            (
              await query<{ n: number }>(
                direct,
                `SELECT count(*)::int AS n FROM pg_stat_activity a
                WHERE datname = current_database() AND query LIKE '%advisory_xact_lock(1935894629, 1835103329)%'
                  AND pid <> pg_backend_pid()
                  AND NOT EXISTS (SELECT FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory' AND l.granted)`,
              )
            )[0]!.n >= (pooled ? 1 : 2);
          expect(await waitFor(asking, 20_000)).toBe(true);
          await new Promise((r) => setTimeout(r, 1_000));
          await writer.query('COMMIT');
          await writer.end();
          // Well before the 60 s the waiting runs would wait: the old waiter held the index build until then.
          const within = (ms: number) =>
            new Promise<'stalled'>((resolve) =>
              setTimeout(() => {
                resolve('stalled');
              }, ms).unref(),
            );
          const report = await Promise.race([first, within(30_000)]);
          expect(report).not.toBe('stalled');
          if (report === 'stalled') return;
          expect(report.error).toBeUndefined();
          expect(report.sets[0]!.applied.map((a) => a.file)).toEqual(['003_index.sql']);
          expect(
            await query(
              direct,
              "SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = 'workspace.items_id'::regclass",
            ),
          ).toEqual([{ valid: true }]);
          for (const after of await Promise.all(others)) {
            expect(after.error).toBeUndefined();
            expect(after.exitCode).toBe(0);
            expect(after.sets[0]!.applied).toEqual([]);
          }
          expect(await trackedVersions(direct, 'data')).toEqual(['1', '2', '3']);
        } finally {
          stop.abort('SIGTERM');
          await bouncer?.stop();
        }
      },
      45_000,
    );
  },
);

describe('a failed migration runs once', () => {
  it('is located by the statements that completed: nextval advanced once, the statement named', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      ...SCHEMAS,
      'data/002_seq.sql': 'CREATE SEQUENCE workspace.counter;\n',
    });
    expect((await migrate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
    writeFile(
      cwd,
      'data/003_fails.sql',
      "SELECT nextval('workspace.counter');\nSELECT pg_sleep(0.2);\nSELECT 1 / (SELECT count(*) FROM workspace.counter WHERE false);\n",
    );
    const started = Date.now();
    const report = await migrate({ cwd, env: single(url), sets: ['data'] });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(report.exitCode).toBe(1);
    expect(report.error!.message).toContain('database/data/003_fails.sql:3:1: division by zero');
    expect(report.error!.message).toContain('Statement: SELECT 1 / (SELECT count(*)');
    // Sequences are not rolled back: one run of the file advanced it once.
    expect(
      await query(url, 'SELECT last_value::int AS v, is_called FROM workspace.counter'),
    ).toEqual([{ v: 1, is_called: true }]);
  });

  it("is located the same where the role may not create schemata's functions (the measurement goes in the batch)", async () => {
    const url = await freshDatabase();
    const deployer = await roleWithoutFunctions(url, 'locator');
    const cwd = makeProject(SCHEMAS);
    expect((await migrate({ cwd, env: single(deployer), sets: ['data'] })).ok).toBe(true);
    writeFile(
      cwd,
      'data/002_fails.sql',
      "SELECT 1;\nSELECT 2;\nDO $$ BEGIN RAISE EXCEPTION 'stopped here'; END $$;\nSELECT 3;\n",
    );
    const report = await migrate({ cwd, env: single(deployer), sets: ['data'] });
    expect(report.exitCode).toBe(1);
    expect(report.error!.message).toContain('database/data/002_fails.sql:3:1: stopped here');
    expect(report.error!.message).toContain(
      "Statement: DO $$ BEGIN RAISE EXCEPTION 'stopped here'",
    );
  });
});

describe('a clean session per migration', () => {
  it('SET search_path, SET ROLE and standard_conforming_strings in one migration do not carry into the next', async () => {
    const url = await freshDatabase();
    const role = `r_${Math.random().toString(16).slice(2, 10)}`;
    await query(url, `CREATE ROLE ${role} NOLOGIN`);
    const cwd = makeProject({
      ...SCHEMAS,
      'data/002_settings.sql': `SET search_path TO reference;\nSET ROLE ${role};\nSET standard_conforming_strings = off;\nSELECT 1;\n`,
      'data/003_table.sql': "CREATE TABLE made_here (id int, note text DEFAULT 'a\\\\b');\n",
    });
    const report = await migrate({ cwd, env: single(url), sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(await tableExists(url, 'public.made_here')).toBe(true);
    expect(await tableExists(url, 'reference.made_here')).toBe(false);
    const owner = await query<{ owner: string }>(
      url,
      "SELECT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relname = 'made_here'",
    );
    expect(owner[0]!.owner).not.toBe(role);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3']);
  });
  it('RESET ALL in a file run in a transaction is named before anything runs; under -- schemata:no-transaction it runs', async () => {
    const url = await freshDatabase();
    const sql =
      'SET search_path TO reference;\nCREATE TABLE t (id int);\nRESET ALL;\nCREATE TABLE workspace.u (id int);\n';
    const cwd = makeProject({ ...SCHEMAS, 'data/002_reset.sql': sql });
    const report = await migrate({ cwd, env: single(url), sets: ['data'] });
    expect(report.exitCode).toBe(3);
    expect(report.sets[0]!.problems[0]!.message).toContain(
      'database/data/002_reset.sql:3:1 has RESET ALL',
    );
    expect(report.sets[0]!.problems[0]!.hint).toContain('RESET search_path');
    expect(await trackedVersions(url, 'data')).toEqual([]);

    writeFile(cwd, 'data/002_reset.sql', `-- schemata:no-transaction\n${sql}`);
    const outside = await migrate({ cwd, env: single(url), sets: ['data'] });
    expect(outside.error).toBeUndefined();
    expect(await tableExists(url, 'reference.t')).toBe(true);
    expect(await tableExists(url, 'workspace.u')).toBe(true);
  });
});

describe("a file's own transaction control", () => {
  it.each([
    ['a ROLLBACK', 'CREATE TABLE workspace.t (id int);\nROLLBACK;\n'],
    [
      'a COMMIT in the middle',
      "BEGIN;\nCREATE TYPE workspace.mood AS ENUM ('ok');\nCOMMIT;\nCREATE TABLE workspace.t (m workspace.mood);\n",
    ],
  ])(
    "a file with %s runs outside schemata's transaction with no edit, as psql would",
    async (_name, sql) => {
      const url = await freshDatabase();
      const cwd = makeProject({ ...SCHEMAS, 'data/002_control.sql': sql });
      const planned = await migrate({ cwd, env: single(url), sets: ['data'], dryRun: true });
      expect(planned.error).toBeUndefined();
      expect(planned.sets[0]!.plan!.find((m) => m.file === '002_control.sql')!.transactional).toBe(
        false,
      );
      const report = await migrate({ cwd, env: single(url), sets: ['data'] });
      expect(report.error).toBeUndefined();
      expect(await tableExists(url, 'workspace.t')).toBe(true);
      expect(await trackedVersions(url, 'data')).toEqual(['1', '2']);
    },
  );

  it('a ROLLBACK with no BEGIN before it undoes nothing: what came before stays and is recorded, and lint and --dry-run say so in the same words', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      ...SCHEMAS,
      'data/002_undone.sql':
        'CREATE TABLE workspace.t (id int);\nINSERT INTO workspace.t VALUES (1), (2);\nROLLBACK;\n',
      // Prisma's enum file, and a block the file rolls back itself: no warning.
      'data/003_prisma.sql':
        "BEGIN;\nCREATE TYPE workspace.mood AS ENUM ('ok');\nCOMMIT;\nBEGIN;\nALTER TYPE workspace.mood ADD VALUE 'sad';\nCOMMIT;\n",
      'data/004_tried.sql': 'BEGIN;\nINSERT INTO workspace.t VALUES (3);\nROLLBACK;\n',
    });
    const said =
      'database/data/002_undone.sql:3:1: ROLLBACK ends no transaction of this file: no BEGIN of the file is open before it, ' +
      'so the statements before it have already committed one by one (schemata runs the file outside its own transaction, as psql would), and it undoes none of them.';
    const linted = await lint({ cwd, sets: ['data'] });
    expect(
      linted.sets[0]!.findings.filter((f) => f.rule === 'transaction-end-without-begin'),
    ).toMatchObject([{ file: 'database/data/002_undone.sql', at: { line: 3, column: 1 } }]);
    const finding = linted.sets[0]!.findings.find(
      (f) => f.rule === 'transaction-end-without-begin',
    )!;
    expect(`${finding.file}:${finding.at.line}:${finding.at.column}: ${finding.message}`).toBe(
      said,
    );
    const planned = await migrate({ cwd, env: single(url), sets: ['data'], dryRun: true });
    expect(planned.error).toBeUndefined();
    expect(planned.sets[0]!.warnings).toEqual([said]);
    expect(planned.sets[0]!.plan!.map((m) => [m.file, m.transactional, m.warnings])).toEqual([
      ['001_schemas.sql', true, []],
      ['002_undone.sql', false, [said]],
      ['003_prisma.sql', false, []],
      ['004_tried.sql', false, []],
    ]);
    const report = await migrate({ cwd, env: single(url), sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(report.sets[0]!.warnings).toEqual([said]);
    // As under psql: the table and its two rows stay, the migration is recorded applied with the rows it wrote.
    expect(await query(url, 'SELECT id FROM workspace.t ORDER BY id')).toEqual([
      { id: 1 },
      { id: 2 },
    ]);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3', '4']);
    expect(
      await query(
        url,
        "SELECT event, effects -> 'rows' AS rows FROM schemata.migrations WHERE set_name = 'data' AND version = '2' ORDER BY id",
      ),
    ).toEqual([
      { event: 'running', rows: null },
      {
        event: 'applied',
        rows: [{ table: 'workspace.t', inserted: 2, updated: 0, deleted: 0 }],
      },
    ]);
  });

  // COMMIT AND CHAIN commits and opens the next transaction at once: what follows it is in a block the file's own
  // ROLLBACK undoes. Run as a transaction each, the DELETE below was committed by schemata, the ROLLBACK then ending
  // nothing (two warnings of PostgreSQL's own).
  it('COMMIT AND CHAIN and ROLLBACK AND CHAIN open a block, as psql would: its ROLLBACK undoes it, its COMMIT keeps it, its isolation kept', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      ...SCHEMAS,
      'data/002_rows.sql':
        'CREATE TABLE workspace.t (id int);\nINSERT INTO workspace.t VALUES (1), (2), (3), (4);\nCREATE TABLE workspace.seen (level text);\n',
      'data/003_chain.sql': [
        'SELECT 1;',
        'BEGIN ISOLATION LEVEL SERIALIZABLE;',
        'DELETE FROM workspace.t WHERE id = 1;',
        'COMMIT AND CHAIN;',
        'DELETE FROM workspace.t WHERE id = 2;',
        'ROLLBACK AND CHAIN;',
        "INSERT INTO workspace.seen SELECT current_setting('transaction_isolation');",
        'DELETE FROM workspace.t WHERE id = 3;',
        'COMMIT AND CHAIN;',
        'DELETE FROM workspace.t WHERE id = 4;',
        'ROLLBACK;',
        '',
      ].join('\n'),
    });
    const report = await migrate({ cwd, env: single(url), sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(await query(url, 'SELECT id FROM workspace.t ORDER BY id')).toEqual([
      { id: 2 },
      { id: 4 },
    ]);
    expect(await query(url, 'SELECT level FROM workspace.seen')).toEqual([
      { level: 'serializable' },
    ]);
    expect(report.sets[0]!.applied.flatMap((a) => a.notices ?? [])).toEqual([]);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3']);
  });

  it('under -- schemata:no-transaction the enum ADD VALUE idiom runs as psql would', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      ...SCHEMAS,
      'data/002_enum.sql':
        "CREATE TYPE workspace.mood AS ENUM ('ok');\nCREATE TABLE workspace.people (m workspace.mood);\n",
      'data/003_value.sql':
        "-- schemata:no-transaction\nBEGIN;\nALTER TYPE workspace.mood ADD VALUE 'sad';\nCOMMIT;\nBEGIN;\nINSERT INTO workspace.people VALUES ('sad');\nCOMMIT;\n",
    });
    const report = await migrate({ cwd, env: single(url), sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(await query(url, 'SELECT m::text FROM workspace.people')).toEqual([{ m: 'sad' }]);
  });

  it('a DO block that COMMITs runs outside a transaction', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      ...SCHEMAS,
      'data/002_batches.sql': 'CREATE TABLE workspace.n (i int);\n',
      'data/003_batched.sql':
        'DO $$ BEGIN FOR i IN 1..3 LOOP INSERT INTO workspace.n VALUES (i); COMMIT; END LOOP; END $$;\n',
    });
    const report = await migrate({ cwd, env: single(url), sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(await query(url, 'SELECT count(*)::int AS n FROM workspace.n')).toEqual([{ n: 3 }]);
  });
});

describe('what a migration says', () => {
  it('RAISE NOTICE lines are kept with the applied migration', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      ...SCHEMAS,
      'data/002_say.sql':
        "DO $$ BEGIN RAISE NOTICE 'backfilled % rows', 3; RAISE WARNING 'slow path'; END $$;\n",
    });
    const report = await migrate({ cwd, env: single(url), sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(report.sets[0]!.applied.find((a) => a.file === '002_say.sql')!.notices).toEqual([
      'NOTICE: backfilled 3 rows',
      'WARNING: slow path',
    ]);
  });
});

describe('--wait', () => {
  it('keeps trying a port that starts answering later; without it, fails at once', async () => {
    const url = await freshDatabase();
    const target = new URL(url);
    const free = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const port = (probe.address() as { port: number }).port;
        probe.close(() => {
          resolve(port);
        });
      });
    });
    const late = new URL(url);
    late.hostname = '127.0.0.1';
    late.port = String(free);
    const cwd = makeProject({ ...SCHEMAS });
    const refused = await migrate({ cwd, env: single(late.toString()), sets: ['data'] });
    expect(refused.exitCode).toBe(1);

    let proxy: Server | undefined;
    setTimeout(() => {
      proxy = createServer((socket) => {
        const upstream = netConnect(Number(target.port), target.hostname);
        socket.pipe(upstream).pipe(socket);
        socket.on('error', () => upstream.destroy());
        upstream.on('error', () => socket.destroy());
      }).listen(free, '127.0.0.1');
    }, 2_000);
    try {
      const report = await migrate({ cwd, env: single(late.toString()), sets: ['data'], wait: 20 });
      expect(report.error).toBeUndefined();
      expect(await trackedVersions(url, 'data')).toEqual(['1']);
    } finally {
      await new Promise((r) => {
        if (proxy) proxy.close(r);
        else r(undefined);
      });
    }
  });
});

describe('connecting', () => {
  it("the run lock's session connects beside the run's, not after it", async () => {
    const url = await freshDatabase();
    const target = new URL(url);
    // A proxy that holds the first connection back until a second one arrives (at most 3 s): a run that
    // connects one session after the other only gets its second once the first is let through.
    let releaseFirst: (() => void) | undefined;
    let arrivals = 0;
    let secondWhileFirstHeld = false;
    const proxy = createServer((socket) => {
      arrivals++;
      const upstream = netConnect(Number(target.port), target.hostname);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
      const forward = () => socket.pipe(upstream).pipe(socket);
      if (arrivals === 1) {
        const timer = setTimeout(() => {
          releaseFirst = undefined;
          forward();
        }, 3_000);
        releaseFirst = () => {
          clearTimeout(timer);
          forward();
        };
        return;
      }
      if (releaseFirst) {
        secondWhileFirstHeld = true;
        releaseFirst();
        releaseFirst = undefined;
      }
      forward();
    });
    const port = await new Promise<number>((resolve) => {
      proxy.listen(0, '127.0.0.1', () => {
        resolve((proxy.address() as { port: number }).port);
      });
    });
    const viaProxy = new URL(url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(port);
    try {
      const cwd = makeProject({ ...SCHEMAS });
      const report = await migrate({ cwd, env: single(viaProxy.toString()), sets: ['data'] });
      expect(report.error).toBeUndefined();
      expect(arrivals).toBeGreaterThanOrEqual(2);
      expect(secondWhileFirstHeld).toBe(true);
    } finally {
      await new Promise((r) => proxy.close(r));
    }
  });
});

describe('the API env', () => {
  it('is laid over process.env: NODE_ENV=production of the process still refuses the embedded database', async () => {
    const cwd = makeProject({ ...SCHEMAS });
    const before = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      // The README's example with the secret forgotten.
      const report = await migrate({
        cwd,
        env: { PRIMARY_DATABASE_URL: process.env.SCHEMATA_FORGOTTEN_SECRET },
      });
      expect(report.exitCode).toBe(2);
      expect(report.error!.message).toContain('PRIMARY_DATABASE_URL');
    } finally {
      process.env.NODE_ENV = before;
    }
  });
});
