import type { LintOptions, LintReport } from '../engine/lint.js';
import { ConfigError } from '../errors.js';
import { type CliCommand, errorNote, withSets } from '../cli/command.js';

export type { LintOptions, LintReport } from '../engine/lint.js';

/**
 * Parses every migration file with the real PostgreSQL parser and runs the
 * lint rules (SPEC §6). Needs no database.
 *
 * @example
 * const report = await lint({ maxWarnings: 0 });
 * for (const set of report.sets) for (const f of set.findings) console.log(f.file, f.at.line, f.rule);
 */
export async function lint(options: LintOptions = {}): Promise<LintReport> {
  return (await import('../engine/lint.js')).lintSets(options);
}

/** @internal The CLI's command (yargs): not part of the API. */
export const lintCommand: CliCommand = {
  command: 'lint [sets..]',
  describe: 'parse every migration with the PostgreSQL parser; report errors and warnings',
  builder: (y) =>
    withSets(y).option('max-warnings', {
      type: 'number',
      describe: 'fail (exit 3) when there are more warnings than this',
    }),
  async run(args, context) {
    const max = args['max-warnings'] as number | undefined;
    if (max !== undefined && !(Number.isInteger(max) && max >= 0)) {
      throw new ConfigError(
        `--max-warnings must be a whole number of 0 or more, not ${max}.`,
        'For example: schemata lint --max-warnings 0',
      );
    }
    const report = await lint({
      cwd: context.options.cwd,
      config: context.options.config,
      sets: context.options.sets,
      envFile: context.options.envFile,
      maxWarnings: max,
    });
    const { formatLint } = await import('../engine/lint.js');
    return {
      json: report,
      exitCode: report.exitCode,
      text: report.sets.length > 0 ? formatLint(report) : undefined,
      notes: [...(report.notes ?? []), ...(report.error ? [errorNote(report.error)] : [])],
    };
  },
};
