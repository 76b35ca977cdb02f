import type { Report } from '../engine/report.js';
import type { RollbackOptions } from '../engine/rollback.js';
import { ConfigError } from '../errors.js';
import { type CliCommand, fromReport, optionText, taskListRunner } from '../cli/command.js';

export type { RollbackOptions } from '../engine/rollback.js';

/**
 * Runs the down files of the newest applied migrations of one set (SPEC §12),
 * newest first, each in its own transaction, checked against what its up
 * did: a down that does not undo it is rolled back and named (exit 3).
 *
 * @example
 * const report = await rollback({ set: 'data', steps: 1 });
 */
export async function rollback(options: RollbackOptions): Promise<Report> {
  return (await import('../engine/rollback.js')).rollback(options);
}

/** `--steps N` as typed: a positive whole number. */
function stepsOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1)
    throw new ConfigError(
      `--steps ${text} is not a positive whole number.`,
      'Say how many migrations to roll back, newest first: schemata rollback <set> --steps 1',
    );
  return Number(text);
}

/** @internal The CLI's command (yargs): not part of the API. */
export const rollbackCommand: CliCommand = {
  command: 'rollback <set>',
  describe:
    'run the down files of the newest applied migrations, each checked against what its up did',
  builder: (y) =>
    y
      .positional('set', { type: 'string' })
      .option('steps', {
        type: 'string',
        describe: 'how many migrations to roll back, newest first (default 1)',
      })
      .option('to', {
        type: 'string',
        describe: 'roll back every migration after this version (0: all of them)',
      })
      .option('force', {
        type: 'boolean',
        describe: 'let a down run that data protection would refuse',
      })
      .option('check', {
        type: 'boolean',
        describe:
          "prove every down on a scratch database (up, down, compare, up again); the set's database is not touched",
      })
      .option('scratch-url', {
        type: 'string',
        describe:
          'with --check: a server to make the scratch database on (default: the embedded one)',
      })
      .option('statement-lock-timeout', {
        type: 'string',
        describe:
          'seconds a statement may wait for a table lock before its down is rolled back and retried (default 5)',
      }),
  async run(args, context) {
    const set = String(args.set);
    const scratchUrl = optionText(args['scratch-url']);
    const runner = await taskListRunner(context);
    if (args.check) {
      const { checkDowns } = await import('../engine/rollback-check.js');
      return fromReport(await checkDowns({ ...context.options, set, scratchUrl, runner }));
    }
    if (scratchUrl !== undefined)
      throw new ConfigError(
        "--scratch-url goes with --check: it names where the downs are proved, and rollback itself runs on the set's database.",
        `Prove the downs with: schemata rollback ${set} --check --scratch-url <url>`,
      );
    const report = await rollback({
      ...context.options,
      set,
      steps: stepsOf(optionText(args.steps)),
      to: optionText(args.to),
      force: Boolean(args.force),
      runner,
    });
    const { formatRollbackSummary } = await import('../cli/output.js');
    return fromReport(report, formatRollbackSummary(report));
  },
};
