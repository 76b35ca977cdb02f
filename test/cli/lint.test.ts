import { describe, expect, it } from 'vitest';
import { lintJson, runCli } from '../support/cli.js';
import { freshDatabase, query, schemaExists } from '../support/db.js';
import { makeProject, writeFile } from '../support/project.js';

describe('schemata lint (CLI)', () => {
  it('points at ADD CONSTRAINT IF NOT EXISTS with the guarded DO-block form, exit 3', async () => {
    const cwd = makeProject({
      'data/001_schemas.sql':
        'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
      'data/002_check.sql':
        "ALTER TABLE workspace.items\n  ADD CONSTRAINT IF NOT EXISTS items_title_check CHECK (title <> '');\n",
    });
    const result = await runCli(['lint'], { cwd });
    expect(result.code).toBe(3);
    expect(result.stdout).toContain(
      'database/data/002_check.sql:2:18 error add-constraint-if-not-exists',
    );
    expect(result.stdout).toContain('IF NOT EXISTS (SELECT 1 FROM pg_constraint');
    expect(result.stdout).toContain('2 files checked: 1 error, 0 warnings');
  });

  it('the guarded form it prints is the file’s own statement: put in its place, the file migrates, twice', async () => {
    const url = await freshDatabase();
    const env = { PRIMARY_DATABASE_URL: url };
    const cwd = makeProject({
      'data/001_items.sql':
        'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\nCREATE TABLE IF NOT EXISTS workspace.items (title text);\n',
      'data/002_check.sql':
        "ALTER TABLE workspace.items\n  ADD CONSTRAINT IF NOT EXISTS items_title_check CHECK (title <> '');\n",
    });
    const result = await runCli(['lint', 'data'], { cwd });
    expect(result.code).toBe(3);
    const printed = result.stdout.split('\n');
    const from = printed.findIndex((l) => l.trim() === 'DO $$');
    const to = printed.findIndex((l, i) => i > from && l.trim() === '$$;');
    const block = printed
      .slice(from, to + 1)
      .map((l) => l.slice(4))
      .join('\n');
    expect(block).not.toContain('my_');
    writeFile(cwd, 'data/002_check.sql', `${block}\n`);
    expect((await runCli(['lint', 'data'], { cwd })).code).toBe(0);
    const migrated = await runCli(['migrate', 'data'], { cwd, env });
    expect(migrated.code, migrated.stderr).toBe(0);
    const [row] = await query<{ n: number }>(
      url,
      "SELECT count(*)::int AS n FROM pg_constraint WHERE conname = 'items_title_check'",
    );
    expect(row!.n).toBe(1);
    // Re-runnable, as repair needs: run again on what it made.
    await query(url, "DELETE FROM schemata.migrations WHERE version = '2'");
    expect((await runCli(['migrate', 'data'], { cwd, env })).code).toBe(0);
  });

  it('lists warnings like a compiler, passes by default, and fails past --max-warnings', async () => {
    const cwd = makeProject({
      'primary/001_schemas.sql': 'CREATE SCHEMA config;\nCREATE SCHEMA IF NOT EXISTS customer;\n',
      'primary/002_cols.sql':
        'ALTER TABLE config.settings ADD COLUMN note text;\nDROP TABLE config.old;\n',
    });
    const relaxed = await runCli(['lint', 'primary'], { cwd });
    expect(relaxed.code).toBe(0);
    expect(relaxed.stdout).toContain(
      'database/primary/001_schemas.sql:1:1 warning create-without-if-not-exists CREATE SCHEMA config',
    );
    expect(relaxed.stdout).toContain(
      'database/primary/002_cols.sql:1:1 warning add-column-without-if-not-exists',
    );
    expect(relaxed.stdout).toContain(
      'database/primary/002_cols.sql:2:1 warning destructive-statement DROP TABLE config.old',
    );
    const strict = await runCli(['lint', 'primary', '--max-warnings', '2'], { cwd });
    expect(strict.code).toBe(3);
    expect(strict.stderr).toContain('3 warnings, more than --max-warnings 2 allows');
    const machine = await runCli(['lint', '--json'], { cwd });
    const report = lintJson(machine);
    expect(report).toMatchObject({ command: 'lint', ok: true, errors: 0, warnings: 3 });
    expect(report.sets[0]?.findings[0]).toMatchObject({
      rule: 'create-without-if-not-exists',
      file: 'database/primary/001_schemas.sql',
      at: { line: 1, column: 1 },
    });
  });

  it('the example sets are clean', async () => {
    const cwd = makeProject({}, { example: true });
    const result = await runCli(['lint', '--max-warnings', '0'], { cwd });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('0 errors, 0 warnings');
  });

  it('migrate refuses the same file before running anything, naming the rule', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      'data/001_schemas.sql':
        'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
      'data/002_check.sql':
        'ALTER TABLE workspace.items ADD CONSTRAINT IF NOT EXISTS c CHECK (true);\n',
    });
    const result = await runCli(['migrate', 'data'], { cwd, env: { PRIMARY_DATABASE_URL: url } });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(
      'database/data/002_check.sql:1:44 does not parse: ADD CONSTRAINT IF NOT EXISTS is a syntax error in PostgreSQL',
    );
    expect(await schemaExists(url, 'workspace')).toBe(false);
  });

  it('rejects a bad --max-warnings with exit 2', async () => {
    const result = await runCli(['lint', '--max-warnings', '-1'], { cwd: makeProject() });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--max-warnings must be a whole number');
  });
});
