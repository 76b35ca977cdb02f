import { createHash } from 'node:crypto';
import { mkdirSync, realpathSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  discoverMigrations,
  downFileName,
  NAME_MAX_BYTES,
  nameTooLong,
} from '../config/discover.js';
import { loadProjectConfig, selectSets } from '../config/file.js';
import { ConfigError } from '../errors.js';

/** `20251123182400`: the UTC version of a new migration. */
export function versionAt(now: Date): string {
  return now.toISOString().replace(/\D/g, '').slice(0, 14);
}

export function migrationTemplate(
  set: { name: string; schemas: readonly string[] },
  name: string,
  now: Date,
): string {
  return `-- Migration: ${name}
-- Set: ${set.name} (schemas ${set.schemas.join(', ')})
-- Created: ${now.toISOString().slice(0, 19)}Z
--
-- Purpose: what this migration changes, and why.
--
-- Rollback: a file beside it named like it, ending in .down.sql, undoes it
-- (schemata create --down writes both); schemata rollback checks that it does.
-- Without one, undo it with a new migration that reverses it.
--
-- Keep it re-runnable, so that "schemata migrate ${set.name} --repair" can run it
-- again: CREATE ... IF NOT EXISTS, ADD COLUMN IF NOT EXISTS,
-- INSERT ... ON CONFLICT DO NOTHING, and DO blocks guarded by catalog checks.

`;
}

export function downTemplate(set: { name: string }, file: string, now: Date): string {
  return `-- Down of ${file} (set ${set.name}), written ${now.toISOString().slice(0, 19)}Z
--
-- Undo exactly what ${file} does, in the reverse order: drop what it
-- creates, re-create what it drops, rename back what it renames.
-- schemata rollback ${set.name} runs it in one transaction and rolls it back
-- unless the catalog is then as it was before ${file};
-- schemata rollback ${set.name} --check proves it on a scratch database.

`;
}

/**
 * Writes `<set dir>/<UTC yyyymmddHHMMSS>_<name>.sql` from the template (with
 * `down`, its `.down.sql` too) and returns its path. Refuses a name that is not lower-case words; a version the
 * set already has is moved on to the next free second, so the name never collides.
 */
export function createMigration(options: {
  cwd: string;
  config?: string | undefined;
  set: string;
  name: string;
  now?: Date;
  down?: boolean;
}): string {
  const now = options.now ?? new Date();
  const project = loadProjectConfig({ cwd: options.cwd, configPath: options.config });
  const [set] = selectSets(project, [options.set]);
  const name = options.name
    .trim()
    .normalize('NFC')
    // CamelCase words stay words: AddItems is add_items, not additems.
    .replace(/(\p{Ll}|\p{Nd})(\p{Lu})/gu, '$1_$2')
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
  // Letters of any script (añadir_índice), digits and underscores: what a file name and a grep take as they are.
  if (!/^[\p{L}\p{Nd}][\p{L}\p{M}\p{Nd}_]*$/u.test(name)) {
    throw new ConfigError(
      `"${options.name}" is not a usable migration name: use letters, digits and underscores.`,
      `For example: schemata create ${options.set} add_customer_email`,
    );
  }
  // Creates running at once (parallel scripts, several terminals) take turns: each sees the others' versions.
  return whileHolding(createLock(set!.dir), () => {
    // The set already has this second's version (two creates in one second, a file dated ahead): the next free second.
    const taken = new Set(discoverMigrations(set!).map((f) => f.version));
    let at = now;
    let version = versionAt(at);
    while (taken.has(BigInt(version).toString())) {
      at = new Date(at.getTime() + 1000);
      version = versionAt(at);
    }
    const file = `${version}_${name}.sql`;
    const path = join(set!.dir, file);
    // Said before writing: the file system would refuse it with a bare ENAMETOOLONG.
    const longest = options.down ? downFileName(file) : file;
    if (Buffer.byteLength(longest) > NAME_MAX_BYTES) {
      const room = NAME_MAX_BYTES - Buffer.byteLength(longest) + Buffer.byteLength(name);
      const error = nameTooLong(set!.name, join(set!.dir, longest), longest);
      throw new ConfigError(
        `${error.message} Its name may be ${room} characters (letters, digits, _).`,
        `Give it a shorter name, e.g.: schemata create ${set!.name} ${name.slice(0, 40).replace(/_+$/, '')}`,
      );
    }
    try {
      writeFileSync(path, migrationTemplate(set!, name, now), { flag: 'wx' });
      if (options.down)
        writeFileSync(join(set!.dir, downFileName(file)), downTemplate(set!, file, now), {
          flag: 'wx',
        });
    } catch (error) {
      // A path over the system's limit (a deep project folder), though the name fits.
      if ((error as { code?: string }).code === 'ENAMETOOLONG')
        throw nameTooLong(set!.name, path, file, error);
      throw error;
    }
    return path;
  });
}

/** The lock of one set directory's creates: a directory, made atomically, outside the project. */
function createLock(dir: string): string {
  const key = createHash('sha256').update(realpathSync(dir)).digest('hex').slice(0, 16);
  return join(tmpdir(), `schemata-create-${key}.lock`);
}

/** Runs `work` while holding `lock`; a lock older than 10 s was left by a create that died, and is taken over. */
function whileHolding<T>(lock: string, work: () => T): T {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 10_000 || Date.now() > deadline) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
  try {
    return work();
  } finally {
    rmdirSync(lock);
  }
}
