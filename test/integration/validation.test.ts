import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { baseline, migrate, type Task, validate } from '../../src/api.js';
import { freshDatabase, query, tableExists, trackedVersions } from '../support/db.js';
import { makeProject, SMALL_SETS, writeFile } from '../support/project.js';

const single = (url: string) => ({ PRIMARY_DATABASE_URL: url });

describe('tracking versus reality', () => {
  it("the seed's scenario: data schemas dropped behind the tool's back → exit 3 with the fix; --repair brings them back; primary untouched", async () => {
    const url = await freshDatabase();
    const cwd = makeProject({}, { example: true });
    expect((await migrate({ cwd, env: single(url) })).ok).toBe(true);
    const primaryBefore = await query(
      url,
      "SELECT version, at FROM schemata.migrations WHERE set_name = 'primary' ORDER BY 1",
    );
    await query(url, 'DROP SCHEMA workspace CASCADE; DROP SCHEMA reference CASCADE');

    const blocked = await migrate({ cwd, env: single(url) });
    expect(blocked.exitCode).toBe(3);
    const problem = blocked.sets.find((s) => s.name === 'data')!.problems[0]!;
    expect(problem.kind).toBe('mismatch');
    expect(problem.message).toContain(
      'tracking shows 3 migrations applied, but schemas workspace, reference are missing',
    );
    expect(problem.message).toContain('tracked but never actually ran');
    expect(problem.hint).toBe('schemata migrate data --repair');

    const repaired = await migrate({ cwd, env: single(url), sets: ['data'], repair: true });
    expect(repaired.error).toBeUndefined();
    expect(repaired.sets[0]!.applied.map((a) => a.file)).toEqual([
      '001_create_schemas.sql',
      '002_workspace_tables.sql',
      '003_reference_tables.sql',
    ]);
    expect(await tableExists(url, 'workspace.items')).toBe(true);
    expect(await query(url, 'SELECT count(*)::int AS n FROM reference.countries')).toEqual([
      { n: 5 },
    ]);
    expect(
      await query(
        url,
        "SELECT version, at FROM schemata.migrations WHERE set_name = 'primary' ORDER BY 1",
      ),
    ).toEqual(primaryBefore);
    expect((await validate({ cwd, env: single(url) })).ok).toBe(true);
  });

  it('--dry-run --repair shows what repair would run again, and writes nothing', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(SMALL_SETS);
    await migrate({ cwd, env: single(url) });
    await query(url, 'DROP TABLE workspace.items');
    const before = await query(url, 'SELECT * FROM schemata.migrations ORDER BY id');
    const planned = await migrate({
      cwd,
      env: single(url),
      sets: ['data'],
      repair: true,
      dryRun: true,
    });
    expect(planned.ok).toBe(true);
    expect(planned.sets[0]!.plan!.map((m) => m.file)).toEqual(['002_tables.sql']);
    expect(await tableExists(url, 'workspace.items')).toBe(false);
    expect(await query(url, 'SELECT * FROM schemata.migrations ORDER BY id')).toEqual(before);
  });

  it('a table dropped behind the back is an object-level mismatch naming the table and its migration', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({}, { example: true });
    await migrate({ cwd, env: single(url) });
    await query(url, 'DROP TABLE workspace.items');
    const report = await validate({ cwd, env: single(url) });
    expect(report.exitCode).toBe(3);
    const problem = report.sets[1]!.problems[0]!;
    expect(problem.kind).toBe('mismatch');
    expect(problem.message).toContain('table workspace.items (002_workspace_tables.sql)');
    // Its columns, constraints, indexes and sequences went with it: named once, through the table.
    expect(problem.message).not.toContain('column workspace.items.archived_at');
    expect(problem.message).not.toContain('items_id_seq');
    const repaired = await migrate({ cwd, env: single(url), sets: ['data'], repair: true });
    expect(repaired.error).toBeUndefined();
    expect(repaired.sets[0]!.applied.map((a) => a.file)).toEqual(['002_workspace_tables.sql']);
    expect(await tableExists(url, 'workspace.items')).toBe(true);
  });

  it('an object created then dropped by a later migration is not reported missing; a renamed one is expected under its new name', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      ...SMALL_SETS,
      'data/003_temp.sql':
        'CREATE TABLE workspace.temp (id int);\nCREATE TABLE workspace.old_name (id int);\n',
      'data/004_cleanup.sql':
        'DROP TABLE workspace.temp;\nALTER TABLE workspace.old_name RENAME TO new_name;\nALTER TABLE workspace.new_name RENAME COLUMN id TO key;\n',
    });
    expect((await migrate({ cwd, env: single(url) })).ok).toBe(true);
    expect((await validate({ cwd, env: single(url) })).ok).toBe(true);
    await query(url, 'ALTER TABLE workspace.new_name RENAME COLUMN key TO other');
    const report = await validate({ cwd, env: single(url) });
    // Renamed by 004, made by 003: the stored state followed the rename.
    expect(report.sets[1]!.problems[0]!.message).toContain(
      'column workspace.new_name.key (003_temp.sql)',
    );
  });

  it('untracked database → exit 3 naming baseline; baseline records; migrate is then a no-op', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(SMALL_SETS);
    for (const file of ['data/001_schemas.sql', 'data/002_tables.sql'])
      await query(url, SMALL_SETS[file]!);
    const blocked = await migrate({ cwd, env: single(url), sets: ['data'] });
    expect(blocked.exitCode).toBe(3);
    expect(blocked.sets[0]!.problems[0]!.hint).toContain('schemata baseline data');

    const adopted = await baseline({ cwd, env: single(url), set: 'data' });
    expect(adopted.error).toBeUndefined();
    expect(adopted.sets[0]!.applied.map((a) => a.file)).toEqual([
      '001_schemas.sql',
      '002_tables.sql',
    ]);
    const after = await migrate({ cwd, env: single(url), sets: ['data'] });
    expect(after.ok).toBe(true);
    expect(after.sets[0]!.applied).toEqual([]);
    expect((await validate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
  });

  it('baseline refuses when the objects are missing, lists them, and records with --force; --version stops at a version', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(SMALL_SETS);
    await query(url, 'CREATE SCHEMA workspace; CREATE SCHEMA reference');
    const refused = await baseline({ cwd, env: single(url), set: 'data' });
    expect(refused.exitCode).toBe(3);
    expect(refused.error!.message).toContain('table workspace.items (002_tables.sql)');
    expect(await trackedVersions(url, 'data')).toEqual([]);

    const partial = await baseline({ cwd, env: single(url), set: 'data', version: '1' });
    expect(partial.error).toBeUndefined();
    expect(await trackedVersions(url, 'data')).toEqual(['1']);
    expect(
      (await migrate({ cwd, env: single(url), sets: ['data'] })).sets[0]!.applied.map(
        (a) => a.file,
      ),
    ).toEqual(['002_tables.sql']);

    const url2 = await freshDatabase();
    const forced = await baseline({ cwd, env: single(url2), set: 'data', force: true });
    expect(forced.error).toBeUndefined();
    expect(await trackedVersions(url2, 'data')).toEqual(['1', '2']);
  });

  it('drift ahead of the files: a pending ADD COLUMN of a column that exists is named before anything runs', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(SMALL_SETS);
    await migrate({ cwd, env: single(url) });
    await query(url, 'ALTER TABLE workspace.items ADD COLUMN note text');
    writeFile(
      cwd,
      'data/003_harmless.sql',
      'CREATE TABLE IF NOT EXISTS workspace.first (id int);\n',
    );
    writeFile(
      cwd,
      'data/004_note.sql',
      '-- the column the hotfix already added\nALTER TABLE workspace.items ADD COLUMN note text;\n',
    );
    const report = await migrate({ cwd, env: single(url), sets: ['data'] });
    expect(report.exitCode).toBe(3);
    const problem = report.sets[0]!.problems[0]!;
    expect(problem.kind).toBe('drift');
    expect(problem.message).toContain(
      'database/data/004_note.sql:2:1 creates column workspace.items.note, which already exists',
    );
    // 003 is pending before it: recording 004 alone is not something baseline can do, so it is not offered.
    expect(problem.hint).not.toContain('baseline');
    expect(problem.hint).toContain('cannot be recorded alone');
    expect(await tableExists(url, 'workspace.first')).toBe(false);

    // With 003 applied, the hint offers baseline, and it works as typed.
    writeFile(cwd, 'data/004_note.sql', 'SELECT 1;\n');
    expect((await migrate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
    writeFile(cwd, 'data/005_note.sql', 'ALTER TABLE workspace.items ADD COLUMN note text;\n');
    const again = await migrate({ cwd, env: single(url), sets: ['data'] });
    expect(again.sets[0]!.problems[0]!.hint).toContain('schemata baseline data --version 5');
    expect((await baseline({ cwd, env: single(url), set: 'data', version: '5' })).ok).toBe(true);
    const clean = await migrate({ cwd, env: single(url), sets: ['data'] });
    expect(clean.ok).toBe(true);
    expect(clean.sets[0]!.applied).toEqual([]);
  });

  it('a changed checksum: validation names it; --repair records the new one when every object exists', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(SMALL_SETS);
    await migrate({ cwd, env: single(url) });
    writeFile(
      cwd,
      'data/002_tables.sql',
      '-- reformatted\nCREATE TABLE IF NOT EXISTS workspace.items (id int PRIMARY KEY);\n',
    );
    expect(
      (await validate({ cwd, env: single(url) })).sets[1]!.problems.map((p) => p.kind),
    ).toEqual(['checksum']);
    const repaired = await migrate({ cwd, env: single(url), sets: ['data'], repair: true });
    expect(repaired.error).toBeUndefined();
    expect(repaired.sets[0]!.warnings.join('\n')).toContain(
      '002_tables.sql changed, but everything it made exists: its new checksum is recorded',
    );
    expect((await validate({ cwd, env: single(url) })).ok).toBe(true);
  });

  it('a missing file stops the run, and --repair does not pretend to fix it', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(SMALL_SETS);
    await migrate({ cwd, env: single(url) });
    rmSync(join(cwd, 'database/data/002_tables.sql'));
    const report = await migrate({ cwd, env: single(url), sets: ['data'], repair: true });
    expect(report.exitCode).toBe(3);
    expect(report.sets[0]!.problems.map((p) => p.kind)).toEqual(['missing-file']);
  });

  it('--repair on a healthy set does nothing and says so', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(SMALL_SETS);
    await migrate({ cwd, env: single(url) });
    const before = await query(url, 'SELECT * FROM schemata.migrations ORDER BY id');
    const titles: string[] = [];
    const walk = async (tasks: Task[]): Promise<void> => {
      for (const task of tasks) {
        const children = await task.run(
          (title) => {
            task.title = title;
          },
          () => undefined,
        );
        titles.push(task.title);
        if (children) await walk(children);
      }
    };
    const report = await migrate({
      cwd,
      env: single(url),
      sets: ['data'],
      repair: true,
      runner: walk,
    });
    expect(report.ok).toBe(true);
    expect(titles).toContain('nothing to repair: tracking and the database agree');
    expect(report.sets[0]!.applied).toEqual([]);
    expect(await query(url, 'SELECT * FROM schemata.migrations ORDER BY id')).toEqual(before);
  });

  it('a failed CREATE INDEX CONCURRENTLY: recorded failed; --repair drops the INVALID index and re-runs it', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(SMALL_SETS);
    await migrate({ cwd, env: single(url) });
    await query(
      url,
      'CREATE TABLE workspace.dups (v int); INSERT INTO workspace.dups VALUES (1), (1)',
    );
    writeFile(
      cwd,
      'data/003_unique.sql',
      'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS dups_v_key ON workspace.dups (v);\n',
    );
    const failed = await migrate({ cwd, env: single(url), sets: ['data'] });
    expect(failed.exitCode).toBe(1);
    expect(
      await query(
        url,
        "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('workspace.dups_v_key')",
      ),
    ).toEqual([{ indisvalid: false }]);
    expect(
      (await migrate({ cwd, env: single(url), sets: ['data'] })).sets[0]!.problems.map(
        (p) => p.kind,
      ),
    ).toEqual(['dirty']);

    await query(
      url,
      'DELETE FROM workspace.dups WHERE ctid <> (SELECT min(ctid) FROM workspace.dups)',
    );
    const repaired = await migrate({ cwd, env: single(url), sets: ['data'], repair: true });
    expect(repaired.error).toBeUndefined();
    expect(
      await query(
        url,
        "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('workspace.dups_v_key')",
      ),
    ).toEqual([{ indisvalid: true }]);
    expect(
      await query(
        url,
        "SELECT event AS state FROM schemata.migrations WHERE set_name = 'data' AND version = '3' ORDER BY id DESC LIMIT 1",
      ),
    ).toEqual([{ state: 'repaired' }]);
  });

  it('a re-run that cannot run whole (it creates what survived) runs only what re-creates the missing table', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      'data/001_schemas.sql':
        'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
      'data/002_tables.sql':
        'CREATE TABLE workspace.a (id int);\nCREATE TABLE workspace.b (id int);\nINSERT INTO workspace.a VALUES (1);\n',
    });
    await migrate({ cwd, env: single(url), sets: ['data'] });
    await query(url, 'DROP TABLE workspace.b');
    const report = await migrate({ cwd, env: single(url), sets: ['data'], repair: true });
    expect(report.error).toBeUndefined();
    expect(report.sets[0]!.warnings.join('\n')).toContain(
      '002_tables.sql changes rows, so only what re-creates the missing objects runs again: line 2',
    );
    expect(await tableExists(url, 'workspace.b')).toBe(true);
    expect(await query(url, 'SELECT count(*)::int AS n FROM workspace.a')).toEqual([{ n: 1 }]);
  });

  it('--repair runs again only what re-creates the missing table: the DROP of the same file does not run again', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      'data/001_schemas.sql':
        'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
      'data/002_tables.sql':
        'CREATE TABLE IF NOT EXISTS workspace.keep (id int);\nCREATE TABLE IF NOT EXISTS workspace.gone (id int);\nDROP TABLE IF EXISTS workspace.scratch;\n',
    });
    await migrate({ cwd, env: single(url), sets: ['data'] });
    // A table of that name made since, holding a row: run whole, the file's DROP would take it.
    await query(
      url,
      'CREATE TABLE workspace.scratch (id int); INSERT INTO workspace.scratch VALUES (1); DROP TABLE workspace.gone',
    );
    const report = await migrate({ cwd, env: single(url), sets: ['data'], repair: true });
    expect(report.error).toBeUndefined();
    expect(report.sets[0]!.warnings.join('\n')).toContain(
      '002_tables.sql runs again only what re-creates the missing objects: line 2.',
    );
    expect(await query(url, 'SELECT count(*)::int AS n FROM workspace.scratch')).toEqual([
      { n: 1 },
    ]);
    expect(await tableExists(url, 'workspace.gone')).toBe(true);
  });

  it('--repair is subject to data protection: a failed migration, run again whole, may not drop a table that holds rows', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      'data/001_schemas.sql':
        'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
      'data/002_tables.sql':
        '-- schemata:no-transaction\nCREATE TABLE IF NOT EXISTS workspace.keep (id int);\nDROP TABLE IF EXISTS workspace.scratch;\n' +
        'CREATE TABLE IF NOT EXISTS workspace.child (id int REFERENCES workspace.parent (id));\n',
    });
    expect((await migrate({ cwd, env: single(url), sets: ['data'] })).exitCode).toBe(1);
    // The DBA makes what it lacked; meanwhile a table of the dropped name holds a row.
    await query(
      url,
      'CREATE TABLE workspace.parent (id int PRIMARY KEY); CREATE TABLE workspace.scratch (id int); INSERT INTO workspace.scratch VALUES (1)',
    );
    const report = await migrate({ cwd, env: single(url), sets: ['data'], repair: true });
    expect(report.exitCode).toBe(4);
    expect(report.sets[0]!.problems[0]!.message).toContain(
      'DROP TABLE workspace.scratch would destroy data: workspace.scratch holds 1 row',
    );
    expect(await query(url, 'SELECT count(*)::int AS n FROM workspace.scratch')).toEqual([
      { n: 1 },
    ]);
    expect(await tableExists(url, 'workspace.child')).toBe(false);
  });

  it('--repair of a file that changes rows runs only what re-creates the missing: its TRUNCATE is neither run nor refused', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      'data/001_schemas.sql':
        'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
      'data/002_tables.sql':
        'CREATE TABLE IF NOT EXISTS workspace.keep (id int);\nCREATE TABLE IF NOT EXISTS workspace.gone (id int);\nTRUNCATE workspace.keep;\n',
    });
    await migrate({ cwd, env: single(url), sets: ['data'] });
    await query(url, 'INSERT INTO workspace.keep VALUES (1); DROP TABLE workspace.gone');
    const report = await migrate({ cwd, env: single(url), sets: ['data'], repair: true });
    expect(report.error).toBeUndefined();
    expect(await tableExists(url, 'workspace.gone')).toBe(true);
    expect(await query(url, 'SELECT count(*)::int AS n FROM workspace.keep')).toEqual([{ n: 1 }]);
  });
});

