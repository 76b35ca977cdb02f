import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { json, runCli } from '../support/cli.js';
import { freshDatabase, query } from '../support/db.js';
import { makeProject } from '../support/project.js';

/** The schemata command a message prints, as arguments (after whatever runs schemata where the user is). */
function printedCommand(text: string, starts: string): string[] {
  const line = text.split('\n').find((l) => l.includes(`schemata ${starts}`));
  expect(line, `a printed "schemata ${starts}" command in:\n${text}`).toBeDefined();
  return line!
    .slice(line!.indexOf(`schemata ${starts}`) + 'schemata '.length)
    .trim()
    .split(/\s+/);
}

describe('schemata import and baseline --from, as typed', () => {
  it('imports a dbmate folder, prints the next command, which adopts what dbmate ran; status says where it came from', async () => {
    const url = await freshDatabase();
    const env = { PRIMARY_DATABASE_URL: url };
    const cwd = makeProject();
    mkdirSync(join(cwd, 'db/migrations'), { recursive: true });
    const schemas =
      '-- migrate:up\nCREATE SCHEMA workspace;\nCREATE SCHEMA reference;\n\n-- migrate:down\nDROP SCHEMA reference;\nDROP SCHEMA workspace;\n';
    writeFileSync(join(cwd, 'db/migrations/20240101000000_schemas.sql'), schemas);
    writeFileSync(
      join(cwd, 'db/migrations/20240102000000_items.sql'),
      '-- migrate:up\nCREATE TABLE workspace.items (id int);\n-- migrate:down\nDROP TABLE workspace.items;\n',
    );
    // What dbmate's binary did on this database: the first migration ran.
    await query(url, 'CREATE SCHEMA workspace; CREATE SCHEMA reference');
    await query(
      url,
      "CREATE TABLE public.schema_migrations (version varchar PRIMARY KEY); INSERT INTO public.schema_migrations VALUES ('20240101000000')",
    );

    // Before the import, baseline --from says what to type.
    const early = await runCli(['baseline', 'data', '--from', 'dbmate'], { cwd, env });
    expect(early.code).toBe(2);
    const importArgs = printedCommand(early.stderr, 'import');
    expect(importArgs).toEqual(['import', 'dbmate', '--set', 'data']);

    const imported = await runCli(importArgs, { cwd, env });
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toContain(
      'imported 2 dbmate migrations from db/migrations into set "data", with 2 down files:',
    );
    expect(imported.stdout).toContain('database/data/20240101000000_schemas.sql');
    expect(readFileSync(join(cwd, 'database/data/20240101000000_schemas.down.sql'), 'utf8')).toBe(
      '-- migrate:down\nDROP SCHEMA reference;\nDROP SCHEMA workspace;\n',
    );
    const manifest = JSON.parse(
      readFileSync(join(cwd, 'database/data/import.json'), 'utf8'),
    ) as unknown;
    expect(manifest).toEqual({
      tool: 'dbmate',
      from: 'db/migrations',
      migrations: [
        {
          id: '20240101000000',
          source: '20240101000000_schemas.sql',
          file: '20240101000000_schemas.sql',
        },
        {
          id: '20240102000000',
          source: '20240102000000_items.sql',
          file: '20240102000000_items.sql',
        },
      ],
    });

    const adopted = await runCli(printedCommand(imported.stdout, 'baseline'), { cwd, env });
    expect(adopted.code, adopted.stderr).toBe(0);
    const status = await runCli(['status', 'data'], { cwd, env });
    expect(status.stdout).toMatch(
      /20240101000000 +20240101000000_schemas\.sql .* baselined \(from dbmate\)/,
    );
    expect(status.stdout).toMatch(/20240102000000 +20240102000000_items\.sql .* pending/);
    const migrated = await runCli(['migrate', 'data'], { cwd, env });
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(await query(url, "SELECT to_regclass('workspace.items') IS NOT NULL AS made")).toEqual([
      { made: true },
    ]);
    expect(await query(url, 'SELECT version FROM public.schema_migrations')).toEqual([
      { version: '20240101000000' },
    ]);
  });
});

