import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { baseline, importHistory, migrate } from '../../../src/api.js';
import { flywayChecksum } from '../../../src/tools/flyway.js';
import { freshDatabase, query, setOnDatabase } from '../../support/db.js';
import { makeProject } from '../../support/project.js';

/*
 * SPEC §11 for the tools whose engines are not npm packages (Prisma's is
 * Rust, golang-migrate's Go, Flyway's Java) and for TypeORM: the test runs
 * each migration's SQL and writes the tracking rows exactly as that tool's
 * source does (cited at each), then schemata imports and adopts.
 */

const single = (url: string) => ({ PRIMARY_DATABASE_URL: url });
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const SCHEMAS = 'CREATE SCHEMA workspace;\nCREATE SCHEMA reference;\n';
const ITEMS = 'CREATE TABLE workspace.items (id int PRIMARY KEY, title text);\n';
const NOTES = 'CREATE TABLE workspace.notes (id int PRIMARY KEY);\n';
const nothingRecorded = async (url: string) => {
  expect(await query(url, "SELECT to_regclass('schemata.migrations') IS NULL AS none")).toEqual([
    { none: true },
  ]);
};

/**
 * A refused adoption writes nothing: no schemata tracking, no file in the
 * set's folder, and the other tool's table row for row as it was (read from
 * the server before and after).
 */
async function refusedWritingNothing(
  url: string,
  cwd: string,
  table: string,
  adopt: () => Promise<Awaited<ReturnType<typeof baseline>>>,
) {
  const rows = () => query(url, `SELECT * FROM ${table} ORDER BY 1`);
  const before = { rows: await rows(), files: readdirSync(join(cwd, 'database/data')).sort() };
  const refused = await adopt();
  await nothingRecorded(url);
  expect(readdirSync(join(cwd, 'database/data')).sort()).toEqual(before.files);
  expect(await rows()).toEqual(before.rows);
  return refused;
}

function writeAll(dir: string, files: Record<string, string>) {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
}

async function importAndAdopt(cwd: string, url: string, tool: string) {
  const imported = await importHistory({ cwd, tool, set: 'data' });
  expect(imported.error).toBeUndefined();
  return baseline({ cwd, env: single(url), set: 'data', from: tool });
}

