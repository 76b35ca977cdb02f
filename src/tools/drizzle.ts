import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { type HistoryRow, type ImportedMigration, type Tool, textOf, unknownRows } from './tool.js';

/** drizzle-kit's meta/_journal.json: one entry per migration, in order; `when` is what its table records. */
const Journal = z.object({
  entries: z.array(z.object({ idx: z.number(), when: z.number(), tag: z.string() })),
});

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/**
 * drizzle-kit: `<folder>/<tag>.sql` in the journal's order; `--> statement-breakpoint`
 * lines are comments to PostgreSQL, so each file runs as written. drizzle-orm's
 * migrator (pg-core/dialect.ts) records `hash` (SHA-256 of the file) and
 * `created_at` (the journal's `when`) in drizzle.__drizzle_migrations, and runs
 * only what is newer than its newest row: an older migration added later never
 * runs there, and stays pending here.
 */
export const drizzle: Tool = {
  name: 'drizzle',
  defaultFrom: ['drizzle', 'migrations'],
  readSource(dir) {
    const journalPath = join(dir, 'meta', '_journal.json');
    let journal: z.infer<typeof Journal>;
    try {
      journal = Journal.parse(JSON.parse(readFileSync(journalPath, 'utf8')));
    } catch (error) {
      return {
        migrations: [],
        unconvertible: [
          {
            source: 'meta/_journal.json',
            why: `not drizzle-kit's journal (${(error as Error).message.split('\n')[0]})`,
          },
        ],
      };
    }
    return {
      migrations: journal.entries.map((entry) => {
        // drizzle-kit's "none" prefix names files without a number: the journal's index orders them.
        const stem = /^\d+_/.test(entry.tag)
          ? entry.tag
          : `${String(entry.idx).padStart(4, '0')}_${entry.tag}`;
        return {
          id: String(entry.when),
          source: `${entry.tag}.sql`,
          file: `${stem}.sql`,
          up: readFileSync(join(dir, `${entry.tag}.sql`), 'utf8'),
        };
      }),
      unconvertible: [],
    };
  },
  table: { name: 'drizzle.__drizzle_migrations', columns: ['hash', 'created_at'] },
  rowsSql: (table) => `SELECT id, hash, created_at FROM ${table} ORDER BY id`,
  judge(rows: readonly HistoryRow[], migrations: readonly ImportedMigration[], text) {
    const byId = new Map(migrations.map((m) => [m.id, m]));
    const applied = new Map<string, string>();
    const problems: string[] = [];
    for (const row of rows) {
      const id = textOf(row.created_at);
      const migration = byId.get(id);
      if (!migration) continue;
      if (sha256(text(migration.file)) !== textOf(row.hash))
        problems.push(
          `${migration.file}: its SHA-256 is not the hash drizzle recorded when it ran (row id ${textOf(row.id)}): the file was edited since`,
        );
      applied.set(id, `row id ${textOf(row.id)}`);
    }
    for (const id of unknownRows(
      rows.map((r) => textOf(r.created_at)),
      migrations,
    ))
      problems.push(
        `row with created_at ${id}: no migration of the journal has that "when": the database ran a migration the files lack`,
      );
    return { applied, problems };
  },
};
