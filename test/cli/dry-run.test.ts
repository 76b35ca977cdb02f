import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { json, lintJson, runCli } from '../support/cli.js';
import { freshDatabase, query, schemaExists, tableExists, trackedVersions } from '../support/db.js';
import { makeProject, SMALL_SETS, writeFile } from '../support/project.js';

describe('schemata migrate --dry-run / --force (CLI)', () => {
  it('a DROP TABLE on a table with rows: the dry run shows the refusal, migrate exits 4 and keeps the data, --force runs it', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(SMALL_SETS);
    const env = { PRIMARY_DATABASE_URL: url };
    expect((await runCli(['migrate'], { cwd, env })).code).toBe(0);
    await query(url, 'INSERT INTO workspace.items VALUES (1), (2)');
    writeFile(cwd, 'data/003_drop_items.sql', 'DROP TABLE workspace.items;\n');

    writeFile(cwd, 'data/004_later.sql', 'CREATE TABLE IF NOT EXISTS workspace.later (id int);\n');
    const dry = await runCli(['migrate', 'data', '--dry-run'], { cwd, env });
    expect(dry.code).toBe(4);
    // The refused step is marked ✖, not a green ✔; the steps after it are still shown.
    expect(dry.stdout + dry.stderr).toContain(
      '✖ would apply 003_drop_items.sql; DROP TABLE workspace.items: refused (workspace.items holds 2 rows)',
    );
    expect(dry.stdout).toContain('✔ would apply 004_later.sql');
    // The refusal and its hint, once.
    expect(dry.stderr.split('→ Move or back up the data first').length - 1, dry.stderr).toBe(1);
    expect(dry.stderr).not.toContain('problem found');
    rmSync(join(cwd, 'database/data/004_later.sql'));
    const dryJson = json(await runCli(['migrate', 'data', '--dry-run', '--json'], { cwd, env }));
    expect(dryJson.sets[0]?.plan?.[0]?.steps[0]).toMatchObject({
      verdict: 'refused',
      target: 'workspace.items',
      holders: [{ table: 'workspace.items', rows: 2, more: false }],
    });

    const refused = await runCli(['migrate', 'data'], { cwd, env });
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain(
      'database/data/003_drop_items.sql:1:1: DROP TABLE workspace.items would destroy data: workspace.items holds 2 rows',
    );
    expect(refused.stderr).toContain(
      '→ Move or back up the data first; if losing it is intended, add the line "-- schemata:force" to database/data/003_drop_items.sql (it then travels with the file), or run: npx schemata migrate data --force',
    );
    const refusedJson = json(await runCli(['migrate', 'data', '--json'], { cwd, env }));
    expect(refusedJson.exitCode).toBe(4);
    expect(refusedJson.sets[0]?.problems[0]).toMatchObject({
      kind: 'refused',
      holders: [{ table: 'workspace.items', rows: 2, more: false }],
    });
    expect(await query(url, 'SELECT count(*)::int AS n FROM workspace.items')).toEqual([{ n: 2 }]);

    const forced = await runCli(['migrate', 'data', '--force'], { cwd, env });
    expect(forced.code).toBe(0);
    expect(forced.stderr).toContain(
      'warning: database/data/003_drop_items.sql:1:1: DROP TABLE workspace.items runs although workspace.items holds 2 rows (--force)',
    );
    expect(await tableExists(url, 'workspace.items')).toBe(false);
  });

  it('a dry run on a fresh database writes nothing', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(SMALL_SETS);
    const result = await runCli(['migrate', '--dry-run'], {
      cwd,
      env: { PRIMARY_DATABASE_URL: url },
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('would apply 001_schemas.sql');
    expect(await schemaExists(url, 'schemata')).toBe(false);
    expect(await schemaExists(url, 'config')).toBe(false);
  });

  it("shows lint's lock-hazard warnings sized by the database's tables, and a ROLLBACK that ends nothing, in lint's words", async () => {
    const url = await freshDatabase();
    const env = { PRIMARY_DATABASE_URL: url };
    const cwd = makeProject({
      'data/001_schemas.sql':
        'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
      'data/002_events.sql':
        'CREATE TABLE IF NOT EXISTS workspace.events (id int, note text);\nINSERT INTO workspace.events SELECT g, repeat($$x$$, 100) FROM generate_series(1, 3000) g;\n',
    });
    expect((await runCli(['migrate', 'data'], { cwd, env })).code).toBe(0);
    // VACUUM makes the table's visibility and free-space maps now: autovacuum making them between the two
    // commands below (3,000 inserted rows call for it) would change the size they print.
    await query(url, 'VACUUM ANALYZE workspace.events');
    writeFile(
      cwd,
      'data/003_type.sql',
      'ALTER TABLE workspace.events ALTER COLUMN id TYPE bigint;\n',
    );
    writeFile(
      cwd,
      'data/004_undone.sql',
      'DELETE FROM workspace.events WHERE id = 1;\nROLLBACK;\n',
    );
    const rewrites =
      /database\/data\/003_type\.sql:1:1: ALTER COLUMN id TYPE bigint rewrites workspace\.events \(3 k rows, \d+ kB\) and its indexes under an ACCESS EXCLUSIVE lock/;
    const dry = await runCli(['migrate', 'data', '--dry-run'], { cwd, env });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stderr).toMatch(new RegExp(`warning: ${rewrites.source}`));
    expect(dry.stdout).toContain('would apply 003_type.sql');

    // lint with the same URL says the same, sized the same; and of the ROLLBACK, the same words.
    const linted = lintJson(await runCli(['lint', 'data', '--json'], { cwd, env }));
    const said = (rule: string) =>
      linted.sets[0]!.findings.filter((f) => f.rule === rule).map(
        (f) => `${f.file}:${f.at.line}:${f.at.column}: ${f.message}`,
      );
    const [typeChange] = said('type-change-rewrites');
    const [rollback] = said('transaction-end-without-begin');
    expect(typeChange).toMatch(rewrites);
    expect(dry.stderr).toContain(`warning: ${typeChange!}`);
    expect(rollback).toContain('ROLLBACK ends no transaction of this file');
    expect(dry.stderr).toContain(`warning: ${rollback!}`);

    const report = json(await runCli(['migrate', 'data', '--dry-run', '--json'], { cwd, env }));
    const plan = report.sets[0]!.plan!;
    expect(plan.find((m) => m.file === '003_type.sql')!.warnings).toEqual([typeChange]);
    expect(plan.find((m) => m.file === '004_undone.sql')!.warnings).toEqual([rollback]);
    expect(report.sets[0]!.warnings).toEqual(expect.arrayContaining([typeChange, rollback]));
    // Sizing writes nothing either: the two files stay pending.
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2']);
  });
});
