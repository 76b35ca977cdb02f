import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate as drizzleMigrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { baseline, importHistory, migrate, status } from '../../../src/api.js';
import { freshDatabase, query } from '../../support/db.js';
import { makeProject } from '../../support/project.js';

/*
 * SPEC §11 with drizzle-orm's own migrator building the history: drizzle
 * records (hash, created_at) per migration it ran, and runs only what is newer
 * than its newest row.
 */

const single = (url: string) => ({ PRIMARY_DATABASE_URL: url });

/** A drizzle-kit folder: `<tag>.sql` files and meta/_journal.json, `when` one minute apart. */
function writeDrizzleFolder(
  dir: string,
  migrations: ReadonlyArray<{ tag: string; sql: string; when: number }>,
) {
  mkdirSync(join(dir, 'meta'), { recursive: true });
  for (const m of migrations) writeFileSync(join(dir, `${m.tag}.sql`), m.sql);
  writeFileSync(
    join(dir, 'meta', '_journal.json'),
    JSON.stringify({
      version: '7',
      dialect: 'postgresql',
      entries: migrations.map((m, idx) => ({
        idx,
        version: '7',
        when: m.when,
        tag: m.tag,
        breakpoints: true,
      })),
    }),
  );
}

async function runDrizzle(url: string, folder: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await drizzleMigrate(drizzle(client), { migrationsFolder: folder });
  } finally {
    await client.end();
  }
}

const T0 = 1_700_000_000_000;
function history(n: number) {
  return Array.from({ length: n }, (_, i) => {
    const tag = `${String(i).padStart(4, '0')}_step_${i}`;
    const sql =
      i === 0
        ? 'CREATE SCHEMA "workspace";\n--> statement-breakpoint\nCREATE SCHEMA "reference";\n--> statement-breakpoint\nCREATE TABLE "workspace"."items" (\n\t"id" serial PRIMARY KEY NOT NULL,\n\t"title" text\n);\n'
        : `CREATE TABLE "workspace"."t${i}" (\n\t"id" integer PRIMARY KEY NOT NULL\n);\n--> statement-breakpoint\nCREATE INDEX "t${i}_id_idx" ON "workspace"."t${i}" USING btree ("id");`;
    return { tag, sql, when: T0 + i * 60_000 };
  });
}

describe('adopting a drizzle history', () => {
  it('records the 40 migrations drizzle ran of 42; migrate applies the other 2', async () => {
    const url = await freshDatabase();
    const cwd = makeProject();
    const folder = join(cwd, 'drizzle');
    const all = history(42);
    writeDrizzleFolder(folder, all.slice(0, 40));
    await runDrizzle(url, folder);
    await query(url, "INSERT INTO workspace.items (title) VALUES ('kept')");
    writeDrizzleFolder(folder, all);

    const imported = await importHistory({ cwd, tool: 'drizzle', set: 'data' });
    expect(imported.error).toBeUndefined();
    expect(imported.files).toHaveLength(42);
    // Byte for byte: the same file, breakpoints and all.
    expect(readFileSync(join(cwd, 'database/data/0001_step_1.sql'), 'utf8')).toBe(all[1]!.sql);

    const adopted = await baseline({ cwd, env: single(url), set: 'data', from: 'drizzle' });
    expect(adopted.error).toBeUndefined();
    expect(adopted.sets[0]!.applied).toHaveLength(40);
    expect(adopted.sets[0]!.pending.map((p) => p.file)).toEqual([
      '0040_step_40.sql',
      '0041_step_41.sql',
    ]);

    const applied = await migrate({ cwd, env: single(url), sets: ['data'] });
    expect(applied.error).toBeUndefined();
    expect(applied.sets.find((s) => s.name === 'data')!.applied.map((a) => a.file)).toEqual([
      '0040_step_40.sql',
      '0041_step_41.sql',
    ]);
    expect(await query(url, 'SELECT title FROM workspace.items')).toEqual([{ title: 'kept' }]);
    // drizzle's table is read, never written.
    expect(await query(url, 'SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations')).toEqual(
      [{ n: 40 }],
    );
    const shown = await status({ cwd, env: single(url), sets: ['data'] });
    expect(shown.sets[0]!.applied.filter((a) => a.from === 'drizzle')).toHaveLength(40);
  });
});