describe('Prisma (_prisma_migrations)', () => {
  // prisma-engines schema-engine/connectors/sql-schema-connector/src/flavour/postgres.rs, create_migrations_table.
  const TABLE = `CREATE TABLE _prisma_migrations (
    id VARCHAR(36) PRIMARY KEY NOT NULL, checksum VARCHAR(64) NOT NULL, finished_at TIMESTAMPTZ,
    migration_name VARCHAR(255) NOT NULL, logs TEXT, rolled_back_at TIMESTAMPTZ,
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(), applied_steps_count INTEGER NOT NULL DEFAULT 0)`;
  const FOLDERS = {
    '20240101000000_init/migration.sql': SCHEMAS + ITEMS,
    '20240102000000_notes/migration.sql': NOTES,
    '20240103000000_tags/migration.sql': 'CREATE TABLE workspace.tags (id int);\n',
  };
  // sql_migration_persistence.rs: record_migration_started (id, checksum, started_at, name), then
  // record_successful_step (applied_steps_count + 1) and record_migration_finished (finished_at);
  // record_failed_step sets only logs.
  const applied = (name: string, sql: string) =>
    `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
     VALUES ('${randomUUID()}', '${sha256(sql)}', '${name}', now(), now(), 1)`;
  const failed = (name: string, sql: string, rolledBack: boolean) =>
    `INSERT INTO _prisma_migrations (id, checksum, migration_name, logs, started_at, rolled_back_at)
     VALUES ('${randomUUID()}', '${sha256(sql)}', '${name}', 'relation "tags" already exists', now(), ${rolledBack ? 'now()' : 'NULL'})`;

  async function prismaDatabase(third: 'rolled back' | 'failed') {
    const url = await freshDatabase();
    const cwd = makeProject();
    writeAll(join(cwd, 'prisma/migrations'), {
      ...FOLDERS,
      'migration_lock.toml': 'provider = "postgresql"\n',
    });
    await query(url, TABLE);
    await query(url, SCHEMAS + ITEMS + NOTES);
    await query(url, applied('20240101000000_init', SCHEMAS + ITEMS));
    await query(url, applied('20240102000000_notes', NOTES));
    // mark_migration_rolled_back.rs: resolve --rolled-back sets rolled_back_at on the failed row.
    await query(
      url,
      failed(
        '20240103000000_tags',
        FOLDERS['20240103000000_tags/migration.sql'],
        third === 'rolled back',
      ),
    );
    return { url, cwd };
  }

  // ISO is PostgreSQL's default DateStyle; with another, the driver parses no timestamp of Prisma's.
  it.each(['ISO, MDY', 'SQL, DMY'])(
    'records the two Prisma applied, under DateStyle %s; the one it rolled back stays pending and migrate applies it',
    async (style) => {
      const { url, cwd } = await prismaDatabase('rolled back');
      await setOnDatabase(url, `DateStyle = '${style}'`);
      const adopted = await importAndAdopt(cwd, url, 'prisma');
      expect(adopted.error).toBeUndefined();
      expect(adopted.sets[0]!.applied.map((a) => a.file)).toEqual([
        '20240101000000_init.sql',
        '20240102000000_notes.sql',
      ]);
      expect(adopted.sets[0]!.pending.map((a) => a.file)).toEqual(['20240103000000_tags.sql']);
      const run = await migrate({ cwd, env: single(url), sets: ['data'] });
      expect(run.error).toBeUndefined();
      expect(run.sets[0]!.applied.map((a) => a.file)).toEqual(['20240103000000_tags.sql']);
      expect(await query(url, 'SELECT count(*)::int AS n FROM _prisma_migrations')).toEqual([
        { n: 3 },
      ]);
    },
  );

  it('refuses a failed migration Prisma has not resolved, with its log, writing nothing', async () => {
    const { url, cwd } = await prismaDatabase('failed');
    expect((await importHistory({ cwd, tool: 'prisma', set: 'data' })).error).toBeUndefined();
    const refused = await refusedWritingNothing(url, cwd, '_prisma_migrations', () =>
      baseline({ cwd, env: single(url), set: 'data', from: 'prisma' }),
    );
    expect(refused.exitCode).toBe(3);
    expect(refused.error?.message).toMatch(
      /20240103000000_tags: failed \(started at .+, never finished: relation "tags" already exists\)/,
    );
  });
});

describe("Prisma's migrate resolve --applied (a row for a migration that never ran)", () => {
  // sql_migration_persistence.rs, mark_migration_applied_impl: id, checksum, logs = '', started_at =
  // finished_at = now, migration_name; applied_steps_count keeps its default, 0.
  const TABLE = `CREATE TABLE _prisma_migrations (
    id VARCHAR(36) PRIMARY KEY NOT NULL, checksum VARCHAR(64) NOT NULL, finished_at TIMESTAMPTZ,
    migration_name VARCHAR(255) NOT NULL, logs TEXT, rolled_back_at TIMESTAMPTZ,
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(), applied_steps_count INTEGER NOT NULL DEFAULT 0)`;
  const INIT = SCHEMAS + ITEMS;
  const resolved = (name: string, sql: string) =>
    `INSERT INTO _prisma_migrations (id, checksum, logs, started_at, finished_at, migration_name)
     VALUES ('${randomUUID()}', '${sha256(sql)}', '', now(), now(), '${name}')`;

  async function resolvedDatabase(made: boolean) {
    const url = await freshDatabase();
    const cwd = makeProject();
    writeAll(join(cwd, 'prisma/migrations'), { '0_init/migration.sql': INIT });
    await query(url, TABLE);
    if (made) await query(url, INIT);
    await query(url, resolved('0_init', INIT));
    expect((await importHistory({ cwd, tool: 'prisma', set: 'data' })).error).toBeUndefined();
    return { url, cwd };
  }

  it('is adopted when the database holds what the file makes, and the event says Prisma never ran it', async () => {
    const { url, cwd } = await resolvedDatabase(true);
    const adopted = await baseline({ cwd, env: single(url), set: 'data', from: 'prisma' });
    expect(adopted.error).toBeUndefined();
    expect(adopted.sets[0]!.applied.map((a) => a.file)).toEqual(['0_init.sql']);
    expect(
      await query(url, "SELECT effects->'from'->>'row' AS row FROM schemata.migrations"),
    ).toEqual([{ row: 'finished with no steps (marked applied by prisma migrate resolve)' }]);
  });

  it('is refused when the file never ran here: the object it makes is missing, nothing is written', async () => {
    const { url, cwd } = await resolvedDatabase(false);
    const refused = await refusedWritingNothing(url, cwd, '_prisma_migrations', () =>
      baseline({ cwd, env: single(url), set: 'data', from: 'prisma' }),
    );
    expect(refused.exitCode).toBe(3);
    expect(refused.error?.message).toContain('workspace');
    expect(refused.error?.message).toContain(
      "prisma's table says of it: 0_init.sql: finished with no steps (marked applied by prisma migrate resolve)",
    );
  });
});

