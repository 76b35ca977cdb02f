import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { freshDatabase, query, trackedVersions } from '../support/db.js';
import { makeProject, writeFile } from '../support/project.js';

const PROCESSES = 16;

/** Not re-runnable on purpose: a migration applied twice fails on the primary key of runs. */
function files(count: number): Record<string, string> {
  const out: Record<string, string> = {
    'data/001_schemas.sql':
      'CREATE SCHEMA workspace;\nCREATE SCHEMA reference;\nCREATE TABLE workspace.runs (step int PRIMARY KEY);\n',
  };
  for (let i = 2; i <= count; i++)
    out[`data/${String(i).padStart(3, '0')}_step.sql`] =
      `CREATE TABLE workspace.t${i} (id int);\nINSERT INTO workspace.runs VALUES (${i});\n`;
  return out;
}

describe(`${PROCESSES} concurrent migrate processes`, () => {
  it('three rounds on one database: every migration exactly once, every process exits 0 or 5', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(files(6));
    const env = { PRIMARY_DATABASE_URL: url, SCHEMATA_LOCK_TIMEOUT: '60' };
    for (const [round, count] of [6, 10, 14].entries()) {
      for (let i = 2; i <= count; i++)
        writeFile(
          cwd,
          `data/${String(i).padStart(3, '0')}_step.sql`,
          files(count)[`data/${String(i).padStart(3, '0')}_step.sql`]!,
        );
      const results = await Promise.all(
        Array.from({ length: PROCESSES }, () => runCli(['migrate', 'data'], { cwd, env })),
      );
      const codes = results.map((r) => r.code);
      expect(
        codes.every((c) => c === 0 || c === 5),
        `round ${round}: ${codes.join(' ')}\n${results.find((r) => r.code !== 0 && r.code !== 5)?.stderr}`,
      ).toBe(true);
      expect(codes).toContain(0);
      expect(
        await query(
          url,
          'SELECT count(*)::int AS n, count(DISTINCT step)::int AS d FROM workspace.runs',
        ),
      ).toEqual([{ n: count - 1, d: count - 1 }]);
      expect(await trackedVersions(url, 'data')).toHaveLength(count);
    }
  }, 180_000);

  it('migrate --repair racing migrate: each migration once, no process fails', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      'data/001_schemas.sql':
        'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
      'data/002_tables.sql': 'CREATE TABLE IF NOT EXISTS workspace.items (id int);\n',
    });
    const env = { PRIMARY_DATABASE_URL: url };
    expect((await runCli(['migrate', 'data'], { cwd, env })).code).toBe(0);
    await query(url, 'DROP TABLE workspace.items');
    writeFile(cwd, 'data/003_more.sql', 'CREATE TABLE workspace.more (id int);\n');
    const results = await Promise.all([
      ...Array.from({ length: 4 }, () => runCli(['migrate', 'data', '--repair'], { cwd, env })),
      ...Array.from({ length: 4 }, () => runCli(['migrate', 'data'], { cwd, env })),
    ]);
    // A plain migrate that runs before the repair stops on the mismatch (3); one after finds nothing to do.
    for (const r of results) expect([0, 3, 5], r.stderr).toContain(r.code);
    expect(results.some((r) => r.code === 0)).toBe(true);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3']);
    expect((await runCli(['validate', 'data'], { cwd, env })).code).toBe(0);
  });
});
