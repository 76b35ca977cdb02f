import {
  figures,
  LISTR_LOGGER_STDERR_LEVELS,
  Listr,
  ListrDefaultRendererLogLevels,
  ListrLogger,
  ListrLogLevels,
  type ListrTask,
} from 'listr2';
import type { Task, TaskRunner } from '../engine/tasks.js';

export type RendererName = 'default' | 'simple' | 'verbose' | 'silent';

/**
 * listr2's `simple` when stdout is not a terminal or CI is set, as SPEC §3
 * asks; also on a terminal that reports no width (a pseudo-terminal made
 * without a window, as some CI runners and `script` make), where the default
 * renderer would wrap every line after its first character.
 */
export function chooseRenderer(
  requested: RendererName | undefined,
  env: NodeJS.ProcessEnv,
  stdoutIsTTY: boolean,
  columns?: number,
): RendererName {
  if (requested) return requested;
  if (stdoutIsTTY && !columns) return 'simple';
  return !stdoutIsTTY || (env.CI !== undefined && env.CI !== '' && env.CI !== 'false')
    ? 'simple'
    : 'default';
}

/** Shows the engine's tasks with listr2; the tasks decide, listr2 only draws. */
export function listrRunner(
  renderer: RendererName,
  present: (text: string) => string = (t) => t,
): TaskRunner {
  const toListr = (task: Task): ListrTask =>
    ({
      title: present(task.title),
      task: async (
        _ctx: unknown,
        listrTask: {
          title: string;
          output: string;
          newListr: (tasks: ListrTask[], options?: object) => unknown;
        },
      ) => {
        if (task.refused) {
          await task.run(
            () => {},
            () => {},
          );
          throw new ShownBelow(undefined, 'refused, see below');
        }
        let children: Awaited<ReturnType<Task['run']>>;
        try {
          children = await task.run(
            (title) => {
              listrTask.title = present(title);
            },
            (line) => {
              if (task.live && renderer !== 'default') return;
              listrTask.output = present(line);
            },
          );
        } catch (error) {
          // The task list marks where it failed; the paragraph itself is printed once, at the end.
          throw error instanceof ShownBelow ? error : new ShownBelow(error);
        }
        // A refused step is marked, and the steps after it are still shown: the dry run is the whole plan.
        if (children && children.length > 0)
          return listrTask.newListr(children.map(toListr), {
            exitOnError: !children.some((c) => c.refused),
          });
        return undefined;
      },
    }) as ListrTask;
  return async (tasks) => {
    try {
      await runListr(tasks);
    } catch (error) {
      throw error instanceof ShownBelow ? error.original : error;
    }
  };
  async function runListr(tasks: Task[]): Promise<void> {
    await new Listr(tasks.map(toListr), {
      renderer,
      exitOnError: true,
      concurrent: false,
      // cli/main.ts handles SIGINT itself (cancel on the server, exit 130); listr2's own would exit 127 at once.
      registerSignalListeners: false,
      rendererOptions: {
        collapseSubtasks: false,
        collapseErrors: false,
        showErrorMessage: false,
        // The default renderer draws a failed task that has subtasks (the set, "apply migrations") as a red ❯, which
        // without colour reads as "running": a ✖, as the simple renderer draws it.
        icon: { [ListrDefaultRendererLogLevels.FAILED_WITH_FAILED_SUBTASKS]: figures.cross },
        ...(renderer === 'simple'
          ? { logger: new OnceLogger({ useIcons: true, toStderr: LISTR_LOGGER_STDERR_LEVELS }) }
          : {}),
      },
    } as object).run();
  }
}

/** How long a task runs before the simple renderer says it started: a quick one gets its one line when it ends. */
const SAY_STARTED_AFTER_MS = 1000;

/**
 * The simple renderer's logger (logs, CI, a pipe): a task's line once.
 * listr2 writes a line when a task starts and another when it ends; here the
 * start is said only when something comes before its end (its subtasks, its
 * output) or when it has run for a second (a long migration), so that a log
 * reads `✔ 001_schemas.sql (31ms)` once, the sets keep their heading, and a
 * long step is still seen running. The lines after a title's first (a
 * migration's notices) stay under it, without a task's mark.
 */
class OnceLogger extends ListrLogger<ListrLogLevels> {
  private started: { message: string; timer: NodeJS.Timeout } | undefined;

  override log(
    level: ListrLogLevels,
    message: string | unknown[],
    options?: Parameters<ListrLogger['log']>[2],
  ): void {
    const pending = this.started;
    this.started = undefined;
    if (pending) {
      clearTimeout(pending.timer);
      // Tasks run one at a time: what ends right after a start is that task.
      const ends = [
        ListrLogLevels.COMPLETED,
        ListrLogLevels.SKIPPED,
        ListrLogLevels.FAILED,
      ].includes(level);
      if (!ends) super.log(ListrLogLevels.STARTED, pending.message);
    }
    if (level === ListrLogLevels.STARTED && typeof message === 'string') {
      const timer = setTimeout(() => {
        if (this.started?.timer !== timer) return;
        this.started = undefined;
        super.log(ListrLogLevels.STARTED, message);
      }, SAY_STARTED_AFTER_MS);
      timer.unref();
      this.started = { message, timer };
      return;
    }
    if (typeof message !== 'string' || !message.includes('\n')) {
      super.log(level, message, options);
      return;
    }
    const [first, ...rest] = message.split('\n');
    super.log(level, first ?? '', options);
    for (const line of rest) if (line.trim() !== '') this.process.toStdout(line);
  }
}

/** What a failed task shows in the list: a marker; the error is the report's, printed after the list. */
class ShownBelow extends Error {
  constructor(
    readonly original: unknown,
    marker = 'failed, see below',
  ) {
    super(marker);
  }
}