describe('golang-migrate (schema_migrations: version, dirty)', () => {
  // golang-migrate database/postgres/postgres.go: ensureVersionTable, and SetVersion (TRUNCATE, then one row).
  const TABLE =
    'CREATE TABLE IF NOT EXISTS "public"."schema_migrations" (version bigint not null primary key, dirty boolean not null)';
  const FILES = {
    '1_schemas.up.sql': SCHEMAS,
    '1_schemas.down.sql': 'DROP SCHEMA reference;\nDROP SCHEMA workspace;\n',
    '2_items.up.sql': ITEMS,
    '2_items.down.sql': 'DROP TABLE workspace.items;\n',
    '3_notes.up.sql': NOTES,
  };

  it('counts every version up to its row as applied; the rest stay pending; down files come along', async () => {
    const url = await freshDatabase();
    const cwd = makeProject();
    writeAll(join(cwd, 'migrations'), FILES);
    await query(url, TABLE);
    await query(url, SCHEMAS + ITEMS);
    await query(
      url,
      'TRUNCATE "public"."schema_migrations"; INSERT INTO "public"."schema_migrations" (version, dirty) VALUES (2, false)',
    );
    const adopted = await importAndAdopt(cwd, url, 'golang-migrate');
    expect(adopted.error).toBeUndefined();
    expect(adopted.sets[0]!.pending.map((a) => a.file)).toEqual(['3_notes.sql']);
    expect(readFileSync(join(cwd, 'database/data/2_items.down.sql'), 'utf8')).toBe(
      'DROP TABLE workspace.items;\n',
    );
    expect(
      (await migrate({ cwd, env: single(url), sets: ['data'] })).sets[0]!.applied.map(
        (a) => a.file,
      ),
    ).toEqual(['3_notes.sql']);
  });

  it('refuses a dirty version: it may be applied fully, partly or not at all', async () => {
    const url = await freshDatabase();
    const cwd = makeProject();
    writeAll(join(cwd, 'migrations'), FILES);
    await query(url, TABLE);
    await query(url, SCHEMAS);
    await query(url, 'INSERT INTO "public"."schema_migrations" (version, dirty) VALUES (2, true)');
    expect(
      (await importHistory({ cwd, tool: 'golang-migrate', set: 'data' })).error,
    ).toBeUndefined();
    const refused = await refusedWritingNothing(url, cwd, 'public.schema_migrations', () =>
      baseline({ cwd, env: single(url), set: 'data', from: 'golang-migrate' }),
    );
    expect(refused.exitCode).toBe(3);
    expect(refused.error?.message).toContain('version 2 is dirty');
  });
});