describe('what drizzle itself skipped, and what does not match', () => {
  it('an older migration merged after a newer one ran: drizzle never ran it; it stays pending and migrate applies it', async () => {
    const url = await freshDatabase();
    const cwd = makeProject();
    const folder = join(cwd, 'drizzle');
    const [first, , third] = history(3);
    writeDrizzleFolder(folder, [first!, third!]);
    await runDrizzle(url, folder);
    // A branch merged late: its `when` is older than the newest row, so drizzle's migrator skips it.
    const late = {
      tag: '0001_late',
      sql: 'CREATE TABLE "workspace"."late" ("id" integer);',
      when: T0 + 30_000,
    };
    writeDrizzleFolder(folder, [first!, late, third!]);
    await runDrizzle(url, folder);
    expect(await query(url, "SELECT to_regclass('workspace.late') IS NULL AS skipped")).toEqual([
      { skipped: true },
    ]);

    expect((await importHistory({ cwd, tool: 'drizzle', set: 'data' })).error).toBeUndefined();
    const adopted = await baseline({ cwd, env: single(url), set: 'data', from: 'drizzle' });
    expect(adopted.error).toBeUndefined();
    expect(adopted.sets[0]!.applied.map((a) => a.file)).toEqual([
      '0000_step_0.sql',
      '0002_step_2.sql',
    ]);
    expect(adopted.sets[0]!.pending.map((a) => a.file)).toEqual(['0001_late.sql']);
    const applied = await migrate({ cwd, env: single(url), sets: ['data'] });
    expect(applied.error).toBeUndefined();
    expect(await query(url, "SELECT to_regclass('workspace.late') IS NOT NULL AS made")).toEqual([
      { made: true },
    ]);
  });

  it("refuses, writing nothing: a file edited since drizzle ran it, an object the history made that is gone, a table that is not drizzle's", async () => {
    const url = await freshDatabase();
    const cwd = makeProject();
    const folder = join(cwd, 'drizzle');
    writeDrizzleFolder(folder, history(3));
    await runDrizzle(url, folder);
    expect((await importHistory({ cwd, tool: 'drizzle', set: 'data' })).error).toBeUndefined();
    // drizzle's own table, row for row, and the set's folder: a refusal leaves both as they were.
    const drizzleRows = () => query(url, 'SELECT * FROM drizzle.__drizzle_migrations ORDER BY id');
    const setFiles = () => readdirSync(join(cwd, 'database/data')).sort();
    let before = { rows: await drizzleRows(), files: setFiles() };
    const nothingRecorded = async () => {
      expect(await query(url, "SELECT to_regclass('schemata.migrations') IS NULL AS none")).toEqual(
        [{ none: true }],
      );
      expect({ rows: await drizzleRows(), files: setFiles() }).toEqual(before);
    };

    const edited = join(cwd, 'database/data/0001_step_1.sql');
    const original = readFileSync(edited, 'utf8');
    writeFileSync(edited, `${original}\n-- edited\n`);
    const mismatch = await baseline({ cwd, env: single(url), set: 'data', from: 'drizzle' });
    expect(mismatch.exitCode).toBe(3);
    expect(mismatch.error?.message).toContain(
      '0001_step_1.sql: its SHA-256 is not the hash drizzle recorded',
    );
    await nothingRecorded();
    writeFileSync(edited, original);

    await query(url, 'DROP INDEX workspace.t2_id_idx');
    const missing = await baseline({ cwd, env: single(url), set: 'data', from: 'drizzle' });
    expect(missing.exitCode).toBe(3);
    expect(missing.error?.message).toContain('index workspace.t2_id_idx (0002_step_2.sql)');
    await nothingRecorded();
    await query(url, 'CREATE INDEX t2_id_idx ON workspace.t2 (id)');

    const notDrizzles = await baseline({
      cwd,
      env: single(url),
      set: 'data',
      from: 'drizzle',
      table: 'workspace.items',
    });
    expect(notDrizzles.exitCode).toBe(3);
    expect(notDrizzles.error?.message).toContain(
      "workspace.items is not drizzle's table: it has no column hash, created_at",
    );
    const absent = await baseline({
      cwd,
      env: single(url),
      set: 'data',
      from: 'drizzle',
      table: 'public.nowhere',
    });
    expect(absent.exitCode).toBe(3);
    expect(absent.error?.message).toContain(
      "drizzle's table public.nowhere is not in this database",
    );
    await nothingRecorded();

    await query(
      url,
      `INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('x', ${T0 + 999_999_999})`,
    );
    before = { rows: await drizzleRows(), files: setFiles() };
    const unknown = await baseline({ cwd, env: single(url), set: 'data', from: 'drizzle' });
    expect(unknown.exitCode).toBe(3);
    expect(unknown.error?.message).toContain(
      `row with created_at ${T0 + 999_999_999}: no migration of the journal`,
    );
    await nothingRecorded();
  });
});

describe('a history over the schemas of two sets', () => {
  it("names the files that make objects in the other set's schemas and writes nothing; the hint says how to make it one set's", async () => {
    const cwd = makeProject();
    const folder = join(cwd, 'drizzle');
    writeDrizzleFolder(folder, [
      ...history(2),
      {
        tag: '0002_settings',
        sql: 'CREATE TABLE "config"."settings" ("key" text);',
        when: T0 + 999_000,
      },
    ]);
    const refused = await importHistory({ cwd, tool: 'drizzle', set: 'data' });
    expect(refused.exitCode).toBe(2);
    expect(refused.error?.message).toContain(
      'the drizzle history spans the schemas of two sets, so it cannot become set "data" alone: 0002_settings.sql makes objects in config (set primary)',
    );
    expect(refused.error?.hint).toContain('then run: schemata import drizzle --set data');
    expect(existsSync(join(cwd, 'database/data/0000_step_0.sql'))).toBe(false);
  });
});

describe('a drizzle folder whose journal names a file that is not there', () => {
  it('is a usage error naming the file, and nothing is written', async () => {
    const cwd = makeProject();
    const folder = join(cwd, 'drizzle');
    writeDrizzleFolder(folder, history(2));
    const { rmSync } = await import('node:fs');
    rmSync(join(folder, '0001_step_1.sql'));
    const refused = await importHistory({ cwd, tool: 'drizzle', set: 'data' });
    expect(refused.exitCode).toBe(2);
    expect(refused.error?.message).toMatch(
      /^drizzle: cannot read the drizzle migrations: .*0001_step_1\.sql.*Nothing was written\.$/,
    );
    expect(existsSync(join(cwd, 'database/data/0000_step_0.sql'))).toBe(false);
  });
});
