import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import type { SetConfig } from './file.js';

export interface MigrationFile {
  /** Leading digits of the file name without leading zeros: the tracking key. */
  version: string;
  /** What follows the version: `002_config_tables.sql` → `config_tables`. */
  name: string;
  /** The file name, `002_config_tables.sql`. */
  file: string;
  path: string;
  /** sha-256 of the file's bytes, hex. */
  checksum: string;
  /** The file's text, without a byte-order mark. */
  sql: string;
}

// File names, not SQL: a regular expression is the right tool here.
const MIGRATION_NAME = /^(\d+)_([^/\\]+)\.sql$/;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Splits a migration file name; undefined when it is not one. */
export function parseMigrationFileName(file: string): { version: string; name: string } | undefined {
  const match = MIGRATION_NAME.exec(file);
  if (!match) return undefined;
  return { version: BigInt(match[1]!).toString(), name: match[2]! };
}

export function compareVersions(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Lists a set's migration files in version order (numeric: 1, 2, 10).
 * A `.sql` file whose name does not fit, or two files with one version, is a
 * ConfigError; other files (README.md) are ignored.
 */
export function discoverMigrations(set: SetConfig): MigrationFile[] {
  let entries: string[];
  try {
    entries = readdirSync(set.dir);
  } catch (error) {
    throw new ConfigError(`Set "${set.name}": cannot read its directory ${set.dir}: ${(error as Error).message}.`, undefined, {
      cause: error,
    });
  }
  const files: MigrationFile[] = [];
  const byVersion = new Map<string, string>();
  for (const file of entries.sort()) {
    if (!file.toLowerCase().endsWith('.sql')) continue;
    const parsed = parseMigrationFileName(file);
    if (!parsed) {
      throw new ConfigError(
        `Set "${set.name}": ${join(set.dir, file)} is not named <version>_<name>.sql (version: leading digits).`,
        `Rename it to <version>_<name>.sql (e.g. 003_${file.replace(/\.sql$/i, '')}.sql), or create files with "schemata create ${set.name} <name>".`,
      );
    }
    const twin = byVersion.get(parsed.version);
    if (twin !== undefined) {
      throw new ConfigError(
        `Set "${set.name}": ${file} and ${twin} have the same version ${parsed.version}; each version must be unique in a set.`,
        `Give one of them a new version, e.g. with "schemata create ${set.name} <name>".`,
      );
    }
    byVersion.set(parsed.version, file);
    const path = join(set.dir, file);
    const bytes = readFileSync(path);
    let sql: string;
    try {
      sql = utf8.decode(bytes);
    } catch (error) {
      throw new ConfigError(`Set "${set.name}": ${path} is not valid UTF-8.`, 'Save the file as UTF-8.', { cause: error });
    }
    files.push({
      ...parsed,
      file,
      path,
      checksum: createHash('sha256').update(bytes).digest('hex'),
      sql, // TextDecoder drops a byte-order mark
    });
  }
  return files.sort((a, b) => compareVersions(a.version, b.version));
}
