import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
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
  /** SHA-256 of the text with LF line endings and no byte-order mark, as Flyway's: a checkout with CRLF is the same migration. */
  checksum: string;
  /** SHA-256 of the bytes (schemata 0.2 and before): a row that has it still matches. */
  rawChecksum: string;
  /** The file's text, without a byte-order mark. */
  sql: string;
}

// File names, not SQL: a regular expression is the right tool here.
const MIGRATION_NAME = /^(\d+)_([^/\\]+)\.sql$/;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Splits a migration file name; undefined when it is not one. */
export function parseMigrationFileName(
  file: string,
): { version: string; name: string } | undefined {
  const match = MIGRATION_NAME.exec(file);
  if (!match) return undefined;
  return { version: BigInt(match[1]!).toString(), name: match[2]! };
}

/**
 * Orders two versions (strings of digits) as the numbers they are, whatever
 * their length; leading zeros do not count. Compared digit by digit, not as
 * BigInts: sorting a thousand files parsed some 20,000 of them.
 */
export function compareVersions(a: string, b: string): number {
  let i = 0;
  while (i < a.length - 1 && a.charCodeAt(i) === 48) i++;
  let j = 0;
  while (j < b.length - 1 && b.charCodeAt(j) === 48) j++;
  const digits = a.length - i - (b.length - j);
  if (digits !== 0) return Math.sign(digits);
  for (; i < a.length; i++, j++) {
    const d = a.charCodeAt(i) - b.charCodeAt(j);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/**
 * A file name for a migration of a set, after its last version (the width of
 * its versions kept: `004_x.sql` after `003`), that no file of the folder has.
 */
export function suggestedName(
  versions: readonly string[],
  files: readonly string[],
  name: string,
): string {
  const widest = Math.max(3, ...files.map((f) => /^(\d+)_/.exec(f)?.[1]!.length ?? 0));
  let next = versions.reduce((max, v) => (BigInt(v) > max ? BigInt(v) : max), 0n) + 1n;
  const used = new Set(versions);
  while (
    used.has(next.toString()) ||
    files.includes(`${next.toString().padStart(widest, '0')}_${name}.sql`)
  )
    next += 1n;
  return `${next.toString().padStart(widest, '0')}_${name}.sql`;
}

/** Whether a tracked checksum is this file's (its text's, or its bytes' as schemata 0.2 and before took it). */
export function sameChecksum(
  file: Pick<MigrationFile, 'checksum' | 'rawChecksum'>,
  tracked: string,
): boolean {
  return tracked === file.checksum || tracked === file.rawChecksum;
}

/**
 * From this length on, a file's parsing takes long enough for V8's optimizing
 * compiler to repay itself: bin/schemata.js leaves it off for the short files
 * most runs read, and a seed of 50,000 INSERTs (3.7 MiB) took 30% longer
 * without it (3.0 against 2.3 s). On is V8's default: where schemata is used
 * as a library, turning it on changes nothing.
 */
const OPTIMIZED_FROM_BYTES = 256 * 1024;

/** A migration file's text and checksums, read from its path. */
function readContent(
  set: SetConfig,
  file: string,
  path: string,
): Pick<MigrationFile, 'sql' | 'checksum' | 'rawChecksum'> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw unreadable(set, path, file, error);
  }
  let sql: string;
  try {
    sql = utf8.decode(bytes);
  } catch (error) {
    throw new ConfigError(
      `Set "${set.name}": ${path} is not valid UTF-8.`,
      'Save the file as UTF-8.',
      {
        cause: error,
      },
    );
  }
  if (bytes.length >= OPTIMIZED_FROM_BYTES) setFlagsFromString('--opt');
  const checksum = createHash('sha256').update(sql.replace(/\r\n?/g, '\n')).digest('hex');
  // Without a byte-order mark or a carriage return, the bytes are the text's own: one hash is both.
  const sameBytes = bytes.length === Buffer.byteLength(sql) && !sql.includes('\r');
  return {
    checksum,
    rawChecksum: sameBytes ? checksum : createHash('sha256').update(bytes).digest('hex'),
    sql, // TextDecoder drops a byte-order mark
  };
}

