import { discoverDowns } from '../config/discover.js';
import { EXIT } from '../errors.js';
import type { Run, RunOptions, SetRun } from './context.js';
import { execute } from './execute.js';
import { planSet, readSteadily, type SetPlan } from './plan-set.js';
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
  // Every set is read at once, when the first set's task starts: the sets of one database side by side on its
  // session while the catalog is listed beside it. Each set's task shows its own reading, or what stopped it.
  let readings: Map<string, Promise<SetPlan>> | undefined;
  const readingOf = (set: SetRun) => {
    readings ??= new Map(
      run.sets.map((one) => {
        const report = reports.get(one.config.name)!;
        // status shows whether each schema holds data; validate need not ask every table. Nothing locked:
        // another run may write the tracking while this one reads it, then the catalog.
        const reading = readSteadily(
          run,
          one,
          report,
          () => planSet(run, one, report, { lock: false, judge, force: false, withData: !judge }),
          true,
        );
        reading.catch(() => undefined);
        return [one.config.name, reading];
      }),
    );
    return readings.get(set.config.name)!;
  };
  return run.sets.map((set) => {
    const report = reports.get(set.config.name)!;
    return {
      title: `${set.config.name} → ${set.target.display}`,
      run: async () => {
        const { tracked } = await readingOf(set);
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
