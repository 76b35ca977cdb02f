import { figures, Listr, ListrDefaultRendererLogLevels, type ListrTask } from 'listr2';
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
        let children: Awaited<ReturnType<Task['run']>>;
        try {
          children = await task.run(
            (title) => {
              listrTask.title = present(title);
            },
            (line) => {
              listrTask.output = present(line);
            },
          );
        } catch (error) {
          // The task list marks where it failed; the paragraph itself is printed once, at the end.
          throw error instanceof ShownBelow ? error : new ShownBelow(error);
        }
        if (children && children.length > 0)
          return listrTask.newListr(children.map(toListr), { exitOnError: true });
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
      },
    } as object).run();
  }
}

/** What a failed task shows in the list: a marker; the error is the report's, printed after the list. */
class ShownBelow extends Error {
  constructor(readonly original: unknown) {
    super('failed, see below');
  }
}
