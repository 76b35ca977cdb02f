import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { discoverMigrations } from '../../config/discover.js';
import { loadProjectConfig, selectSets } from '../../config/file.js';
import { ConfigError } from '../../errors.js';

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
-- Rollback: schemata has no down migrations. To undo this change, write a
-- new migration that reverses it, and say here what it would have to do.
--
-- Keep it re-runnable, so that "schemata migrate ${set.name} --repair" can run it
-- again: CREATE ... IF NOT EXISTS, ADD COLUMN IF NOT EXISTS,
-- INSERT ... ON CONFLICT DO NOTHING, and DO blocks guarded by catalog checks.

`;
}

/**
 * Writes `<set dir>/<UTC yyyymmddHHMMSS>_<name>.sql` from the template and
 * returns its path. Refuses a name that is not lower-case words; a version the
 * set already has is moved on to the next free second, so the name never collides.
 */
export function createMigration(options: {
  cwd: string;
  config?: string | undefined;
  set: string;
  name: string;
  now?: Date;
}): string {
  const now = options.now ?? new Date();
  const project = loadProjectConfig({ cwd: options.cwd, configPath: options.config });
  const [set] = selectSets(project, [options.set]);
  const name = options.name
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
  if (!/^[a-z0-9][a-z0-9_]*$/.test(name)) {
    throw new ConfigError(
      `"${options.name}" is not a usable migration name: use letters, digits and underscores.`,
      `For example: schemata create ${options.set} add_customer_email`,
    );
  }
  // The set already has this second's version (two creates in one second, a file dated ahead): the next free second.
  const taken = new Set(discoverMigrations(set!).map((f) => f.version));
  let at = now;
  let version = versionAt(at);
  while (taken.has(BigInt(version).toString())) {
    at = new Date(at.getTime() + 1000);
    version = versionAt(at);
  }
  const path = join(set!.dir, `${version}_${name}.sql`);
  writeFileSync(path, migrationTemplate(set!, name, now), { flag: 'wx' });
  return path;
}
