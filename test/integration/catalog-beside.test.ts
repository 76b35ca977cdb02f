import { describe, expect, it } from 'vitest';
import { migrate, status, validate } from '../../src/api.js';
import { freshDatabase, openClient, query, waitFor } from '../support/db.js';
import { makeProject } from '../support/project.js';

/*
 * The missing-object check lists the whole catalog: the longest reading of a
 * no-op deploy, status and validate. It runs on a session beside the run's
 * (the one that holds the run lock, or one opened for it), while the run's
 * session reads tracking and the schemas' facts. Shown by holding the
 * listing up: with schemata.objects locked by another client, the listing
 * waits, and the facts are read meanwhile; the run ends right once the lock
 * goes, and leaves no session of its own behind.
 */

const FILES = {
  'primary/001_config.sql':
    'CREATE SCHEMA IF NOT EXISTS config;\nCREATE SCHEMA IF NOT EXISTS customer;\nCREATE TABLE config.flags (id int PRIMARY KEY);\n',
  'data/001_workspace.sql':
    'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\nCREATE TABLE workspace.items (id int PRIMARY KEY, label text);\n',
};

interface Session {
  pid: number;
  waiting: boolean;
  query: string;
}

const sessionsOf = (url: string, locker: number) =>
  query<Session>(
    url,
    `SELECT pid, wait_event_type = 'Lock' AS waiting, query FROM pg_stat_activity
      WHERE datname = current_database() AND application_name = 'schemata' AND pid <> ${locker}`,
  );

describe('the catalog is listed beside the run', () => {
  it.each([
    ['migrate, both sets (a no-op deploy)', 'migrate', undefined],
    ['migrate of one set', 'migrate', ['data']],
    ['status', 'status', undefined],
    ['validate', 'validate', undefined],
  ] as const)('%s: the facts are read while the listing waits', async (_, command, sets) => {
    const url = await freshDatabase();
    const cwd = makeProject(FILES);
    const env = { PRIMARY_DATABASE_URL: url };
    expect((await migrate({ cwd, env })).error).toBeUndefined();

    const locker = await openClient(url);
    const lockerPid = (await locker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))
      .rows[0]!.pid;
    await locker.query('BEGIN; LOCK TABLE schemata.objects IN ACCESS EXCLUSIVE MODE');
    const run = { migrate, status, validate }[command]({
      cwd,
      env,
      ...(sets ? { sets: [...sets] } : {}),
    });
    try {
      const beside = await waitFor(async () => {
        const sessions = await sessionsOf(url, lockerPid);
        // pg_stat_activity keeps a statement's first kilobyte: each is named by its first lines.
        const listing = sessions.find((s) => s.waiting && s.query.includes('SELECT r.* FROM ('));
        const facts = sessions.find(
          (s) => s !== listing && s.query.includes('n.oid IS NOT NULL AS exists'),
        );
        return listing !== undefined && facts !== undefined;
      }, 10_000);
      expect(beside).toBe(true);
    } finally {
      await locker.query('COMMIT');
      await locker.end();
    }
    const report = await run;
    expect(report.error).toBeUndefined();
    expect(report.ok).toBe(true);
    // The listing's own session (status, validate) is ended with the run; the lock's too.
    expect(await waitFor(async () => (await sessionsOf(url, lockerPid)).length === 0, 5_000)).toBe(
      true,
    );
  });
});
