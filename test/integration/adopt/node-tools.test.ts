import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import knexFactory from 'knex';
import { runner as nodePgMigrate } from 'node-pg-migrate';
import { describe, expect, it } from 'vitest';
import { baseline, importHistory, migrate, validate } from '../../../src/api.js';
import { freshDatabase, query } from '../../support/db.js';
import { makeProject, REPO } from '../../support/project.js';

/*
 * SPEC §11 with the other tools' own migrators building the history on real
 * PostgreSQL: node-pg-migrate's runner, dbmate's binary from its npm package,
 * knex's migrator. Each ran part of its history; schemata imports the whole
 * folder, adopts what the tool ran, and applies the rest.
 */

const single = (url: string) => ({ PRIMARY_DATABASE_URL: url });
const run = promisify(execFile);

function writeAll(dir: string, files: Record<string, string>) {
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
}

async function adoptThenMigrate(cwd: string, url: string, tool: string, pending: string[]) {
  const imported = await importHistory({ cwd, tool, set: 'data' });
  expect(imported.error).toBeUndefined();
  const adopted = await baseline({ cwd, env: single(url), set: 'data', from: tool });
  expect(adopted.error).toBeUndefined();
  expect(adopted.sets[0]!.pending.map((p) => p.file)).toEqual(pending);
  const applied = await migrate({ cwd, env: single(url), sets: ['data'] });
  expect(applied.error).toBeUndefined();
  expect(applied.sets[0]!.applied.map((a) => a.file)).toEqual(pending);
  return adopted;
}

describe('node-pg-migrate', () => {
  const FILES = {
    '1700000000000_schemas.sql':
      '-- Up Migration\nCREATE SCHEMA workspace;\nCREATE SCHEMA reference;\n\n-- Down Migration\nDROP SCHEMA reference;\nDROP SCHEMA workspace;\n',
    '1700000001000_items.sql':
      '-- Up Migration\nCREATE TABLE workspace.items (id int PRIMARY KEY, title text);\n-- Down Migration\nDROP TABLE workspace.items;\n',
  };
  const LATER = {
    '1700000002000_notes.up.sql': 'CREATE TABLE workspace.notes (id int PRIMARY KEY);\n',
    '1700000002000_notes.down.sql': 'DROP TABLE workspace.notes;\n',
  };

  it('adopts what its runner ran (pgmigrations), writes the down parts as down files, and applies the rest', async () => {
    const url = await freshDatabase();
    const cwd = makeProject();
    const dir = join(cwd, 'migrations');
    writeAll(dir, FILES);
    await nodePgMigrate({
      databaseUrl: url,
      dir,
      direction: 'up',
      migrationsTable: 'pgmigrations',
      log: () => undefined,
    });
    writeAll(dir, LATER);
    await adoptThenMigrate(cwd, url, 'node-pg-migrate', ['1700000002000_notes.sql']);
    expect(readFileSync(join(cwd, 'database/data/1700000001000_items.sql'), 'utf8')).toBe(
      '-- Up Migration\nCREATE TABLE workspace.items (id int PRIMARY KEY, title text);\n',
    );
    expect(readFileSync(join(cwd, 'database/data/1700000001000_items.down.sql'), 'utf8')).toBe(
      '-- Down Migration\nDROP TABLE workspace.items;\n',
    );
    expect(existsSync(join(cwd, 'database/data/1700000002000_notes.down.sql'))).toBe(true);
  });

  it('names a JavaScript migration as code and writes nothing', async () => {
    const cwd = makeProject();
    const dir = join(cwd, 'migrations');
    writeAll(dir, {
      ...FILES,
      '1700000003000_seed.js': 'exports.up = (pgm) => { pgm.createTable("x", {}); };\n',
    });
    const refused = await importHistory({ cwd, tool: 'node-pg-migrate', set: 'data' });
    expect(refused.exitCode).toBe(2);
    expect(refused.error?.message).toContain(
      '1700000003000_seed.js (a JavaScript or TypeScript migration is code)',
    );
    expect(existsSync(join(cwd, 'database/data/import.json'))).toBe(false);
    expect(existsSync(join(cwd, 'database/data/1700000000000_schemas.sql'))).toBe(false);
  });

  it('does not credit its own table to a migration when the set owns the schema it keeps it in', async () => {
    // The usual node-pg-migrate project: everything in public, pgmigrations too.
    const url = await freshDatabase();
    const cwd = makeProject({
      'schemata.json': JSON.stringify({
        sets: [{ name: 'data', dir: 'data', database: 'primary', schemas: ['public'] }],
      }),
    });
    const dir = join(cwd, 'migrations');
    writeAll(dir, {
      '1700000000000_accounts.sql':
        '-- Up Migration\nCREATE TABLE accounts (id serial PRIMARY KEY, email text);\n-- Down Migration\nDROP TABLE accounts;\n',
    });
    await nodePgMigrate({
      databaseUrl: url,
      dir,
      direction: 'up',
      migrationsTable: 'pgmigrations',
      log: () => undefined,
    });
    writeAll(dir, {
      '1700000001000_orders.sql':
        '-- Up Migration\nCREATE TABLE orders (id serial PRIMARY KEY, account int REFERENCES accounts);\n',
    });
    await adoptThenMigrate(cwd, url, 'node-pg-migrate', ['1700000001000_orders.sql']);
    const credited = await query<{ identity: string }>(
      url,
      `SELECT identity FROM schemata.objects WHERE identity LIKE '%pgmigrations%'`,
    );
    expect(credited).toEqual([]);
    // Its table is the user's to drop once every database is adopted: nothing a migration made goes with it.
    await query(url, 'DROP TABLE pgmigrations');
    const checked = await validate({ cwd, env: single(url), sets: ['data'] });
    expect(checked.error).toBeUndefined();
    expect(checked.exitCode).toBe(0);
  });
});