describe('Flyway (flyway_schema_history)', () => {
  // flyway-database-postgresql PostgreSQLDatabase.java getRawCreateScript.
  const TABLE = `CREATE TABLE "public"."flyway_schema_history" (
    "installed_rank" INT NOT NULL, "version" VARCHAR(50), "description" VARCHAR(200) NOT NULL,
    "type" VARCHAR(20) NOT NULL, "script" VARCHAR(1000) NOT NULL, "checksum" INTEGER,
    "installed_by" VARCHAR(100) NOT NULL, "installed_on" TIMESTAMP NOT NULL DEFAULT now(),
    "execution_time" INTEGER NOT NULL, "success" BOOLEAN NOT NULL,
    CONSTRAINT "flyway_schema_history_pk" PRIMARY KEY ("installed_rank"))`;
  const FILES = {
    'V1__schemas.sql': SCHEMAS,
    'V1.1__items.sql': ITEMS,
    'V2__notes.sql': NOTES,
    'U2__notes.sql': 'DROP TABLE workspace.notes;\n',
  };
  // DbMigrate.java: a successful migration's row (type SQL, its script, ChecksumCalculator's CRC-32, success true).
  const row = (rank: number, version: string, script: string, sql: string) =>
    `INSERT INTO "public"."flyway_schema_history" (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success)
     VALUES (${rank}, '${version}', '${script.replace(/^V[\d.]+__|\.sql$/g, '').replace(/_/g, ' ')}', 'SQL', '${script}', ${flywayChecksum(Buffer.from(sql))}, 'app', 5, true)`;

  it('dotted versions are numbered in Flyway order; the checked rows are adopted; an undo file is the down', async () => {
    const url = await freshDatabase();
    const cwd = makeProject();
    writeAll(join(cwd, 'db/migration'), FILES);
    await query(url, TABLE);
    await query(url, SCHEMAS + ITEMS);
    await query(url, row(1, '1', 'V1__schemas.sql', SCHEMAS));
    await query(url, row(2, '1.1', 'V1.1__items.sql', ITEMS));
    const adopted = await importAndAdopt(cwd, url, 'flyway');
    expect(adopted.error).toBeUndefined();
    expect(adopted.sets[0]!.applied.map((a) => a.file)).toEqual([
      '001_schemas.sql',
      '002_items.sql',
    ]);
    expect(adopted.sets[0]!.pending.map((a) => a.file)).toEqual(['003_notes.sql']);
    expect(existsSync(join(cwd, 'database/data/003_notes.down.sql'))).toBe(true);
  });

  it('reads the sub-folders of its location as Flyway does, in version order across them', async () => {
    const url = await freshDatabase();
    const cwd = makeProject();
    // Flyway's resource scan descends into a location's folders (Scanner); the row's script is
    // the resource's relative path (SqlMigrationResolver: resource.getRelativePath()).
    writeAll(join(cwd, 'db/migration'), {
      'V1__schemas.sql': SCHEMAS,
      'tables/V1.1__items.sql': ITEMS,
      'tables/later/V2__notes.sql': NOTES,
      'tables/later/U2__notes.sql': 'DROP TABLE workspace.notes;\n',
    });
    await query(url, TABLE);
    await query(url, SCHEMAS + ITEMS);
    await query(url, row(1, '1', 'V1__schemas.sql', SCHEMAS));
    await query(url, row(2, '1.1', 'tables/V1.1__items.sql', ITEMS));
    const imported = await importHistory({ cwd, tool: 'flyway', set: 'data' });
    expect(imported.error).toBeUndefined();
    expect(imported.files).toEqual([
      'database/data/001_schemas.sql',
      'database/data/002_items.sql',
      'database/data/003_notes.sql',
    ]);
    const manifest = JSON.parse(readFileSync(join(cwd, 'database/data/import.json'), 'utf8')) as {
      migrations: { source: string }[];
    };
    expect(manifest.migrations.map((m) => m.source)).toEqual([
      'V1__schemas.sql',
      'tables/V1.1__items.sql',
      'tables/later/V2__notes.sql',
    ]);
    const adopted = await baseline({ cwd, env: single(url), set: 'data', from: 'flyway' });
    expect(adopted.error).toBeUndefined();
    expect(adopted.sets[0]!.pending.map((a) => a.file)).toEqual(['003_notes.sql']);
    expect(readFileSync(join(cwd, 'database/data/003_notes.down.sql'), 'utf8')).toBe(
      'DROP TABLE workspace.notes;\n',
    );
    const run = await migrate({ cwd, env: single(url), sets: ['data'] });
    expect(run.sets[0]!.applied.map((a) => a.file)).toEqual(['003_notes.sql']);
  });

  it("refuses a row whose checksum is not its file's, and a repeatable migration at import", async () => {
    const url = await freshDatabase();
    const cwd = makeProject();
    writeAll(join(cwd, 'db/migration'), FILES);
    await query(url, TABLE);
    await query(url, SCHEMAS + ITEMS);
    await query(url, row(1, '1', 'V1__schemas.sql', `${SCHEMAS}-- since edited\n`));
    expect((await importHistory({ cwd, tool: 'flyway', set: 'data' })).error).toBeUndefined();
    const refused = await refusedWritingNothing(url, cwd, 'public.flyway_schema_history', () =>
      baseline({ cwd, env: single(url), set: 'data', from: 'flyway' }),
    );
    expect(refused.exitCode).toBe(3);
    expect(refused.error?.message).toMatch(
      /001_schemas\.sql: its checksum -?\d+ is not the -?\d+ Flyway recorded \(installed_rank 1\)/,
    );

    const other = makeProject();
    writeAll(join(other, 'db/migration'), {
      ...FILES,
      'R__views.sql': 'CREATE OR REPLACE VIEW v AS SELECT 1;\n',
    });
    const repeatable = await importHistory({ cwd: other, tool: 'flyway', set: 'data' });
    expect(repeatable.exitCode).toBe(2);
    expect(repeatable.error?.message).toContain(
      'R__views.sql (a repeatable migration has no version)',
    );
    expect(existsSync(join(other, 'database/data/001_schemas.sql'))).toBe(false);
  });
});