describe('a down part the tool never ran that does not parse', () => {
  it('is left out with a warning naming it; the history imports, is adopted and migrate applies the rest', async () => {
    const url = await freshDatabase();
    const env = { PRIMARY_DATABASE_URL: url };
    const cwd = makeProject();
    mkdirSync(join(cwd, 'db/migrations'), { recursive: true });
    writeFileSync(
      join(cwd, 'db/migrations/20240101000000_schemas.sql'),
      '-- migrate:up\nCREATE SCHEMA workspace;\nCREATE SCHEMA reference;\n\n-- migrate:down\nDROP SCHEMA reference;\nDROP SCHEMA workspace;\n',
    );
    // A formatter's work: the down block lost its ALTER TABLE (dbmate runs a down only on request).
    writeFileSync(
      join(cwd, 'db/migrations/20240102000000_items.sql'),
      '-- migrate:up\nCREATE TABLE workspace.items (id int);\n\n-- migrate:down\n    DROP COLUMN IF EXISTS id;\nDROP TABLE workspace.items;\n',
    );
    writeFileSync(
      join(cwd, 'db/migrations/20240103000000_notes.sql'),
      '-- migrate:up\nCREATE TABLE workspace.notes (id int);\n-- migrate:down\nDROP TABLE workspace.notes;\n',
    );
    // A down part of comments alone undoes nothing: no down file either.
    writeFileSync(
      join(cwd, 'db/migrations/20240104000000_tags.sql'),
      '-- migrate:up\nCREATE TABLE workspace.tags (id int);\n-- migrate:down\n-- nothing to undo: tags stay\n',
    );
    await query(url, 'CREATE SCHEMA workspace; CREATE SCHEMA reference');
    await query(url, 'CREATE TABLE workspace.items (id int)');
    await query(
      url,
      "CREATE TABLE public.schema_migrations (version varchar PRIMARY KEY); INSERT INTO public.schema_migrations VALUES ('20240101000000'), ('20240102000000')",
    );

    const imported = await runCli(['import', 'dbmate', '--set', 'data'], { cwd, env });
    expect(imported.code).toBe(0);
    expect(imported.stderr).toContain(
      'warning: db/migrations/20240102000000_items.sql: its down SQL does not parse at line 2, column 10: syntax error at or near "COLUMN" (near "COLUMN IF EXISTS id;"); 20240102000000_items.down.sql was not written, so a rollback of 20240102000000_items.sql is refused until you write it.',
    );
    expect(imported.stderr).toContain(
      'warning: db/migrations/20240104000000_tags.sql: its down part holds no statement; 20240104000000_tags.down.sql was not written, so a rollback of 20240104000000_tags.sql is refused until you write it.',
    );
    expect(readdirSync(join(cwd, 'database/data')).sort()).toEqual([
      '20240101000000_schemas.down.sql',
      '20240101000000_schemas.sql',
      '20240102000000_items.sql',
      '20240103000000_notes.down.sql',
      '20240103000000_notes.sql',
      '20240104000000_tags.sql',
      'import.json',
    ]);
    const adopted = await runCli(printedCommand(imported.stdout, 'baseline'), { cwd, env });
    expect(adopted.code).toBe(0);
    const applied = json(await runCli(['migrate', 'data', '--json'], { cwd, env }));
    expect(applied.sets[0]!.applied.map((a) => a.file)).toEqual([
      '20240103000000_notes.sql',
      '20240104000000_tags.sql',
    ]);
  });
});

