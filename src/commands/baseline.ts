import type { BaselineOptions } from '../engine/baseline.js';
import type { Report } from '../engine/report.js';
import { type CliCommand, fromReport, optionText, taskListRunner } from '../cli/command.js';

export type { BaselineOptions } from '../engine/baseline.js';

/**
 * Adopts a database that already has the objects: records the set's
 * migrations up to `version` (default: all) as applied without running them,
 * after checking that what they make exists (refused, exit 3, unless `force`).
 * With `from` (a tool `importHistory` imported from): exactly the migrations
 * that tool's table says ran on this database.
 *
 * @example
 * const report = await baseline({ set: 'data', version: '3' });
 */
export async function baseline(options: BaselineOptions): Promise<Report> {
  return (await import('../engine/baseline.js')).baseline(options);
}

/** @internal The CLI's command (yargs): not part of the API. */
export const baselineCommand: CliCommand = {
  command: 'baseline <set>',
  describe: 'record migrations as applied without running them, after checking their objects exist',
  builder: (y) =>
    y
      .positional('set', { type: 'string' })
      .option('version', {
        type: 'string',
        describe: 'record up to this version (default: all present)',
      })
      .option('force', {
        type: 'boolean',
        describe: 'record them even when objects are missing',
      })
      .option('from', {
        type: 'string',
        describe:
          'record exactly the migrations another tool ran here, read from its table (after schemata import): prisma, drizzle, typeorm, knex, node-pg-migrate, golang-migrate, dbmate or flyway',
      })
      .option('table', {
        type: 'string',
        describe: "with --from: the tool's table, when not its usual one (schema.table)",
      }),
  async run(args, context) {
    return fromReport(
      await baseline({
        ...context.options,
        set: String(args.set),
        version: typeof args.version === 'boolean' ? undefined : optionText(args.version),
        force: Boolean(args.force),
        from: optionText(args.from),
        table: optionText(args.table),
        runner: await taskListRunner(context),
      }),
    );
  },
};