describe('TypeORM (migrations: timestamp, name)', () => {
  // typeorm src/migration/MigrationExecutor.ts createMigrationsTableIfNotExist, with PostgresDriver's types.
  const TABLE =
    'CREATE TABLE "migrations" ("id" SERIAL NOT NULL, "timestamp" bigint NOT NULL, "name" character varying NOT NULL, CONSTRAINT "PK_migrations" PRIMARY KEY ("id"))';
  // As MigrationGenerateCommand writes them.
  const generated = (
    cls: string,
    up: string[],
    down: string[],
  ) => `import { MigrationInterface, QueryRunner } from "typeorm";

export class ${cls} implements MigrationInterface {
    name = '${cls}'

    public async up(queryRunner: QueryRunner): Promise<void> {
${up.map((q) => `        await queryRunner.query(\`${q}\`);`).join('\n')}
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
${down.map((q) => `        await queryRunner.query(\`${q}\`);`).join('\n')}
    }

}
`;

  it('turns generated migrations into SQL files and adopts the rows TypeORM wrote', async () => {
    const url = await freshDatabase();
    const cwd = makeProject();
    writeAll(join(cwd, 'src/migrations'), {
      '1700000000000-Init.ts': generated(
        'Init1700000000000',
        [
          'CREATE SCHEMA "workspace"',
          'CREATE SCHEMA "reference"',
          'CREATE TABLE "workspace"."items" ("id" SERIAL NOT NULL, "title" character varying, CONSTRAINT "PK_items" PRIMARY KEY ("id"))',
        ],
        ['DROP TABLE "workspace"."items"', 'DROP SCHEMA "reference"', 'DROP SCHEMA "workspace"'],
      ),
      '1700000100000-Notes.ts': generated(
        'Notes1700000100000',
        ['CREATE TABLE "workspace"."notes" ("id" integer NOT NULL)'],
        ['DROP TABLE "workspace"."notes"'],
      ),
    });
    await query(url, TABLE);
    await query(
      url,
      'CREATE SCHEMA "workspace"; CREATE SCHEMA "reference"; CREATE TABLE "workspace"."items" ("id" SERIAL NOT NULL, "title" character varying, CONSTRAINT "PK_items" PRIMARY KEY ("id"))',
    );
    // MigrationExecutor.insertExecutedMigration: (timestamp, name).
    await query(
      url,
      `INSERT INTO "migrations" ("timestamp", "name") VALUES (1700000000000, 'Init1700000000000')`,
    );
    const adopted = await importAndAdopt(cwd, url, 'typeorm');
    expect(adopted.error).toBeUndefined();
    expect(adopted.sets[0]!.pending.map((a) => a.file)).toEqual(['1700000100000_Notes.sql']);
    expect(readFileSync(join(cwd, 'database/data/1700000100000_Notes.down.sql'), 'utf8')).toContain(
      'DROP TABLE "workspace"."notes";',
    );
    const run = await migrate({ cwd, env: single(url), sets: ['data'] });
    expect(run.error).toBeUndefined();
    expect(await query(url, `SELECT to_regclass('workspace.notes') IS NOT NULL AS made`)).toEqual([
      { made: true },
    ]);
  });

  it("places the parameters of a generated view migration's typeorm_metadata row as literals", async () => {
    const url = await freshDatabase();
    const cwd = makeProject();
    const view = 'SELECT "id", "title" FROM "workspace"."items" WHERE "title" IS NOT NULL';
    writeAll(join(cwd, 'src/migrations'), {
      '1700000000000-Init.ts': generated(
        'Init1700000000000',
        [
          'CREATE SCHEMA "workspace"',
          'CREATE SCHEMA "reference"',
          'CREATE TABLE "workspace"."items" ("id" SERIAL NOT NULL, "title" character varying, CONSTRAINT "PK_items" PRIMARY KEY ("id"))',
        ],
        ['DROP TABLE "workspace"."items"'],
      ),
      // As PostgresQueryRunner.insertViewDefinitionSql has the generator write it: the view's text passed as a parameter.
      '1700000100000-Titled.ts': `import { MigrationInterface, QueryRunner } from "typeorm";