/**
 * A file of the set's folder: its text and checksums are read when first asked for, so that a run reads them
 * while the server answers its first questions (engine/plan-set.ts readContents) instead of before it connects.
 * Getters of the literal itself: a copy ({ ...file }) has them as values, and every file shares one shape.
 */
function migrationFile(
  set: SetConfig,
  file: string,
  path: string,
  parsed: { version: string; name: string },
): MigrationFile {
  let content: Pick<MigrationFile, 'sql' | 'checksum' | 'rawChecksum'> | undefined;
  const read = () => (content ??= readContent(set, file, path));
  return {
    version: parsed.version,
    name: parsed.name,
    file,
    path,
    get sql() {
      return read().sql;
    },
    get checksum() {
      return read().checksum;
    },
    get rawChecksum() {
      return read().rawChecksum;
    },
  };
}

/** The path of a file the folder `dir` lists: joined once (a listed name holds no separator, and is never . or ..). */
const inFolder = (dir: string) => {
  const prefix = join(dir, '_').slice(0, -1);
  return (file: string) => prefix + file;
};

/** Reads the files' text now (each once), for their checksums: an unreadable one throws its ConfigError here. */
export function readContents(files: Iterable<MigrationFile>): string[] {
  return Array.from(files, (f) => f.checksum);
}

/** The longest file name most file systems take (ext4, APFS, NTFS: 255 bytes). */
export const NAME_MAX_BYTES = 255;

/**
 * A path the file system refuses as too long (ENAMETOOLONG), as one paragraph
 * naming it (exit 2): its file name over 255 bytes, or else the whole path
 * over the system's limit (4,096 bytes on Linux).
 */
export function nameTooLong(set: string, path: string, name: string, cause?: unknown): ConfigError {
  const bytes = Buffer.byteLength(name);
  return bytes > NAME_MAX_BYTES
    ? new ConfigError(
        `Set "${set}": the file name ${name} is ${bytes} bytes long, and file systems take at most ${NAME_MAX_BYTES} (in ${dirname(path)}).`,
        'Give it a shorter name: a few words say what the migration does.',
        { cause },
      )
    : new ConfigError(
        `Set "${set}": the path ${path} is ${Buffer.byteLength(path)} bytes long, more than the file system takes.`,
        'Move the project to a folder with a shorter path.',
        { cause },
      );
}

/**
 * A migration file that cannot be read, as one paragraph naming its path
 * (exit 2): a symbolic link whose target is gone, a name the file system
 * refuses, a file the user may not read.
 */
function unreadable(set: SetConfig, path: string, file: string, error: unknown): ConfigError {
  const code = (error as { code?: string }).code;
  if (code === 'ENOENT') {
    let target: string | undefined;
    try {
      target = readlinkSync(path);
    } catch {
      target = undefined;
    }
    return new ConfigError(
      target === undefined
        ? `Set "${set.name}": ${path} was listed in ${set.dir} but is gone: it was removed or renamed while schemata read the folder.`
        : `Set "${set.name}": ${path} is a symbolic link to ${target}, which does not exist, so the migration cannot be read.`,
      target === undefined
        ? 'Run the command again once the folder holds the files it should.'
        : `Restore ${target}, or remove the link if it is not a migration of this set: rm ${path}`,
      { cause: error },
    );
  }
  if (code === 'ENAMETOOLONG') return nameTooLong(set.name, path, file, error);
  const why =
    code === 'EACCES' || code === 'EPERM'
      ? 'permission denied'
      : code === 'EISDIR'
        ? 'it is a directory'
        : code === 'ELOOP'
          ? 'it is a symbolic link that leads back to itself'
          : error instanceof Error
            ? error.message
            : String(error);
  return new ConfigError(
    `Set "${set.name}": ${path} cannot be read: ${why}.`,
    code === 'EACCES' || code === 'EPERM'
      ? `Let the user that runs schemata read it (chmod a+r ${path}).`
      : `Make ${path} a migration file, or move it out of ${set.dir}.`,
    { cause: error },
  );
}

// A down file's name: the migration's, with `.down` before `.sql`.
const DOWN_NAME = /^(\d+)_([^/\\]+)\.down\.sql$/i;