describe('dbmate', () => {
  it('adopts what its binary ran (schema_migrations); transaction:false becomes no-transaction', async () => {
    const url = await freshDatabase();
    const cwd = makeProject();
    const dir = join(cwd, 'db', 'migrations');
    writeAll(dir, {
      '20240101000000_schemas.sql':
        '-- migrate:up\nCREATE SCHEMA workspace;\nCREATE SCHEMA reference;\n\n-- migrate:down\nDROP SCHEMA reference;\nDROP SCHEMA workspace;\n',
      '20240102000000_items.sql':
        '-- migrate:up\nCREATE TABLE workspace.items (id int PRIMARY KEY, title text);\n\n-- migrate:down\nDROP TABLE workspace.items;\n',
    });
    const dbUrl = new URL(url);
    dbUrl.searchParams.set('sslmode', 'disable');
    await run(
      join(REPO, 'node_modules/.bin/dbmate'),
      ['--no-dump-schema', '--migrations-dir', dir, 'up'],
      {
        env: { ...process.env, DATABASE_URL: dbUrl.toString() },
      },
    );
    writeAll(dir, {
      '20240103000000_title_index.sql':
        '-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY items_title_idx ON workspace.items (title);\n\n-- migrate:down\nDROP INDEX workspace.items_title_idx;\n',
    });
    await adoptThenMigrate(cwd, url, 'dbmate', ['20240103000000_title_index.sql']);
    expect(readFileSync(join(cwd, 'database/data/20240103000000_title_index.sql'), 'utf8')).toMatch(
      /^-- schemata:no-transaction\n-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY/,
    );
    expect(
      await query(url, "SELECT to_regclass('workspace.items_title_idx') IS NOT NULL AS made"),
    ).toEqual([{ made: true }]);
  });

  it("refuses golang-migrate's table under --from dbmate, naming whose it is", async () => {
    const url = await freshDatabase();
    const cwd = makeProject();
    writeAll(join(cwd, 'db', 'migrations'), {
      '1_schemas.sql':
        '-- migrate:up\nCREATE SCHEMA workspace;\n-- migrate:down\nDROP SCHEMA workspace;\n',
    });
    await query(
      url,
      'CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)',
    );
    expect((await importHistory({ cwd, tool: 'dbmate', set: 'data' })).error).toBeUndefined();
    const refused = await baseline({ cwd, env: single(url), set: 'data', from: 'dbmate' });
    expect(refused.exitCode).toBe(3);
    expect(refused.error?.message).toContain(
      "schema_migrations is not dbmate's table: it has golang-migrate's columns (version, dirty)",
    );
    expect(refused.error?.hint).toBe(
      'If golang-migrate kept it: schemata baseline data --from golang-migrate',
    );
  });
});