describe('import into a set whose folder does not exist yet', () => {
  const config = JSON.stringify({
    sets: [{ name: 'legacy', dir: 'legacy', database: 'primary', schemas: ['public'] }],
  });

  it('makes the folder; a refused import leaves no folder behind; other commands still name the missing folder', async () => {
    const cwd = makeProject({ 'schemata.json': config });
    mkdirSync(join(cwd, 'db/migrations'), { recursive: true });
    writeFileSync(
      join(cwd, 'db/migrations/20240101000000_a.sql'),
      '-- migrate:up\nCREATE TABLE a (id int);\n-- migrate:down\nDROP TABLE a;\n',
    );
    const imported = await runCli(['import', 'dbmate', '--set', 'legacy'], { cwd });
    expect(imported.code, imported.stderr).toBe(0);
    expect(readdirSync(join(cwd, 'database/legacy')).sort()).toEqual([
      '20240101000000_a.down.sql',
      '20240101000000_a.sql',
      'import.json',
    ]);

    // A history that cannot be converted (Flyway's repeatable migration): exit 2, no folder made.
    const other = makeProject({ 'schemata.json': config });
    mkdirSync(join(other, 'db/migration'), { recursive: true });
    writeFileSync(join(other, 'db/migration/V1__a.sql'), 'CREATE TABLE a (id int);\n');
    writeFileSync(join(other, 'db/migration/R__view.sql'), 'CREATE VIEW v AS SELECT 1;\n');
    const refused = await runCli(
      ['import', 'flyway', '--set', 'legacy', '--from', 'db/migration'],
      {
        cwd: other,
      },
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('R__view.sql');
    expect(readdirSync(join(other, 'database')).sort()).toEqual([
      'data',
      'primary',
      'schemata.json',
    ]);

    const status = await runCli(['status'], { cwd: other });
    expect(status.code).toBe(2);
    expect(status.stderr).toContain('sets[0].dir "legacy" is not a directory');
  });
});

/** Every `schemata <command> …` a hint names, as arguments; commands end at ";" or the end. */
function commandsIn(hint: string | undefined): string[][] {
  return [...(hint ?? '').matchAll(/\bschemata ((?:baseline|import|migrate)\b[^;\n]*)/g)].map((m) =>
    m[1]!.trim().split(/\s+/),
  );
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('the hints of baseline --from, run as typed', () => {
  // Prisma with ?schema=app in its URL keeps _prisma_migrations in that schema, off the search path.
  // Table as prisma-engines' sql-schema-connector creates it (flavour/postgres.rs, create_migrations_table).
  async function prismaInSchemaApp(third: 'applied' | 'pending') {
    const url = await freshDatabase();
    const env = { PRIMARY_DATABASE_URL: url };
    const cwd = makeProject();
    const folders: Record<string, string> = {
      '20240101000000_init': 'CREATE SCHEMA workspace;\nCREATE SCHEMA reference;\n',
      '20240102000000_items': 'CREATE TABLE workspace.items (id int PRIMARY KEY);\n',
      '20240103000000_notes': 'CREATE TABLE workspace.notes (id int PRIMARY KEY);\n',
    };
    for (const [folder, sql] of Object.entries(folders)) {
      mkdirSync(join(cwd, 'prisma/migrations', folder), { recursive: true });
      writeFileSync(join(cwd, 'prisma/migrations', folder, 'migration.sql'), sql);
    }
    await query(
      url,
      `CREATE SCHEMA app; CREATE TABLE app._prisma_migrations (
        id VARCHAR(36) PRIMARY KEY NOT NULL, checksum VARCHAR(64) NOT NULL, finished_at TIMESTAMPTZ,
        migration_name VARCHAR(255) NOT NULL, logs TEXT, rolled_back_at TIMESTAMPTZ,
        started_at TIMESTAMPTZ NOT NULL DEFAULT now(), applied_steps_count INTEGER NOT NULL DEFAULT 0)`,
    );
    const ran = Object.entries(folders).slice(0, third === 'applied' ? 3 : 2);
    for (const [folder, sql] of ran) {
      await query(url, sql);
      // sql_migration_persistence.rs: record_migration_started, record_successful_step, record_migration_finished.
      await query(
        url,
        `INSERT INTO app._prisma_migrations (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
         VALUES ($1, $2, $3, now(), now(), 1)`,
        [randomUUID(), sha256(sql), folder],
      );
    }
    const imported = await runCli(['import', 'prisma', '--set', 'data'], { cwd, env });
    expect(imported.code, imported.stderr).toBe(0);
    return { url, env, cwd };
  }

  const prismaRows = (url: string) =>
    query(
      url,
      'SELECT id, checksum, migration_name, finished_at FROM app._prisma_migrations ORDER BY id',
    );

  it("finds Prisma's table in the schema of its URL and names it; the hint adopts from it", async () => {
    const { url, env, cwd } = await prismaInSchemaApp('pending');
    const before = await prismaRows(url);
    const refused = await runCli(['baseline', 'data', '--from', 'prisma', '--json'], { cwd, env });
    expect(refused.code).toBe(3);
    const error = json(refused).error!;
    expect(error.message).toContain("prisma's table _prisma_migrations is not in this database");
    expect(error.message).toContain(
      "a table with prisma's columns is here: app._prisma_migrations",
    );
    const [hinted, ...more] = commandsIn(error.hint);
    expect(more).toEqual([]);
    expect(hinted).toEqual([
      'baseline',
      'data',
      '--from',
      'prisma',
      '--table',
      'app._prisma_migrations',
    ]);

    const adopted = await runCli([...hinted!, '--json'], { cwd, env });
    expect(adopted.code, adopted.stdout).toBe(0);
    expect(json(adopted).sets[0]!.applied.map((a) => a.file)).toEqual([
      '20240101000000_init.sql',
      '20240102000000_items.sql',
    ]);
    expect(json(adopted).sets[0]!.pending.map((a) => a.file)).toEqual(['20240103000000_notes.sql']);
    const migrated = await runCli(['migrate', 'data', '--json'], { cwd, env });
    expect(migrated.code, migrated.stdout).toBe(0);
    expect(json(migrated).sets[0]!.applied.map((a) => a.file)).toEqual([
      '20240103000000_notes.sql',
    ]);
    expect(await prismaRows(url)).toEqual(before);
  });

  it('with no table of the tool anywhere, names the URL variable and a command that works once it points right', async () => {
    const { env, cwd } = await prismaInSchemaApp('pending');
    const elsewhere = await freshDatabase();
    const refused = await runCli(['baseline', 'data', '--from', 'prisma', '--json'], {
      cwd,
      env: { PRIMARY_DATABASE_URL: elsewhere },
    });
    expect(refused.code).toBe(3);
    const error = json(refused).error!;
    expect(error.message).toContain(
      "no table here has prisma's columns (migration_name, checksum, finished_at, rolled_back_at)",
    );
    expect(error.hint).toMatch(
      /^Point PRIMARY_DATABASE_URL at the database prisma kept, then run: /,
    );
    const [hinted] = commandsIn(error.hint);
    expect(hinted).toEqual(['baseline', 'data', '--from', 'prisma']);
    expect(
      await query(elsewhere, "SELECT to_regclass('schemata.migrations') IS NULL AS none"),
    ).toEqual([{ none: true }]);
    // Pointed at the database Prisma kept, the hinted command only lacks the table's schema: named as above.
    const pointed = await runCli([...hinted!, '--json'], { cwd, env });
    expect(json(pointed).error?.message).toContain('app._prisma_migrations');
  });

  it('an object the history made is missing: the --force hint records what Prisma ran, not the pending one', async () => {
    const { url, env, cwd } = await prismaInSchemaApp('pending');
    await query(url, 'DROP TABLE workspace.items');
    const refused = await runCli(
      ['baseline', 'data', '--from', 'prisma', '--table', 'app._prisma_migrations', '--json'],
      { cwd, env },
    );
    expect(refused.code).toBe(3);
    const error = json(refused).error!;
    expect(error.message).toContain('table workspace.items (20240102000000_items.sql)');
    expect(await query(url, "SELECT to_regclass('schemata.migrations') IS NULL AS none")).toEqual([
      { none: true },
    ]);
    const commands = commandsIn(error.hint);
    expect(commands).toEqual([
      ['baseline', 'data', '--from', 'prisma', '--table', 'app._prisma_migrations'],
      ['baseline', 'data', '--from', 'prisma', '--table', 'app._prisma_migrations', '--force'],
    ]);
    // The first, typed as is, refuses again while the table is missing; the second records.
    const again = await runCli([...commands[0]!, '--json'], { cwd, env });
    expect(again.code).toBe(3);
    const forced = await runCli([...commands[1]!, '--json'], { cwd, env });
    expect(forced.code, forced.stdout).toBe(0);
    expect(json(forced).sets[0]!.applied.map((a) => a.file)).toEqual([
      '20240101000000_init.sql',
      '20240102000000_items.sql',
    ]);
    expect(json(forced).sets[0]!.pending.map((a) => a.file)).toEqual(['20240103000000_notes.sql']);
  });

  it("golang-migrate's table under --from dbmate: the hint adopts it as golang-migrate's", async () => {
    const url = await freshDatabase();
    const env = { PRIMARY_DATABASE_URL: url };
    const cwd = makeProject();
    mkdirSync(join(cwd, 'db/migrations'), { recursive: true });
    writeFileSync(join(cwd, 'db/migrations/1_schemas.up.sql'), 'CREATE SCHEMA workspace;\n');
    // golang-migrate database/postgres/postgres.go: ensureVersionTable, SetVersion.
    await query(
      url,
      'CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL); INSERT INTO schema_migrations VALUES (1, false); CREATE SCHEMA workspace',
    );
    const imported = await runCli(
      ['import', 'golang-migrate', '--set', 'data', '--from', 'db/migrations'],
      {
        cwd,
        env,
      },
    );
    expect(imported.code, imported.stderr).toBe(0);
    const refused = await runCli(['baseline', 'data', '--from', 'dbmate', '--json'], { cwd, env });
    expect(refused.code).toBe(2);
    const [hinted] = commandsIn(json(refused).error!.hint);
    expect(hinted).toEqual(['baseline', 'data', '--from', 'golang-migrate']);
    const adopted = await runCli([...hinted!, '--json'], { cwd, env });
    expect(adopted.code, adopted.stdout).toBe(0);
    expect(json(adopted).sets[0]!.applied.map((a) => a.file)).toEqual(['1_schemas.sql']);
    expect(readdirSync(join(cwd, 'database/data')).sort()).toEqual([
      '1_schemas.sql',
      'import.json',
    ]);
  });
});