export class Titled1700000100000 implements MigrationInterface {
    name = 'Titled1700000100000'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(\`CREATE VIEW "workspace"."titled" AS ${view}\`);
        await queryRunner.query(\`INSERT INTO "typeorm_metadata"("database", "schema", "table", "type", "name", "value") VALUES (DEFAULT, $1, DEFAULT, $2, $3, $4)\`, ["workspace","VIEW","titled",${JSON.stringify(view)}]);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(\`DELETE FROM "typeorm_metadata" WHERE "type" = $1 AND "name" = $2 AND "schema" = $3\`, ["VIEW","titled","workspace"]);
        await queryRunner.query(\`DROP VIEW "workspace"."titled"\`);
    }

}
`,
    });
    await query(url, TABLE);
    // typeorm src/driver/postgres/PostgresQueryRunner.ts: the table TypeORM keeps view definitions in.
    await query(
      url,
      'CREATE TABLE "typeorm_metadata" ("type" character varying NOT NULL, "database" character varying, "schema" character varying, "table" character varying, "name" character varying, "value" text)',
    );
    await query(
      url,
      'CREATE SCHEMA "workspace"; CREATE SCHEMA "reference"; CREATE TABLE "workspace"."items" ("id" SERIAL NOT NULL, "title" character varying, CONSTRAINT "PK_items" PRIMARY KEY ("id"))',
    );
    await query(
      url,
      `INSERT INTO "migrations" ("timestamp", "name") VALUES (1700000000000, 'Init1700000000000')`,
    );
    const adopted = await importAndAdopt(cwd, url, 'typeorm');
    expect(adopted.error).toBeUndefined();
    expect(readFileSync(join(cwd, 'database/data/1700000100000_Titled.sql'), 'utf8')).toContain(
      `VALUES (DEFAULT, 'workspace', DEFAULT, 'VIEW', 'titled', 'SELECT "id", "title" FROM "workspace"."items" WHERE "title" IS NOT NULL');`,
    );
    const run = await migrate({ cwd, env: single(url), sets: ['data'] });
    expect(run.error).toBeUndefined();
    expect(
      await query(url, 'SELECT "schema", "type", "name", "value" FROM "typeorm_metadata"'),
    ).toEqual([{ schema: 'workspace', type: 'VIEW', name: 'titled', value: view }]);
  });

  it('names a hand-written migration that builds a table in code, with its line', async () => {
    const cwd = makeProject();
    writeAll(join(cwd, 'src/migrations'), {
      '1700000000000-Items.ts': `import { MigrationInterface, QueryRunner, Table } from "typeorm";
export class Items1700000000000 implements MigrationInterface {
    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.createTable(new Table({ name: "items", columns: [] }));
    }
    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.dropTable("items");
    }
}
`,
    });
    const refused = await importHistory({ cwd, tool: 'typeorm', set: 'data' });
    expect(refused.exitCode).toBe(2);
    expect(refused.error?.message).toContain(
      '1700000000000-Items.ts (its up runs code (line 4), not only queryRunner.query of literal SQL)',
    );
  });
});