/** A hidden file is never a migration: macOS's `._001_x.sql` (AppleDouble, from a zip or a share), an editor's `.#` lock. */
const isHidden = (file: string) => file.startsWith('.');

/**
 * The down files of a set (SPEC §12), by the version of the migration each
 * undoes: `004_add_index.down.sql` undoes `004_add_index.sql`.
 */
export function discoverDowns(set: SetConfig): Map<string, MigrationFile> {
  const downs = new Map<string, MigrationFile>();
  const pathOf = inFolder(set.dir);
  for (const file of readdirSync(set.dir).sort()) {
    if (isHidden(file)) continue;
    const match = DOWN_NAME.exec(file);
    if (!match) continue;
    downs.set(
      BigInt(match[1]!).toString(),
      migrationFile(set, file, pathOf(file), {
        version: BigInt(match[1]!).toString(),
        name: match[2]!,
      }),
    );
  }
  return downs;
}

/** The down file's name for a migration file's name. */
export const downFileName = (file: string): string => file.replace(/\.sql$/i, '.down.sql');

/**
 * Lists a set's migration files in version order (numeric: 1, 2, 10).
 * A `.sql` file whose name does not fit, or two files with one version, is a
 * ConfigError; other files (README.md) are ignored.
 */
export function discoverMigrations(set: SetConfig): MigrationFile[] {
  let entries: string[];
  try {
    const listed = readdirSync(set.dir, { withFileTypes: true });
    // Only the set's own folder is read: .sql files in a sub-folder would silently never run.
    for (const folder of listed.filter((e) => e.isDirectory())) {
      const inside = readdirSync(join(set.dir, folder.name)).filter((f) =>
        f.toLowerCase().endsWith('.sql'),
      );
      if (inside.length > 0) {
        throw new ConfigError(
          `Set "${set.name}": ${join(set.dir, folder.name)} holds ${inside.length} .sql file${inside.length === 1 ? '' : 's'} (${inside.slice(0, 3).join(', ')}), but only ${set.dir} itself is read: they would never run.`,
          `Move them into ${set.dir}, or out of it if they are not migrations of this set.`,
        );
      }
    }
    entries = listed.filter((e) => !e.isDirectory()).map((e) => e.name);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(
      `Set "${set.name}": cannot read its directory ${set.dir}: ${(error as Error).message}.`,
      undefined,
      {
        cause: error,
      },
    );
  }
  const files: MigrationFile[] = [];
  const byVersion = new Map<string, string>();
  const pathOf = inFolder(set.dir);
  // Every version the folder holds, so that a suggested new name never collides with one.
  const taken = entries.flatMap((f) => parseMigrationFileName(f)?.version ?? []);
  for (const file of entries.sort()) {
    if (isHidden(file) || !file.toLowerCase().endsWith('.sql')) continue;
    // <version>_<name>.down.sql undoes its migration (SPEC §12): not a migration of its own.
    if (file.toLowerCase().endsWith('.down.sql')) continue;
    const parsed = parseMigrationFileName(file);
    if (!parsed) {
      const stem =
        file
          .replace(/\.sql$/i, '')
          .replace(/^[\d\W_]+/, '')
          .replace(/\W+/g, '_') || 'migration';
      throw new ConfigError(
        `Set "${set.name}": ${join(set.dir, file)} is not named <version>_<name>.sql (version: leading digits).`,
        `Rename it to <version>_<name>.sql, e.g. ${suggestedName(taken, entries, stem)}, or create files with "schemata create ${set.name} <name>".`,
      );
    }
    const twin = byVersion.get(parsed.version);
    if (twin !== undefined) {
      throw new ConfigError(
        `Set "${set.name}": ${file} and ${twin} have the same version ${parsed.version}; each version must be unique in a set.`,
        `Give one of them a new version: rename ${file} to ${suggestedName(taken, entries, parsed.name)}, or write it anew with "schemata create ${set.name} <name>".`,
      );
    }
    byVersion.set(parsed.version, file);
    files.push(migrationFile(set, file, pathOf(file), parsed));
  }
  return files.sort((a, b) => compareVersions(a.version, b.version));
}
