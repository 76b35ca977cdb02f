import { envValue, parseSplitMode } from '../config/env.js';
import { EXIT, SchemataError } from '../errors.js';
import { maskSecrets } from '../targets/redact.js';
import { openRun, type Run, type RunOptions } from './context.js';
import { newReport, recordError, recordProblem, type Report, type SetReport } from './report.js';
import { runTasks, type Task } from './tasks.js';

/** Anything thrown becomes a SchemataError; a bug gets exit 1 and a way to see more. */
export function asSchemataError(error: unknown, where?: string): SchemataError {
  if (error instanceof SchemataError) return error;
  // Words from elsewhere (the driver, Node): masked where a password may stand in them.
  const message = maskSecrets(error instanceof Error ? error.message : String(error));
  return new SchemataError(
    `${where ? `${where}: ` : ''}${message}${/[.!?]$/.test(message) ? '' : '.'}`,
    EXIT.failed,
    'Run the command again with DEBUG=schemata to see the details.',
    { cause: error },
  );
}

/**
 * Wraps a set's tasks, and the tasks they return, so that an error is listed
 * among that set's problems, and the set's wall time (`ms`) runs from its
 * start to the end of the last of its tasks that ran.
 */
function attributed(task: Task, report: SetReport, started?: number): Task {
  return {
    title: task.title,
    ...(task.refused ? { refused: true } : {}),
    ...(task.live ? { live: true } : {}),
    run: async (setTitle, show) => {
      const start = started ?? performance.now();
      const timed = () => {
        report.ms = Math.round(performance.now() - start);
      };
      try {
        const children = await task.run(setTitle, show);
        timed();
        return children?.map((child) => attributed(child, report, start));
      } catch (error) {
        timed();
        const failure = asSchemataError(error, `Set "${report.name}"`);
        recordProblem(report, failure);
        throw failure;
      }
    },
  };
}

/**
 * Runs one command: gathers (config, env, targets), runs its tasks, and
 * always returns a report: errors become `ok: false` and an exit code, never
 * a throw. Connections and the embedded server are closed whatever happens;
 * every string in the report is masked of passwords (targets/redact.ts).
 */
export async function execute(
  command: string,
  options: RunOptions,
  build: (run: Run, reports: Map<string, SetReport>) => Task[],
): Promise<Report> {
  const env = { ...process.env, ...options.env };
  const report = newReport(command, 'single');
  let run: Run | undefined;
  let cancelOnStop: (() => void) | undefined;
  try {
    report.mode = parseSplitMode(envValue(env, 'SPLIT_DB_MODE')) ? 'split' : 'single';
    run = await openRun(options);
    // SPLIT_DB_MODE may come from .env or --env-file: the run's settings know.
    report.mode = run.mode;
    report.warnings = run.warnings;
    const opened = run;
    // Stopping: the server cancels what runs (a client that just exits leaves its statement running).
    // Removed when the run ends: a fleet runs a thousand tenants on one signal.
    cancelOnStop = () => void opened.cancel();
    options.signal?.addEventListener('abort', cancelOnStop, { once: true });
    const reports = new Map<string, SetReport>();
    for (const set of run.sets) {
      const setReport: SetReport = {
        name: set.config.name,
        target: set.target.display,
        applied: [],
        pending: [],
        schemas: [],
        problems: [],
        warnings: [],
        ms: null,
      };
      reports.set(set.config.name, setReport);
      report.sets.push(setReport);
    }
    const tasks = build(run, reports).map((task, i) => attributed(task, report.sets[i]!));
    await (options.runner ?? runTasks)(tasks);
  } catch (error) {
    recordError(report, asSchemataError(error));
  } finally {
    if (cancelOnStop) options.signal?.removeEventListener('abort', cancelOnStop);
    await run?.close().catch(() => {});
  }
  if (
    options.signal?.aborted &&
    report.exitCode !== EXIT.interrupted &&
    report.exitCode !== EXIT.terminated
  ) {
    const signal = String(options.signal.reason);
    report.ok = false;
    report.exitCode = signal === 'SIGINT' ? EXIT.interrupted : EXIT.terminated;
    report.error = {
      message: `Stopped by ${signal}${report.error ? `: ${report.error.message}` : '.'}`,
      hint: 'Run the same command again to go on.',
    };
  }
  return report;
}
