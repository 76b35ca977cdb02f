import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { crc32 } from 'node:zlib';
import {
  type HistoryRow,
  type ImportedMigration,
  type SourceMigration,
  type Tool,
  type Unconvertible,
  textOf,
} from './tool.js';

// Flyway's default naming: V<version>__<description>.sql, U for its undo, R for repeatable.
const VERSIONED = /^([VU])(\d+(?:[._]\d+)*)__(.+)\.sql$/;

/** Flyway's version: numeric parts split on dots or underscores, trailing zeros not counting (1.0 is 1). */
export function flywayVersion(text: string): string {
  const parts = text.split(/[._]/).map((p) => BigInt(p));
  while (parts.length > 1 && parts[parts.length - 1] === 0n) parts.pop();
  return parts.join('.');
}

function compareFlyway(a: string, b: string): number {
  const x = a.split('.').map(BigInt);
  const y = b.split('.').map(BigInt);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0n) - (y[i] ?? 0n);
    if (d !== 0n) return d < 0n ? -1 : 1;
  }
  return 0;
}

/**
 * Flyway's checksum (ChecksumCalculator): CRC-32 over the script's lines
 * without their line endings, the byte-order mark stripped, as a signed
 * 32-bit integer.
 */
export function flywayChecksum(bytes: Buffer): number {
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  const unsigned = crc32(Buffer.from(text.replace(/\r\n|\r|\n/g, ''), 'utf8'));
  return unsigned | 0;
}

/**
 * Flyway: `V<version>__<description>.sql` in version order, `U…` its undo.
 * Repeatable (`R__`) and Java migrations cannot become versioned SQL files.
 * Its table `flyway_schema_history` has a row per run, in `installed_rank`
 * order: `success` false is a failure; a BASELINE row counts every version up
 * to it as applied; DELETE and UNDO_SQL rows take a version back.
 */
export const flyway: Tool = {
  name: 'flyway',
  defaultFrom: ['db/migration', 'src/main/resources/db/migration', 'sql'],
  readSource(dir) {
    const unconvertible: Unconvertible[] = [];
    const found = new Map<
      string,
      { digits: string; description: string; up?: string; down?: string }
    >();
    // Flyway scans a location with its sub-folders (its script column keeps the relative path).
    const paths = readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
      .sort();
    for (const path of paths) {
      const name = basename(path);
      if (/^R__/.test(name)) {
        unconvertible.push({ source: path, why: 'a repeatable migration has no version' });
        continue;
      }
      if (/\.(java|kt|class)$/.test(name) && /^[VUR]/.test(name)) {
        unconvertible.push({ source: path, why: 'a Java migration is code' });
        continue;
      }
      if (!name.endsWith('.sql')) continue;
      const match = VERSIONED.exec(name);
      if (!match) {
        unconvertible.push({
          source: path,
          why: 'not a V<version>__<description>.sql migration (a callback?)',
        });
        continue;
      }
      // Flyway replaces ${name} placeholders when it runs a script: the bytes are not what it ran.
      if (/\$\{[^}]+\}/.test(readFileSync(join(dir, path), 'utf8'))) {
        unconvertible.push({
          source: path,
          why: 'it uses Flyway placeholders (${…}), which Flyway replaces as it runs the script',
        });
        continue;
      }
      const version = flywayVersion(match[2]!);
      const entry = found.get(version) ?? { digits: match[2]!, description: match[3]! };
      entry[match[1] === 'V' ? 'up' : 'down'] = path;
      found.set(version, entry);
    }
    const ordered = [...found.entries()].sort(([a], [b]) => compareFlyway(a, b));
    // Whole-number versions are kept; dotted ones are numbered in Flyway's order.
    const whole = ordered.every(([v]) => !v.includes('.'));
    const width = String(ordered.length).length;
    const migrations: SourceMigration[] = [];
    ordered.forEach(([version, entry], i) => {
      if (!entry.up) {
        unconvertible.push({ source: entry.down!, why: 'an undo migration without its V file' });
        return;
      }
      const number = whole ? entry.digits : String(i + 1).padStart(Math.max(width, 3), '0');
      migrations.push({
        id: version,
        source: entry.up,
        file: `${number}_${entry.description}.sql`,
        up: readFileSync(join(dir, entry.up), 'utf8'),
        down: entry.down === undefined ? undefined : readFileSync(join(dir, entry.down), 'utf8'),
      });
    });
    return { migrations, unconvertible };
  },
  table: {
    name: 'flyway_schema_history',
    columns: ['installed_rank', 'version', 'type', 'checksum', 'success'],
  },
  rowsSql: (table) =>
    `SELECT installed_rank, version, description, type, script, checksum, success FROM ${table} ORDER BY installed_rank`,
  judge(rows: readonly HistoryRow[], migrations: readonly ImportedMigration[], text) {
    const byVersion = new Map(migrations.map((m) => [m.id, m]));
    const applied = new Map<string, string>();
    const failed = new Map<string, string>();
    const problems: string[] = [];
    for (const row of rows) {
      if (row.version === null || row.version === undefined) continue; // the schema row, repeatables
      const version = flywayVersion(textOf(row.version));
      const rank = `installed_rank ${textOf(row.installed_rank)}`;
      const type = textOf(row.type);
      if (type === 'BASELINE') {
        for (const m of migrations)
          if (compareFlyway(m.id, version) <= 0)
            applied.set(m.id, `below Flyway's baseline (${rank})`);
        continue;
      }
      if (type === 'DELETE' || type.startsWith('UNDO')) {
        applied.delete(version);
        failed.delete(version);
        continue;
      }
      if (row.success !== true) {
        failed.set(version, `${textOf(row.script)} failed (${rank})`);
        continue;
      }
      failed.delete(version);
      const migration = byVersion.get(version);
      if (!migration) {
        problems.push(
          `${textOf(row.script)} (${rank}): applied by Flyway, but the imported migrations have no version ${version}`,
        );
        continue;
      }
      const sum = flywayChecksum(text(migration.file));
      if (row.checksum !== null && Number(row.checksum) !== sum)
        problems.push(
          `${migration.file}: its checksum ${sum} is not the ${textOf(row.checksum)} Flyway recorded (${rank}): the file was edited since`,
        );
      applied.set(version, rank);
    }
    problems.push(...failed.values());
    return { applied, problems };
  },
};
