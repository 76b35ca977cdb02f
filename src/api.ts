/**
 * schemata's programmatic API: the CLI's commands as functions that take
 * options and return the report of SPEC §8. They do not throw for a failed
 * run: check `ok` and `exitCode`. Each lives with its command in
 * commands/<name>.ts and loads its engine on first use.
 */
export type { RunOptions } from './engine/context.js';
export type { MigrationEntry, PlannedMigration, Report, SetReport } from './engine/report.js';
export type { Problem, ProblemKind } from './model/plan.js';
export type { Task, TaskRunner } from './engine/tasks.js';
export { EXIT, SchemataError } from './errors.js';
export { migrate, type MigrateOptions } from './commands/migrate.js';
export { status, validate } from './commands/status.js';
export { baseline, type BaselineOptions } from './commands/baseline.js';
export { importHistory, type ImportOptions, type ImportReport } from './commands/import.js';
export { lint, type LintOptions, type LintReport } from './commands/lint.js';
export { rollback, type RollbackOptions } from './commands/rollback.js';
