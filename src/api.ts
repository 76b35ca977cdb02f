/**
 * schemata's programmatic API: the CLI's commands as functions that take
 * options and return the report of SPEC §8. They do not throw for a failed
 * run: check `ok` and `exitCode`.
 */
import { gatherAndPlan, migrateTasks } from './run/migrate.js';
import type { RunOptions } from './run/context.js';
import { execute } from './run/execute.js';
import { EXIT } from './errors.js';
import { entryOf, type Report } from './run/report.js';
import type { Task } from './run/tasks.js';

export type { RunOptions } from './run/context.js';
export type { MigrationEntry, Report, SetReport } from './run/report.js';
export type { Problem, ProblemKind } from './plan/plan.js';
export type { Task, TaskRunner } from './run/tasks.js';
export { EXIT, SchemataError } from './errors.js';

/**
 * Applies the pending migrations of each set (all by default), each set on
 * its database, with validation before and after.
 *
 * @example
 * const report = await migrate({ env: { PRIMARY_DATABASE_URL: process.env.DATABASE_URL } });
 * if (!report.ok) throw new Error(report.error?.message);
 */
export function migrate(options: RunOptions = {}): Promise<Report> {
  return execute('migrate', options, migrateTasks);
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
  const problems = report.sets.flatMap((s) => s.problems);
  if (report.ok && problems.length > 0) {
    report.ok = false;
    report.exitCode = EXIT.invalid;
    report.error = { message: `Validation found ${problems.length} problem${problems.length === 1 ? '' : 's'}.`, hint: problems[0]!.hint };
  }
  return report;
}

/** status and validate: read each set, decide, write nothing. `parse` also checks that pending files parse. */
function readOnlyTasks(run: Parameters<typeof migrateTasks>[0], reports: Parameters<typeof migrateTasks>[1], parse: boolean): Task[] {
  return run.sets.map((set) => {
    const report = reports.get(set.config.name)!;
    return {
      title: `${set.config.name} → ${set.target.display}`,
      run: async () => {
        const { tracked } = await gatherAndPlan(run, set, report, { lock: false, parse });
        report.applied = tracked.filter((t) => t.state === 'applied').map((t) => entryOf(t, t.durationMs));
      },
    };
  });
}
