import { discoverDowns } from '../config/discover.js';
import { EXIT } from '../errors.js';
import type { Run, RunOptions } from './context.js';
import { execute } from './execute.js';
import { planSet, readSteadily } from './plan-set.js';
import { entryOf, failOnProblems, type Report, type SetReport } from './report.js';
import type { Task } from './tasks.js';
import { type FleetOptions, fleetFlagsAlone, isFleet, runFleet } from './fleet.js';

/** The run behind commands/status.ts: each set (or tenant) read, nothing written. */
export async function status(
  options: RunOptions & FleetOptions & { check?: boolean | undefined } = {},
): Promise<Report> {
  const report = await (async () => {
    if (isFleet(options))
      return runFleet('status', options, (one) => status({ ...options, ...one, check: false }));
    const misused = fleetFlagsAlone('status', options);
    if (misused) return misused;
    return execute('status', options, (run, reports) => readOnlyTasks(run, reports, false));
  })();
  // --check: the listing, and validate's exit code for its problems (a deploy's health check that also shows the state).
  if (options.check && report.ok && report.sets.some((s) => s.problems.length > 0))
    failOnProblems(report, EXIT.invalid);
  return report;
}

/** The run behind commands/status.ts's validate. */
export async function validate(options: RunOptions & FleetOptions = {}): Promise<Report> {
  if (isFleet(options)) {
    const report = await runFleet('validate', options, (one) => validate({ ...options, ...one }));
    if (report.ok && report.sets.some((s) => s.problems.length > 0))
      failOnProblems(report, EXIT.invalid);
    return report;
  }
  const misused = fleetFlagsAlone('validate', options);
  if (misused) return misused;
  const report = await execute('validate', options, (run, reports) =>
    readOnlyTasks(run, reports, true),
  );
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
        // status shows whether each schema holds data; validate need not ask every table. Nothing locked:
        // another run may write the tracking while this one reads it, then the catalog.
        const { tracked } = await readSteadily(
          run,
          set,
          report,
          () => planSet(run, set, report, { lock: false, judge, force: false, withData: !judge }),
          true,
        );
        // Which applied migrations rollback can undo (SPEC §12): those with a down file.
        const downs = discoverDowns(set.config);
        report.applied = tracked
          .filter((t) => t.state === 'applied')
          .map((t) => ({
            ...entryOf(t, t.durationMs),
            appliedAt: t.appliedAt.toISOString(),
            event: t.event,
            ...(t.from === undefined ? {} : { from: t.from }),
            down: downs.has(t.version),
          }));
      },
    };
  });
}
