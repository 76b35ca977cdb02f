import type { ImportOptions, ImportReport } from '../engine/import.js';
import { type CliCommand, errorNote, optionText } from '../cli/command.js';

export type { ImportOptions, ImportReport } from '../engine/import.js';

/**
 * Writes another tool's migrations as a set's files (SPEC §11), in the
 * tool's order, with down files and the manifest `baseline --from` reads.
 * Fails (exit 2, nothing written) when a migration cannot be converted, the
 * folder is missing or the set already has migrations.
 *
 * @example
 * const { files } = await importHistory({ tool: 'drizzle', set: 'data' });
 */
export async function importHistory(options: ImportOptions): Promise<ImportReport> {
  return (await import('../engine/import.js')).importHistory(options);
}

/** @internal The CLI's command (yargs): not part of the API. */
export const importCommand: CliCommand = {
  command: 'import <tool>',
  describe: "write another tool's migrations as a set's files, with a manifest for baseline --from",
  builder: (y) =>
    y
      .positional('tool', {
        type: 'string',
        describe:
          'prisma, drizzle, typeorm, knex, node-pg-migrate, golang-migrate, dbmate or flyway',
      })
      .option('set', { type: 'string', demandOption: true, describe: 'the set to write into' })
      .option('from', {
        type: 'string',
        describe: "the tool's migrations folder (default: where the tool keeps it)",
      }),
  async run(args, context) {
    const report = await importHistory({
      cwd: context.options.cwd,
      config: context.options.config,
      tool: String(args.tool),
      set: String(args.set),
      from: optionText(args.from),
    });
    const { formatImport } = await import('../engine/import.js');
    return {
      json: report,
      exitCode: report.exitCode,
      text: report.ok ? formatImport(report) : undefined,
      warnings: report.warnings.map((w) => `warning: ${w}`),
      notes: report.error ? [errorNote(report.error)] : [],
    };
  },
};
