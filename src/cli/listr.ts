import { Listr, type ListrTask } from 'listr2';
import { SchemataError } from '../errors.js';
import type { Task, TaskRunner } from '../run/tasks.js';

export type RendererName = 'default' | 'simple' | 'verbose' | 'silent';

/** listr2's `simple` when stdout is not a terminal or CI is set, as SPEC §3 asks. */
export function chooseRenderer(requested: RendererName | undefined, env: NodeJS.ProcessEnv, stdoutIsTTY: boolean): RendererName {
  if (requested) return requested;
  return !stdoutIsTTY || (env.CI !== undefined && env.CI !== '' && env.CI !== 'false') ? 'simple' : 'default';
}

/** Shows the engine's tasks with listr2; the tasks decide, listr2 only draws. */
export function listrRunner(renderer: RendererName, present: (text: string) => string = (t) => t): TaskRunner {
  const toListr = (task: Task): ListrTask =>
    ({
      title: present(task.title),
      task: async (_ctx: unknown, listrTask: { title: string; newListr: (tasks: ListrTask[], options?: object) => unknown }) => {
        let children: Task[] | void;
        try {
          children = await task.run((title) => {
            listrTask.title = present(title);
          });
        } catch (error) {
          // listr2 prints the message: as the user would type what it names.
          if (!(error instanceof SchemataError)) throw error;
          throw new SchemataError(present(error.message), error.exitCode, error.hint === undefined ? undefined : present(error.hint), { cause: error.cause });
        }
        if (children && children.length > 0) return listrTask.newListr(children.map(toListr), { exitOnError: true });
        return undefined;
      },
    }) as ListrTask;
  return async (tasks) => {
    await new Listr(tasks.map(toListr), {
      renderer,
      exitOnError: true,
      concurrent: false,
      // cli/main.ts handles SIGINT itself (cancel on the server, exit 130); listr2's own would exit 127 at once.
      registerSignalListeners: false,
      rendererOptions: { collapseSubtasks: false, collapseErrors: false, showErrorMessage: false },
    } as object).run();
  };
}