describe('reading while another run writes', () => {
  it('validate reads the plan again when another run records a migration between its reading of the tracking and of the catalog: no drift that is none', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(SMALL_SETS);
    expect((await migrate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
    const fill = 'CREATE TABLE workspace.later (id int);\n';
    writeFile(cwd, 'data/003_later.sql', fill);
    // validate reads the tracking, then the expected objects: a lock on those holds it between the two, while
    // another run's migration of 003 (its table and its record) commits.
    const holder = new pg.Client({ connectionString: url });
    const other = new pg.Client({ connectionString: url });
    await holder.connect();
    await other.connect();
    try {
      await holder.query('BEGIN; LOCK TABLE schemata.objects IN ACCESS EXCLUSIVE MODE');
      const reading = validate({ cwd, env: single(url), sets: ['data'] });
      const waiting = async () =>
        (
          await query(
            url,
            "SELECT 1 FROM pg_locks WHERE relation = 'schemata.objects'::regclass AND NOT granted",
          )
        ).length > 0;
      const deadline = Date.now() + 10_000;
      while (!(await waiting()) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      expect(await waiting()).toBe(true);
      await other.query(
        `BEGIN; ${fill} INSERT INTO schemata.migrations (set_name, version, name, file, checksum, event)
         VALUES ('data', '3', 'later', '003_later.sql', '${createHash('sha256').update(fill).digest('hex')}', 'applied'); COMMIT`,
      );
      await holder.query('ROLLBACK');
      const report = await reading;
      expect(report.sets[0]!.problems).toEqual([]);
      expect(report.sets[0]!.pending).toEqual([]);
    } finally {
      await holder.end();
      await other.end();
    }
  });
});

describe('validation cost', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  async function countQueries(migrations: number): Promise<number> {
    const url = await freshDatabase();
    const files: Record<string, string> = { ...SMALL_SETS };
    for (let i = 3; i < 3 + migrations - 2; i++)
      files[`data/${String(i).padStart(4, '0')}_t.sql`] =
        `CREATE TABLE IF NOT EXISTS workspace.t${i} (id int, v text);\nCREATE INDEX IF NOT EXISTS t${i}_v ON workspace.t${i} (v);\n`;
    const cwd = makeProject(files);
    expect((await migrate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
    // A spy on the real driver: every query validation sends is counted.
    const spy = vi.spyOn(pg.Client.prototype, 'query');
    const report = await validate({ cwd, env: single(url), sets: ['data'] });
    expect(report.ok).toBe(true);
    const count = spy.mock.calls.length;
    spy.mockRestore();
    return count;
  }

  it('issues no more catalog queries for 300 migrations than for 3', async () => {
    const few = await countQueries(3);
    const many = await countQueries(300);
    expect(few).toBeGreaterThan(0);
    expect(many).toBe(few);
  });
});
