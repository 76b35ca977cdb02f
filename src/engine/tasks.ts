/**
 * A step of a run, as both the API and the CLI see it. `run` may rename its
 * own line (to add a duration) and may return the steps under it. The CLI
 * hands these to listr2; the API runs them with `runTasks` below. One engine,
 * two ways to show it.
 */
export interface Task {
  title: string;
  /** A step that would not run (a dry run's refusal): marked so in the task list, the steps after it still shown. */
  refused?: boolean;
  /** Its `show` lines are a live view (a fleet's tenants in flight): drawn by a terminal's task list, never logged. */
  live?: boolean;
  /** `show`: a passing line under the task, how far it got (the task list prints it; the API drops it). */
  // eslint-disable-next-line @typescript-eslint/no-invalid-void-type -- a step without steps under it returns nothing
  run(setTitle: (title: string) => void, show: (line: string) => void): Promise<Task[] | void>;
}

/** Runs tasks in order, depth first, stopping at the first error. */
export async function runTasks(tasks: readonly Task[]): Promise<void> {
  for (const task of tasks) {
    const children = await task.run(
      (title) => {
        task.title = title;
      },
      () => {},
    );
    if (children) await runTasks(children);
  }
}

export type TaskRunner = (tasks: Task[]) => Promise<void>;
