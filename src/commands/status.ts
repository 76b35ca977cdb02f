import type { RunOptions } from '../engine/context.js';
import type { FleetOptions } from '../engine/fleet.js';
import type { Report } from '../engine/report.js';
import { type CliCommand, type CliContext, fromReport, withSets } from '../cli/command.js';

/**
 * Reads, per set, what is applied and pending, whether each expected schema
 * exists and holds data, and the problems validation would stop on. Writes
 * nothing, takes no lock; `ok` is false only when a database cannot be read,
 * or, with `check`, when a set has a problem (exitCode 3, as validate).
 *
 * @example
 * const { sets } = await status({ sets: ['data'] });
 * console.log(sets[0].pending.length, 'pending');
 */
export async function status(
  options: RunOptions & FleetOptions & { check?: boolean | undefined } = {},
): Promise<Report> {
  return (await import('../engine/status.js')).status(options);
}

/**
 * The pre-flight checks of migrate alone: writes nothing, takes no lock, and
 * fails (exitCode 3) when any set has a problem. Fit for a health endpoint.
 *
 * @example
 * const { ok, exitCode } = await validate();
 * res.status(ok ? 200 : 503).json({ exitCode });
 */
export async function validate(options: RunOptions & FleetOptions = {}): Promise<Report> {
  return (await import('../engine/status.js')).validate(options);
}

/** The listing shows each problem with its hint: not said again after it. */
async function listing(report: Report): Promise<ReturnType<CliCommand['run']>> {
  const { formatStatus } = await import('../cli/output.js');
  return fromReport(report, report.sets.length > 0 ? formatStatus(report) : undefined, {
    listed: true,
  });
}

/** @internal The CLI's command (yargs): not part of the API. */
export const statusCommand: CliCommand = {
  command: 'status [sets..]',
  describe: 'per set: applied, pending, schemas and problems',
  builder: (y) =>
    withSets(y).option('check', {
      type: 'boolean',
      describe: 'exit as validate does (3) when a set has a problem',
    }),
  async run(args, context: CliContext) {
    return listing(await status({ ...context.options, check: Boolean(args.check) }));
  },
};

/** @internal The CLI's command (yargs): not part of the API. */
export const validateCommand: CliCommand = {
  command: 'validate [sets..]',
  describe: 'the pre-flight checks alone; writes nothing; exit 3 on a problem',
  builder: withSets,
  async run(_args, context) {
    return listing(await validate(context.options));
  },
};
