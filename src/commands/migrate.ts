import type { Report } from '../engine/report.js';
import type { MigrateOptions } from '../engine/migrate.js';
import { type CliCommand, fromReport, taskListRunner, withSets } from '../cli/command.js';

export type { MigrateOptions } from '../engine/migrate.js';

/**
 * Applies the pending migrations of each set (all by default), each set on
 * its database, with validation before and after and data protection on
 * every destructive step.
 *
 * @example
 * const report = await migrate({ env: { PRIMARY_DATABASE_URL: process.env.DATABASE_URL } });
 * if (!report.ok) throw new Error(report.error?.message);
 */
export async function migrate(options: MigrateOptions = {}): Promise<Report> {
  return (await import('../engine/migrate.js')).migrate(options);
}

/** @internal The CLI's command (yargs): not part of the API. */
export const migrateCommand: CliCommand = {
  command: 'migrate [sets..]',
  describe: 'validate, apply pending migrations, validate again',
  builder: (y) =>
    withSets(y)
      .option('repair', {
        type: 'boolean',
        describe:
          're-run tracked migrations whose objects are missing or that did not finish; record changed checksums',
      })
      .option('force', {
        type: 'boolean',
        describe: 'run destructive steps even on tables that hold data',
      })
      .option('dry-run', {
        type: 'boolean',
        describe: 'plan only: what would run and what would be refused; writes nothing',
      })
      .option('single-transaction', {
        type: 'boolean',
        describe:
          "the run's migrations on each database in one transaction, all or nothing (default: each in its own)",
      })
      .option('lock-timeout', {
        type: 'string',
        describe: "seconds to wait for another run's lock (SCHEMATA_LOCK_TIMEOUT, default 60)",
      })
      .option('canary', {
        type: 'string',
        describe: 'of a set with tenants: apply to this many first, and stop if one fails',
      })
      .option('continue-on-error', {
        type: 'boolean',
        describe: 'of a set with tenants: start the others after one failed',
      })
      .option('statement-lock-timeout', {
        type: 'string',
        describe:
          'seconds a statement may wait for a table lock before its migration is rolled back and retried (SCHEMATA_STATEMENT_LOCK_TIMEOUT, default 5; 0: for ever)',
      }),
  async run(args, context) {
    const dryRun = Boolean(args['dry-run']);
    const report = await migrate({
      ...context.options,
      force: Boolean(args.force),
      dryRun,
      repair: Boolean(args.repair),
      singleTransaction:
        typeof args['single-transaction'] === 'boolean' ? args['single-transaction'] : undefined,
      runner: await taskListRunner(context),
    });
    const { formatMigrateSummary } = await import('../cli/output.js');
    return fromReport(report, formatMigrateSummary(report, dryRun));
  },
};
