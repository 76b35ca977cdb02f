/**
 * schemata's programmatic API: the CLI's commands as functions that take
 * options and return the report of SPEC §8. They do not throw for a failed
 * run: check `ok` and `exitCode`. Each lives with its command in
 * commands/<name>.ts; baseline and lint load theirs on first use.
 */
import type { LintOptions, LintReport } from './commands/lint.js';
import type { Report } from './engine/report.js';
import type { BaselineOptions } from './commands/baseline.js';
import type { ImportOptions, ImportReport } from './commands/import.js';
import type { RollbackOptions } from './commands/rollback.js';

export type { RunOptions } from './engine/context.js';
export type { MigrationEntry, PlannedMigration, Report, SetReport } from './engine/report.js';
export type { Problem, ProblemKind } from './model/plan.js';
export type { Task, TaskRunner } from './engine/tasks.js';
export type { LintOptions, LintReport } from './commands/lint.js';
export type { MigrateOptions } from './commands/migrate.js';
export type { BaselineOptions } from './commands/baseline.js';
export type { ImportOptions, ImportReport } from './commands/import.js';
export type { RollbackOptions } from './commands/rollback.js';
export { EXIT, SchemataError } from './errors.js';
export { migrate } from './commands/migrate.js';
export { status, validate } from './commands/status.js';

/**
 * Adopts a database that already has the objects: records the set's
 * migrations up to `version` (default: all) as applied without running them,
 * after checking that what they make exists (refused, exit 3, unless `force`).
 * With `from` (a tool `importHistory` imported from): exactly the migrations
 * that tool's table says ran on this database.
 *
 * @example
 * const report = await baseline({ set: 'data', version: '3' });
 */
export async function baseline(options: BaselineOptions): Promise<Report> {
  return (await import('./commands/baseline.js')).baseline(options);
}

/**
 * Writes another tool's migrations as a set's files (SPEC §11), in the
 * tool's order, with down files and the manifest `baseline --from` reads.
 * Fails (exit 2, nothing written) when a migration cannot be converted, the
 * folder is missing or the set already has migrations.
 *
 * @example
 * const { files } = await importHistory({ tool: 'drizzle', set: 'data' });
 */
export async function importHistory(options: ImportOptions): Promise<ImportReport> {
  return (await import('./commands/import.js')).importHistory(options);
}

/**
 * Parses every migration file with the real PostgreSQL parser and runs the
 * lint rules (SPEC §6). Needs no database.
 *
 * @example
 * const report = await lint({ maxWarnings: 0 });
 * for (const set of report.sets) for (const f of set.findings) console.log(f.file, f.at.line, f.rule);
 */
export async function lint(options: LintOptions = {}): Promise<LintReport> {
  return (await import('./commands/lint.js')).lint(options);
}

/**
 * Runs the down files of the newest applied migrations of one set (SPEC §12),
 * newest first, each in its own transaction, checked against what its up
 * did: a down that does not undo it is rolled back and named (exit 3).
 *
 * @example
 * const report = await rollback({ set: 'data', steps: 1 });
 */
export async function rollback(options: RollbackOptions): Promise<Report> {
  return (await import('./commands/rollback.js')).rollback(options);
}