describe('knex', () => {
  it('converts migrations that only run knex.raw, adopts what its migrator ran (knex_migrations)', async () => {
    const url = await freshDatabase();
    const cwd = makeProject();
    const dir = join(cwd, 'migrations');
    writeAll(dir, {
      '20240101000000_schemas.js':
        "exports.up = function (knex) {\n  return knex.raw('CREATE SCHEMA workspace; CREATE SCHEMA reference');\n};\nexports.down = function (knex) {\n  return knex.raw('DROP SCHEMA reference; DROP SCHEMA workspace');\n};\n",
      '20240102000000_items.js':
        'exports.up = async (knex) => {\n  await knex.schema.raw(`CREATE TABLE workspace.items (id int PRIMARY KEY, title text)`);\n  await knex.raw("CREATE INDEX items_title_idx ON workspace.items (title)");\n};\nexports.down = async (knex) => {\n  await knex.raw(\'DROP TABLE workspace.items\');\n};\n',
    });
    const db = knexFactory({ client: 'pg', connection: url, migrations: { directory: dir } });
    try {
      await db.migrate.latest();
    } finally {
      await db.destroy();
    }
    writeAll(dir, {
      '20240103000000_notes.js':
        "exports.up = (knex) => knex.raw('CREATE TABLE workspace.notes (id int)');\nexports.down = (knex) => knex.raw('DROP TABLE workspace.notes');\n",
    });
    await adoptThenMigrate(cwd, url, 'knex', ['20240103000000_notes.sql']);
    expect(readFileSync(join(cwd, 'database/data/20240102000000_items.sql'), 'utf8')).toBe(
      '-- From 20240102000000_items.js: its knex.raw statements.\nCREATE TABLE workspace.items (id int PRIMARY KEY, title text);\nCREATE INDEX items_title_idx ON workspace.items (title);\n',
    );
  });

  it('adopts rows naming the compiled .js of .ts sources (loadExtensions [.js]), and an index a later constraint took USING INDEX', async () => {
    const url = await freshDatabase();
    const cwd = makeProject();
    // The repository keeps TypeScript; knex runs what tsc made of it, so its rows name the .js files.
    const sources = {
      '20240101000000_items.ts':
        "import type { Knex } from 'knex';\n\nexport async function up(knex: Knex): Promise<void> {\n  await knex.raw('CREATE SCHEMA workspace; CREATE SCHEMA reference; CREATE TABLE workspace.items (id int NOT NULL, title text)');\n}\n",
      '20240102000000_items_key.ts':
        "import type { Knex } from 'knex';\n\nexport async function up(knex: Knex): Promise<void> {\n  await knex.raw('CREATE UNIQUE INDEX items_id_idx ON workspace.items (id)');\n  await knex.raw('ALTER TABLE workspace.items ADD CONSTRAINT items_pkey PRIMARY KEY USING INDEX items_id_idx');\n}\n",
    };
    const compiled = {
      '20240101000000_items.js':
        "exports.up = async (knex) => {\n  await knex.raw('CREATE SCHEMA workspace; CREATE SCHEMA reference; CREATE TABLE workspace.items (id int NOT NULL, title text)');\n};\nexports.down = async () => {};\n",
      '20240102000000_items_key.js':
        "exports.up = async (knex) => {\n  await knex.raw('CREATE UNIQUE INDEX items_id_idx ON workspace.items (id)');\n  await knex.raw('ALTER TABLE workspace.items ADD CONSTRAINT items_pkey PRIMARY KEY USING INDEX items_id_idx');\n};\nexports.down = async () => {};\n",
    };
    writeAll(join(cwd, 'migrations'), sources);
    writeAll(join(cwd, 'dist/migrations'), compiled);
    const db = knexFactory({
      client: 'pg',
      connection: url,
      migrations: { directory: join(cwd, 'dist/migrations'), loadExtensions: ['.js'] },
    });
    try {
      await db.migrate.latest();
    } finally {
      await db.destroy();
    }
    writeAll(join(cwd, 'migrations'), {
      '20240103000000_notes.ts':
        "import type { Knex } from 'knex';\n\nexport async function up(knex: Knex): Promise<void> {\n  await knex.raw('CREATE TABLE workspace.notes (id int)');\n}\n",
    });
    const adopted = await adoptThenMigrate(cwd, url, 'knex', ['20240103000000_notes.sql']);
    expect(adopted.sets[0]!.applied.map((b) => b.file)).toEqual([
      '20240101000000_items.sql',
      '20240102000000_items_key.sql',
    ]);
  });

  it('names a schema-builder migration with its line, and writes nothing', async () => {
    const cwd = makeProject();
    writeAll(join(cwd, 'migrations'), {
      '20240101000000_items.js':
        "exports.up = function (knex) {\n  return knex.schema.createTable('items', (t) => { t.increments(); });\n};\n",
    });
    const refused = await importHistory({ cwd, tool: 'knex', set: 'data' });
    expect(refused.exitCode).toBe(2);
    expect(refused.error?.message).toContain(
      '20240101000000_items.js (its up runs code (line 2), not only knex.raw of literal SQL)',
    );
    expect(existsSync(join(cwd, 'database/data/import.json'))).toBe(false);
  });
});
