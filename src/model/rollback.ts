import { compareVersions, downFileName, type MigrationFile } from '../config/discover.js';
import { ConfigError } from '../errors.js';
import type { TrackedMigration } from '../engine/tracking.js';

/** What `rollback` was asked for: the newest `steps` applied migrations, or every one after `to`. */
export interface RollbackRequest {
  steps?: number | undefined;
  to?: string | undefined;
}

/** The migrations to roll back, newest first, each with its down; and what stays. */
export interface RollbackChoice {
  targets: Array<{ migration: TrackedMigration; down: MigrationFile }>;
  /** The newest migration that stays applied ('0': none): the `--to` that goes on after a failure. */
  keep: string;
}

const VERSION = /^\d+$/;

/**
 * Chooses what `rollback <set>` undoes (SPEC §12), from tracking and the down
 * files. Pure. A request that names nothing applied, or a migration without a
 * down file, is a ConfigError (exit 2): nothing runs.
 */
export function chooseRollback(
  set: string,
  tracked: readonly TrackedMigration[],
  downs: ReadonlyMap<string, MigrationFile>,
  request: RollbackRequest,
): RollbackChoice {
  if (request.steps !== undefined && request.to !== undefined)
    throw new ConfigError(
      `rollback takes --steps or --to, not both (--steps ${request.steps} --to ${request.to}).`,
      `Say how far with one of them: schemata rollback ${set} --to ${request.to}`,
    );
  const applied = tracked
    .filter((t) => t.state === 'applied')
    .sort((a, b) => compareVersions(a.version, b.version));
  const shown = applied.map((t) => t.version).join(', ') || 'none';
  let targets: TrackedMigration[];
  if (request.to !== undefined) {
    if (!VERSION.test(request.to))
      throw new ConfigError(
        `--to ${request.to} is not a version: give the leading digits of a migration's file name (004 for 004_add_index.sql), or 0 to roll back every one.`,
        `Run: schemata status ${set} to see the applied versions.`,
      );
    const to = BigInt(request.to).toString();
    if (to !== '0' && !applied.some((t) => t.version === to))
      throw new ConfigError(
        `Set "${set}": --to ${request.to} names no applied migration (applied: ${shown}). Nothing ran.`,
        `Give the version that is to stay applied, or 0 for none: schemata rollback ${set} --to ${applied[applied.length - 1]?.version ?? '0'}`,
      );
    targets = applied.filter((t) => compareVersions(t.version, to) > 0).reverse();
  } else {
    const steps = request.steps ?? 1;
    if (!Number.isInteger(steps) || steps < 1)
      throw new ConfigError(
        `--steps ${String(request.steps)} is not a positive whole number.`,
        `Say how many migrations to roll back: schemata rollback ${set} --steps 1`,
      );
    if (steps > applied.length)
      throw new ConfigError(
        `Set "${set}": --steps ${steps} asks for more than the ${applied.length} applied migration${applied.length === 1 ? '' : 's'} (${shown}). Nothing ran.`,
        `Roll back every one with: schemata rollback ${set} --to 0`,
      );
    targets = applied.slice(applied.length - steps).reverse();
  }
  const newest = tracked[tracked.length - 1];
  if (targets.length > 0 && newest && newest.state !== 'applied')
    throw new ConfigError(
      `Set "${set}": ${newest.file} is ${newest.state === 'failed' ? 'failed' : 'still running or was killed'} outside a transaction; what it did is not known, so nothing is rolled back under it. Nothing ran.`,
      `Finish it first (schemata migrate ${set} --repair), then roll back.`,
    );
  const lacking = targets.filter((t) => !downs.has(t.version));
  if (lacking.length > 0)
    throw new ConfigError(
      `Set "${set}": ${lacking.map((t) => t.file).join(', ')} cannot be rolled back: ${lacking.length === 1 ? 'it has' : 'they have'} no down file (${lacking.map((t) => downFileName(t.file)).join(', ')}). Nothing ran.`,
      `Write ${downFileName(lacking[0]!.file)} beside ${lacking[0]!.file}, with the SQL that undoes it, then run the command again.`,
    );
  const keep =
    applied
      .filter((t) => !targets.includes(t))
      .reduce<string | undefined>((_, t) => t.version, undefined) ?? '0';
  return { targets: targets.map((t) => ({ migration: t, down: downs.get(t.version)! })), keep };
}
