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

  it('names that are reserved words are quoted in the SQL it prints, which runs as typed on the tables', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      'data/001_tables.sql': [
        'CREATE SCHEMA IF NOT EXISTS workspace;',
        'CREATE SCHEMA IF NOT EXISTS reference;',
        'CREATE TABLE IF NOT EXISTS workspace."user" (id int PRIMARY KEY);',
        'CREATE TABLE IF NOT EXISTS workspace."order" ("user" int, "select" text, "group" int);',
        'INSERT INTO workspace."user" VALUES (1);',
        'INSERT INTO workspace."order" VALUES (1, \'a\', 2);',
        '',
      ].join('\n'),
    });
    expect(
      (await runCli(['migrate', 'data'], { cwd, env: { PRIMARY_DATABASE_URL: url } })).code,
    ).toBe(0);
    writeFile(
      cwd,
      'data/002_hazards.sql',
      [
        'CREATE INDEX IF NOT EXISTS "check" ON workspace."order" ("select");',
        'ALTER TABLE workspace."order" ADD CONSTRAINT "table" FOREIGN KEY ("user") REFERENCES workspace."user" (id);',
        'ALTER TABLE workspace."order" ALTER COLUMN "select" SET NOT NULL;',
        'ALTER TABLE workspace."order" ADD COLUMN IF NOT EXISTS "default" uuid DEFAULT gen_random_uuid();',
        'ALTER TABLE workspace."order" ALTER COLUMN "group" TYPE bigint;',
        '',
      ].join('\n'),
    );
    // Each finding's fix: the indented SQL under it, comments and the sentence before it left out.
    const fixesOf = (stdout: string) => {
      const fixes: string[][] = [];
      for (const line of stdout.split('\n')) {
        if (/^\S.* (warning|error) /.test(line)) fixes.push([]);
        else if (line.startsWith('    ') && !line.trim().startsWith('--') && !line.endsWith(':'))
          fixes.at(-1)?.push(line.slice(4));
      }
      return fixes
        .map((lines) => lines.join('\n'))
        .filter((fix) => /^(ALTER|CREATE|DO|UPDATE)/.test(fix));
    };
    const warned = await runCli(['lint', 'data'], { cwd });
    const sql = fixesOf(warned.stdout);
    expect(sql, warned.stdout).toHaveLength(5);
    expect(warned.stdout).toContain('ALTER TABLE workspace."order" VALIDATE CONSTRAINT "table";');
    writeFile(
      cwd,
      'data/003_guard.sql',
      'ALTER TABLE workspace."user" ADD CONSTRAINT IF NOT EXISTS "primary" CHECK (id > 0);\n',
    );
    const refused = await runCli(['lint', 'data'], { cwd });
    expect(refused.code).toBe(3);
    sql.push(...fixesOf(refused.stdout).filter((fix) => fix.startsWith('DO')));
    expect(sql, refused.stdout).toHaveLength(6);
    for (const fix of sql) await query(url, fix);
    expect(
      await query(
        url,
        'SELECT "user", "select", "group", "default" IS NOT NULL AS filled FROM workspace."order"',
      ),
    ).toEqual([{ user: 1, select: 'a', group: '2', filled: true }]);
    const [made] = await query<{ n: number }>(
      url,
      "SELECT count(*)::int AS n FROM pg_catalog.pg_constraint WHERE conname IN ('table', 'primary') AND convalidated",
    );
    expect(made!.n).toBe(2);
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

  it('warns once for each lock hazard on a table an earlier migration made, and fails at --max-warnings 0', async () => {
    const cwd = makeProject({
      'data/001_schemas.sql':
        'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
      'data/002_index.sql': 'CREATE INDEX IF NOT EXISTS items_title ON workspace.items (title);\n',
      'data/003_fkey.sql':
        'ALTER TABLE workspace.items\n  ADD CONSTRAINT items_owner_fkey FOREIGN KEY (owner_id) REFERENCES workspace.owners (id);\n',
      'data/004_not_null.sql': 'ALTER TABLE workspace.items ALTER COLUMN title SET NOT NULL;\n',
      'data/005_default.sql':
        'SELECT 1;\nALTER TABLE workspace.items ADD COLUMN IF NOT EXISTS token uuid DEFAULT gen_random_uuid();\n',
      'data/006_type.sql': 'ALTER TABLE workspace.events ALTER COLUMN id TYPE bigint;\n',
      // The same statements on a table the file made first: nothing to wait for.
      'data/007_new.sql': [
        'CREATE TABLE IF NOT EXISTS workspace.fresh (id int, title text, owner_id int, token uuid);',
        'CREATE INDEX IF NOT EXISTS fresh_title ON workspace.fresh (title);',
        'ALTER TABLE workspace.fresh ADD CONSTRAINT fresh_owner_fkey FOREIGN KEY (owner_id) REFERENCES workspace.owners (id);',
        'ALTER TABLE workspace.fresh ALTER COLUMN title SET NOT NULL;',
        'ALTER TABLE workspace.fresh ADD COLUMN IF NOT EXISTS code uuid DEFAULT gen_random_uuid();',
        'ALTER TABLE workspace.fresh ALTER COLUMN id TYPE bigint;',
        '',
      ].join('\n'),
    });
    const expected = [
      'database/data/002_index.sql:1:1 warning create-index-without-concurrently CREATE INDEX items_title on workspace.items takes a SHARE lock',
      'database/data/003_fkey.sql:1:1 warning foreign-key-without-not-valid ADD CONSTRAINT items_owner_fkey FOREIGN KEY on workspace.items without NOT VALID checks every row of workspace.items under a SHARE ROW EXCLUSIVE lock on workspace.items and workspace.owners',
      'database/data/004_not_null.sql:1:1 warning set-not-null-without-check SET NOT NULL on workspace.items.title reads every row of workspace.items under an ACCESS EXCLUSIVE lock',
      'database/data/005_default.sql:2:1 warning volatile-default ADD COLUMN token DEFAULT gen_random_uuid() (volatile: a value per row) on workspace.items rewrites workspace.items under an ACCESS EXCLUSIVE lock',
      'database/data/006_type.sql:1:1 warning type-change-rewrites ALTER COLUMN id TYPE bigint rewrites workspace.events and its indexes under an ACCESS EXCLUSIVE lock',
    ];
    const relaxed = await runCli(['lint', 'data'], { cwd });
    expect(relaxed.code, relaxed.stderr).toBe(0);
    const lines = relaxed.stdout.split('\n');
    for (const line of expected) {
      expect(
        lines.filter((l) => l.startsWith(line)),
        line,
      ).toHaveLength(1);
    }
    const rules = [
      'create-index-without-concurrently',
      'foreign-key-without-not-valid',
      'set-not-null-without-check',
      'volatile-default',
      'type-change-rewrites',
    ];
    for (const rule of rules) {
      expect(
        lines.filter((l) => l.includes(` warning ${rule} `)),
        rule,
      ).toHaveLength(1);
    }
    // The fix under each is SQL to paste, with the file's own names.
    expect(relaxed.stdout).toContain(
      '    CREATE INDEX CONCURRENTLY IF NOT EXISTS items_title ON workspace.items (title);',
    );
    expect(relaxed.stdout).toContain(
      '    ALTER TABLE workspace.items VALIDATE CONSTRAINT items_owner_fkey;',
    );
    expect(relaxed.stdout).toContain(
      '    ALTER TABLE workspace.items ADD CONSTRAINT items_title_not_null CHECK (title IS NOT NULL) NOT VALID;',
    );
    expect(relaxed.stdout).toContain(
      '    ALTER TABLE workspace.items ALTER COLUMN token SET DEFAULT gen_random_uuid();',
    );
    expect(relaxed.stdout).toContain(
      '    ALTER TABLE workspace.events ADD COLUMN IF NOT EXISTS id_new bigint;',
    );
    // (destructive-statement still names 007's type change: data protection judges it by rows, when it runs.)
    expect(
      lines.filter((l) => l.includes('007_new.sql') && rules.some((r) => l.includes(` ${r} `))),
    ).toEqual([]);
    const strict = await runCli(['lint', 'data', '--max-warnings', '0'], { cwd });
    expect(strict.code).toBe(3);
    expect(strict.stderr).toMatch(/\d+ warnings, more than --max-warnings 0 allows/);
    const report = lintJson(await runCli(['lint', 'data', '--json'], { cwd }));
    expect(
      report.sets[0]?.findings.filter((f) => rules.includes(f.rule)).map((f) => f.rule),
    ).toEqual(rules);
  });

  it('with a database URL, each lock-hazard warning says how big its table is there', async () => {
    const url = await freshDatabase();
    await query(
      url,
      'CREATE SCHEMA workspace; CREATE TABLE workspace.events (id int, note text); INSERT INTO workspace.events SELECT g, repeat($$x$$, 100) FROM generate_series(1, 3000) g; ANALYZE workspace.events;',
    );
    const cwd = makeProject({
      'data/001_schemas.sql':
        'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
      'data/002_type.sql': 'ALTER TABLE workspace.events ALTER COLUMN id TYPE bigint;\n',
      'data/003_index.sql': 'CREATE INDEX IF NOT EXISTS gone_x ON workspace.gone (x);\n',
    });
    const sized = await runCli(['lint', 'data'], { cwd, env: { PRIMARY_DATABASE_URL: url } });
    expect(sized.code, sized.stderr).toBe(0);
    expect(sized.stdout).toMatch(
      /002_type\.sql:1:1 warning type-change-rewrites ALTER COLUMN id TYPE bigint rewrites workspace\.events \(3 k rows, \d+ kB\) and its indexes under an ACCESS EXCLUSIVE lock/,
    );
    // A table the database does not hold is named as written.
    expect(sized.stdout).toContain('CREATE INDEX gone_x on workspace.gone takes a SHARE lock');
    // A database that does not answer: the warnings unsized, a note, and lint still passes.
    const away = await runCli(['lint', 'data'], {
      cwd,
      env: { PRIMARY_DATABASE_URL: 'postgres://someone:not-the-secret@127.0.0.1:1/nowhere' },
    });
    expect(away.code, away.stderr).toBe(0);
    expect(away.stdout).toContain('rewrites workspace.events and its indexes');
    expect(away.stderr).toContain('The lock-hazard warnings are not sized');
    expect(away.stderr).not.toContain('not-the-secret');
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
