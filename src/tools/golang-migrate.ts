import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type HistoryRow,
  type ImportedMigration,
  type SourceMigration,
  type Tool,
  type Unconvertible,
  textOf,
} from './tool.js';

// golang-migrate's file names (source/parse.go): {version}_{title}.{up|down}.{extension}.
const NAME = /^([0-9]+)_(.*)\.(down|up)\.(.*)$/;

/**
 * golang-migrate: `migrations/<version>_<title>.up.sql` and `.down.sql`. Its
 * table `schema_migrations` holds one row, (version, dirty): every migration
 * up to that version is applied, and `dirty` says the last one failed part
 * way, so that it may be applied fully, partly or not at all. No checksum.
 */
export const golangMigrate: Tool = {
  name: 'golang-migrate',
  defaultFrom: ['migrations', 'db/migrations'],
  readSource(dir) {
    const byVersion = new Map<
      string,
      { up?: string; down?: string; title: string; digits: string }
    >();
    const unconvertible: Unconvertible[] = [];
    for (const name of readdirSync(dir).sort()) {
      const match = NAME.exec(name);
      if (!match) continue;
      if (match[4] !== 'sql') {
        unconvertible.push({ source: name, why: 'not a .sql migration' });
        continue;
      }
      const version = BigInt(match[1]!).toString();
      const entry = byVersion.get(version) ?? { title: match[2]!, digits: match[1]! };
      entry[match[3] as 'up' | 'down'] = name;
      byVersion.set(version, entry);
    }
    const migrations: SourceMigration[] = [];
    for (const [version, entry] of byVersion) {
      if (!entry.up) {
        unconvertible.push({ source: entry.down!, why: 'a .down.sql without its .up.sql' });
        continue;
      }
      migrations.push({
        id: version,
        source: entry.up,
        file: `${entry.digits}_${entry.title || 'migration'}.sql`,
        up: readFileSync(join(dir, entry.up), 'utf8'),
        down: entry.down === undefined ? undefined : readFileSync(join(dir, entry.down), 'utf8'),
      });
    }
    migrations.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
    return { migrations, unconvertible };
  },
  table: { name: 'schema_migrations', columns: ['version', 'dirty'] },
  rowsSql: (table) => `SELECT version, dirty FROM ${table}`,
  judge(rows: readonly HistoryRow[], migrations: readonly ImportedMigration[]) {
    const applied = new Map<string, string>();
    if (rows.length === 0) return { applied, problems: [] };
    if (rows.length > 1)
      return {
        applied,
        problems: [`it holds ${rows.length} rows; golang-migrate keeps one (version, dirty)`],
      };
    const row = rows[0]!;
    const version = BigInt(textOf(row.version));
    if (row.dirty === true)
      return {
        applied,
        problems: [
          `version ${version} is dirty: golang-migrate stopped in the middle of it, so it may be applied fully, partly or not at all`,
        ],
      };
    if (version >= 0n && !migrations.some((m) => BigInt(m.id) === version))
      return {
        applied,
        problems: [
          `version ${version}: golang-migrate is at it, but the imported migrations have no such file`,
        ],
      };
    for (const m of migrations)
      if (BigInt(m.id) <= version) applied.set(m.id, `at or below version ${version}`);
    return { applied, problems: [] };
  },
};
