import type { Argv } from 'yargs';
import type { ExitCode } from '../errors.js';
import type { RunOptions } from '../engine/context.js';
import type { FleetOptions } from '../engine/fleet.js';
import type { Report } from '../engine/report.js';
import type { RendererName } from './listr.js';

/*
 * What a command gives the CLI: its yargs command (command, describe,
 * builder) and how the CLI runs it. Each lives in commands/<name>.ts beside
 * its API function; cli/main.ts lists them. A command file imports only
 * types and light modules at its top: its engine is loaded when it runs, so
 * that --help or `create` loads none of migrate's.
 */

/** The run options every command gets from the CLI's global and shared flags. */
export type CliOptions = RunOptions &
  FleetOptions & {
    cwd: string;
    sets: string[];
    signal: AbortSignal;
    log: (line: string) => void;
  };

export interface CliContext {
  options: CliOptions;
  json: boolean;
  /** --renderer as typed. */
  renderer: RendererName | undefined;
  /** Rewrites the commands a text names as the user would type them here. */
  present: (text: string) => string;
}

/** The parsed command line, as yargs gives it. */
export type CliArgs = Record<string, unknown>;

export interface CliCommand {
  /** yargs' command string: its name, then its positionals. */
  command: string;
  describe: string;
  builder: (y: Argv) => Argv<unknown>;
  run(args: CliArgs, context: CliContext): Promise<Outcome>;
}

/** What a command leaves to print: its JSON document, or its text and the problems, and its exit code. */
export interface Outcome {
  json: unknown;
  exitCode: ExitCode;
  /** stdout, without --json. */
  text?: string | undefined;
  /** stderr, without --json, before the text: the run's warnings (they belong to it, not after its closing line). */
  warnings?: string[];
  /** stderr, without --json, after the text: the failure paragraphs. */
  notes: string[];
}

/** The name a command is typed by: the first word of its yargs command. */
export function commandName(command: CliCommand): string {
  return command.command.split(' ')[0]!;
}

/** A flag's value as typed: yargs gives numbers for numeric-looking text. */
export function optionText(value: unknown): string | undefined {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

/** The sets positional and the fleet flags of migrate, status, validate and lint. */
export function withSets(y: Argv): Argv {
  return y
    .positional('sets', {
      type: 'string',
      array: true,
      describe: 'sets to run (default: all, in config order)',
    })
    .option('tenants', {
      type: 'string',
      describe: 'of a set with tenants: only these (comma-separated)',
    })
    .option('concurrency', {
      type: 'string',
      describe: 'of a set with tenants: how many at once (default 4)',
    })
    .option('shard', {
      type: 'string',
      describe: 'I/N: take every N-th tenant from the I-th (0-based), for N processes',
    });
}

/** A report's outcome: its warnings before the text, its failure paragraph after. */
export async function fromReport(
  report: Report,
  text?: string,
  { listed = false }: { listed?: boolean } = {},
): Promise<Outcome> {
  const warnings = [...report.warnings, ...report.sets.flatMap((s) => s.warnings)].map(
    (w) => `warning: ${w}`,
  );
  const notes: string[] = [];
  if (!report.ok) {
    const { formatFailure } = await import('./output.js');
    const failure = formatFailure(report, { listed: listed && text !== undefined });
    if (failure) notes.push(failure);
    if (report.error?.stack) notes.push(report.error.stack);
  }
  return { json: report, exitCode: report.exitCode, text, warnings, notes };
}

/** The paragraph of a report's error, as the CLI prints every error. */
export function errorNote(error: { message: string; hint?: string | undefined }): string {
  return `error: ${error.message}${error.hint ? `\n  → ${error.hint}` : ''}`;
}

/** The task list for a run: silent under --json, else as the terminal and --renderer choose. */
export async function taskListRunner(context: CliContext) {
  const { chooseRenderer, listrRunner } = await import('./listr.js');
  const renderer = context.json
    ? 'silent'
    : chooseRenderer(context.renderer, process.env, process.stdout.isTTY, process.stdout.columns);
  return listrRunner(renderer, context.present);
}
