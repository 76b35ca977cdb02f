import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type HistoryRow, type ImportedMigration, type Tool, textOf } from './tool.js';

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

/**
 * Prisma Migrate: `prisma/migrations/<timestamp>_<name>/migration.sql`, in the
 * folders' order. Its table `_prisma_migrations` has a row per attempt: one
 * with `finished_at` and no `rolled_back_at` is applied, one with neither
 * failed (Prisma refuses to go on until it is resolved), one with
 * `rolled_back_at` is discounted. `checksum` is the SHA-256 of migration.sql.
 */
export const prisma: Tool = {
  name: 'prisma',
  defaultFrom: ['prisma/migrations'],
  readSource(dir) {
    const folders = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    const migrations = [];
    const unconvertible = [];
    for (const folder of folders) {
      const path = join(dir, folder, 'migration.sql');
      if (!existsSync(path)) {
        unconvertible.push({ source: folder, why: 'holds no migration.sql' });
        continue;
      }
      if (!/^\d+_/.test(folder)) {
        unconvertible.push({
          source: `${folder}/migration.sql`,
          why: 'its folder name does not start with a timestamp',
        });
        continue;
      }
      migrations.push({
        id: folder,
        source: `${folder}/migration.sql`,
        file: `${folder}.sql`,
        up: readFileSync(path, 'utf8'),
      });
    }
    return { migrations, unconvertible };
  },
  table: {
    name: '_prisma_migrations',
    columns: ['migration_name', 'checksum', 'finished_at', 'rolled_back_at'],
  },
  rowsSql: (table) =>
    `SELECT migration_name, checksum, started_at, finished_at, rolled_back_at, applied_steps_count, logs FROM ${table} ORDER BY started_at, migration_name`,
  judge(rows: readonly HistoryRow[], migrations: readonly ImportedMigration[], text) {
    const byId = new Map(migrations.map((m) => [m.id, m]));
    const applied = new Map<string, string>();
    const problems: string[] = [];
    const failed = new Map<string, HistoryRow>();
    for (const row of rows) {
      if (row.rolled_back_at !== null && row.rolled_back_at !== undefined) continue;
      const name = textOf(row.migration_name);
      if (row.finished_at === null || row.finished_at === undefined) {
        failed.set(name, row);
        continue;
      }
      const migration = byId.get(name);
      if (!migration) {
        problems.push(
          `${name}: applied by Prisma, but the imported migrations have no such folder`,
        );
        continue;
      }
      const bytes = text(migration.file);
      // As Prisma's script_matches_checksum (schema-connector/src/checksum.rs): a checkout with other line endings is the same migration.
      const script = bytes.toString('utf8');
      const sums = [
        sha256(bytes),
        sha256(script.replace(/\r\n/g, '\n')),
        sha256(script.replace(/\n/g, '\r\n')),
      ];
      if (!sums.includes(textOf(row.checksum)))
        problems.push(
          `${migration.file}: its SHA-256 is not the checksum Prisma recorded when it was applied: the file was edited since`,
        );
      const steps = textOf(row.applied_steps_count);
      applied.set(
        name,
        steps === '0'
          ? 'finished with no steps (marked applied by prisma migrate resolve)'
          : `finished at ${textOf(row.finished_at)}`,
      );
    }
    for (const [name, row] of failed) {
      if (applied.has(name)) continue;
      const log = textOf(row.logs).split('\n')[0] ?? '';
      problems.push(
        `${name}: failed (started at ${textOf(row.started_at)}, never finished${log ? `: ${log.slice(0, 200)}` : ''})`,
      );
    }
    return { applied, problems };
  },
};
