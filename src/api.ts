/**
 * schemata's programmatic API: the CLI's commands as functions that take
 * options and return the report of SPEC §8. They do not throw for a failed
 * run: check `ok` and `exitCode`.
 */
import { EXIT } from './errors.js';
import type { Run, RunOptions } from './run/context.js';
import { execute } from './run/execute.js';
import { dryRunTasks, migrateTasks, planSet } from './run/migrate.js';
import { entryOf, failOnProblems, type Report, type SetReport } from './run/report.js';
import type { Task } from './run/tasks.js';

export type { RunOptions } from './run/context.js';
export type { MigrationEntry, PlannedMigration, Report, SetReport } from './run/report.js';
export type { Problem, ProblemKind } from './plan/plan.js';
export type { Task, TaskRunner } from './run/tasks.js';
export type { LintOptions, LintReport } from './run/lint.js';
export { EXIT, SchemataError } from './errors.js';

export interface MigrateOptions extends RunOptions {
  /** Let data protection's refused steps run (SPEC §5). */
  force?: boolean;
  /** Plan only: what would run, what would be refused; writes nothing, takes no lock. */
  dryRun?: boolean;
  /** Make tracking tell the truth for the sets run: re-run migrations whose objects are missing or that did not finish; record changed checksums. */
  repair?: boolean;
}

/**
 * Applies the pending migrations of each set (all by default), each set on
 * its database, with validation before and after and data protection on
 * every destructive step.
 *
 * @example
 * const report = await migrate({ env: { PRIMARY_DATABASE_URL: process.env.DATABASE_URL } });
 * if (!report.ok) throw new Error(report.error?.message);
 */
export async function migrate(options: MigrateOptions = {}): Promise<Report> {
  const force = options.force ?? false;
  if (options.dryRun) {
    const report = await execute('migrate', options, (run, reports) => dryRunTasks(run, reports, { force, repair: options.repair ?? false }));
    failOnProblems(report);
    return report;
  }
  return execute('migrate', options, (run, reports) => migrateTasks(run, reports, { force, repair: options.repair ?? false }));
}

/**
 * Adopts a database that already has the objects: records the set's
 * migrations up to `version` (default: all) as applied without running them,
 * after checking that what they make exists (refused, exit 3, unless `force`).
 *
 * @example
 * const report = await baseline({ set: 'data', version: '3' });
 */
export async function baseline(options: RunOptions & { set: string; version?: string; force?: boolean }): Promise<Report> {
  const { baselineTasks } = await import('./run/baseline.js');
  return execute('baseline', { ...options, sets: [options.set] }, (run, reports) => baselineTasks(run, reports, { version: options.version, force: options.force ?? false }));
}

/**
 * Reads, per set, what is applied and pending, whether each expected schema
 * exists and holds data, and the problems validation would stop on. Writes
 * nothing, takes no lock; `ok` is false only when a database cannot be read.
 *
 * @example
 * const { sets } = await status({ sets: ['data'] });
 * console.log(sets[0].pending.length, 'pending');
 */
export function status(options: RunOptions = {}): Promise<Report> {
  return execute('status', options, (run, reports) => readOnlyTasks(run, reports, false));
}

/**
 * The pre-flight checks of migrate alone: writes nothing, takes no lock, and
 * fails (exitCode 3) when any set has a problem. Fit for a health endpoint.
 *
 * @example
 * const { ok, exitCode } = await validate();
 * res.status(ok ? 200 : 503).json({ exitCode });
 */
export async function validate(options: RunOptions = {}): Promise<Report> {
  const report = await execute('validate', options, (run, reports) => readOnlyTasks(run, reports, true));
  failOnProblems(report, EXIT.invalid);
  return report;
}

/** status and validate: read each set, decide, write nothing. `judge` also judges the pending files' destructive steps. */
function readOnlyTasks(run: Run, reports: Map<string, SetReport>, judge: boolean): Task[] {
  return run.sets.map((set) => {
    const report = reports.get(set.config.name)!;
    return {
      title: `${set.config.name} → ${set.target.display}`,
      run: async () => {
        // status shows whether each schema holds data; validate need not ask every table.
        const { tracked } = await planSet(run, set, report, { lock: false, judge, force: false, withData: !judge });
        report.applied = tracked
          .filter((t) => t.state === 'applied')
          .map((t) => ({ ...entryOf(t, t.durationMs), appliedAt: t.appliedAt.toISOString(), event: t.event }));
      },
    };
  });
}

/**
 * Parses every migration file with the real PostgreSQL parser and runs the
 * lint rules (SPEC §6). Needs no database.
 *
 * @example
 * const report = await lint({ maxWarnings: 0 });
 * for (const set of report.sets) for (const f of set.findings) console.log(f.file, f.at.line, f.rule);
 */
export async function lint(options: import('./run/lint.js').LintOptions = {}): Promise<import('./run/lint.js').LintReport> {
  const { lintSets } = await import('./run/lint.js');
  return lintSets(options);
}
