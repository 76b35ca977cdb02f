import { readFileSync } from 'node:fs';
import { ConfigError, EXIT, type ExitCode, SchemataError } from '../errors.js';
import { maskSecrets } from '../targets/redact.js';
import { baselineCommand } from '../commands/baseline.js';
import { createCommand } from '../commands/create.js';
import { importCommand } from '../commands/import.js';
import { lintCommand } from '../commands/lint.js';
import { migrateCommand } from '../commands/migrate.js';
import { rollbackCommand } from '../commands/rollback.js';
import { statusCommand, validateCommand } from '../commands/status.js';
import {
  type CliArgs,
  type CliCommand,
  type CliOptions,
  commandName,
  optionText,
  type Outcome,
} from './command.js';

/** Why a run stops when its parent process is gone (its exit code is SIGTERM's). */
const PARENT_GONE = 'the end of the process that started it';

/*
 * The one exit point: parses the command line, runs one command, prints its
 * report (JSON or human) and sets process.exitCode. Passwords are masked where
 * they enter a message (a target's display built from its parsed parts, the
 * driver's and the server's words, SQL echoed by its tokens), never by
 * searching the printed text, which would also mask the examples of hints.
 */

/** Every command, in the order --help lists them. */
const COMMANDS: readonly CliCommand[] = [
  migrateCommand,
  statusCommand,
  validateCommand,
  lintCommand,
  baselineCommand,
  rollbackCommand,
  importCommand,
  createCommand,
];
const RENDERERS = ['default', 'simple', 'verbose', 'silent'] as const;

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

const debug = () => /(^|,)\s*schemata\s*(,|$)|^\*$/.test(process.env.DEBUG ?? '');

/*
 * yargs lays out the whole help text before it runs a command, to show it
 * should the command fail; .fail() below throws instead, so that layout
 * (about 20 ms, more than the rest of the parse) is never shown. Help asked
 * for is laid out when it is printed. An internal of yargs: where it is not
 * there, nothing changes.
 */
function skipHelpLayout(parser: unknown): void {
  const internal = parser as {
    getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } };
  };
  const usage = internal.getInternalMethods?.().getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {};
}

async function parseArgs(argv: string[]): Promise<CliArgs | undefined> {
  const { default: yargs } = await import('yargs');
  let parser = yargs(argv).scriptName('schemata').usage('$0 <command> [sets..] [flags]');
  for (const c of COMMANDS) parser = parser.command(c.command, c.describe, c.builder);
  parser = parser
    .option('json', {
      type: 'boolean',
      describe: 'print one JSON document on stdout, nothing else',
    })
    .option('config', {
      type: 'string',
      describe: 'path of schemata.json (default database/schemata.json)',
    })
    .option('env-file', {
      type: 'string',
      describe: 'read this file instead of .env (the process environment still wins)',
    })
    .option('wait', {
      type: 'string',
      describe:
        'seconds to keep retrying the connection while the database is not up yet (SCHEMATA_WAIT, default 0)',
    })
    .option('renderer', {
      choices: RENDERERS,
      describe: 'progress renderer (simple when stdout is not a terminal or CI is set)',
    })
    .epilog('schemata --version prints the version.')
    .demandCommand(
      1,
      'Name a command: migrate, status, validate, rollback, baseline, import, lint or create.',
    )
    .strict()
    // `baseline --version V` needs the flag: the tool's version is answered in main().
    .version(false)
    .help()
    .alias('h', 'help')
    // yargs lays out the help text on every command run, which wrapping makes cost more than the rest of the parse: wrapped only when it is shown.
    .wrap(asksForHelp(argv) ? Math.min(100, process.stdout.columns) : null)
    .exitProcess(false)
    .fail((message, error) => {
      // yargs echoes what was typed: masked where a password may stand in it.
      throw (
        (error as Error | undefined) ??
        new ConfigError(
          maskSecrets(message),
          'Run "schemata --help" to see the commands and flags.',
        )
      );
    });
  skipHelpLayout(parser);
  const args = (await parser.parseAsync()) as CliArgs;
  // --help was answered by yargs, which printed it.
  if (args.help === true) return undefined;
  return args;
}

/** The options every command gets, from the flags they share. */
function cliOptions(args: CliArgs, signal: AbortSignal, log: (line: string) => void): CliOptions {
  const sets = Array.isArray(args.sets)
    ? args.sets.map(String)
    : typeof args.set === 'string'
      ? [args.set]
      : [];
  return {
    tenants:
      typeof args.tenants === 'string'
        ? args.tenants
            .split(',')
            .map((t) => t.trim())
            .filter(Boolean)
        : undefined,
    concurrency: optionText(args.concurrency),
    shard: optionText(args.shard),
    canary: optionText(args.canary),
    continueOnError: Boolean(args['continue-on-error']),
    cwd: process.cwd(),
    config: optionText(args.config),
    envFile: optionText(args['env-file']),
    sets,
    lockTimeout: optionText(args['lock-timeout']),
    statementLockTimeout: optionText(args['statement-lock-timeout']),
    wait: optionText(args.wait),
    signal,
    log,
    endsWithRun: true,
  };
}

export async function main(argv: string[]): Promise<void> {
  const json = argv.includes('--json');
  // Every command printed works as typed where the user is (SPEC §3).
  const { currentPlace, rewriteCommands } = await import('./as-typed.js');
  const place = currentPlace(process.cwd(), process.env);
  const clean = (text: string) => rewriteCommands(text, place);
  const stderr = (text: string) => process.stderr.write(`${clean(text)}\n`);

  let exitCode: ExitCode;
  if (argv.length === 1 && argv[0] === '--version') {
    process.stdout.write(`${packageVersion()}\n`);
    return;
  }
  try {
    const args = await parseArgs(argv);
    if (!args) return; // --help or --version was printed
    const command = COMMANDS.find((c) => commandName(c) === String((args._ as unknown[])[0]))!;
    // SIGINT (Ctrl-C) and SIGTERM (a platform stopping the job) stop the run: the statement is cancelled on the server.
    const stop = new AbortController();
    const onSignal = (signal: NodeJS.Signals) => {
      if (stop.signal.aborted)
        process.exit(signal === 'SIGINT' ? EXIT.interrupted : EXIT.terminated); // a second one: now
      if (!json)
        stderr(`${signal}: stopping; the running statement is being cancelled on the server.`);
      stop.abort(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    // npm run, npx and sh -c, stopped, exit without passing the signal on: schemata is left to another parent.
    // Its parent gone is a stop too, or the migration would commit after the platform was told it stopped.
    const parent = process.ppid;
    const orphaned = setInterval(() => {
      if (process.ppid === parent || stop.signal.aborted) return;
      if (!json)
        stderr(
          `the process that started schemata (pid ${parent}: npm, npx or sh) is gone: stopping; the running statement is being cancelled on the server.`,
        );
      stop.abort(PARENT_GONE);
    }, 250);
    orphaned.unref();
    const log = (line: string) => {
      if (!json) stderr(line);
    };
    const outcome: Outcome = await command.run(args, {
      options: cliOptions(args, stop.signal, log),
      json: Boolean(args.json),
      renderer: args.renderer as (typeof RENDERERS)[number] | undefined,
      present: clean,
    });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    clearInterval(orphaned);
    exitCode = outcome.exitCode;
    if (args.json) {
      process.stdout.write(`${clean(JSON.stringify(outcome.json, null, 2))}\n`);
    } else {
      for (const warning of outcome.warnings ?? []) stderr(warning);
      if (outcome.text) process.stdout.write(`${clean(outcome.text)}\n`);
      for (const note of outcome.notes) stderr(note);
    }
  } catch (error) {
    const failure =
      error instanceof SchemataError
        ? error
        : new SchemataError(
            `Unexpected error: ${maskSecrets(error instanceof Error ? error.message : String(error))}`,
            EXIT.failed,
            'Run again with DEBUG=schemata to see the details.',
            { cause: error },
          );
    exitCode = failure.exitCode;
    if (json) {
      const report = {
        command: argv[0] ?? '',
        mode: 'single',
        ok: false,
        exitCode,
        sets: [],
        warnings: [],
        error: { message: failure.message, hint: failure.hint },
      };
      process.stdout.write(`${clean(JSON.stringify(report, null, 2))}\n`);
    } else {
      stderr(`error: ${failure.message}${failure.hint ? `\n  → ${failure.hint}` : ''}`);
    }
    if (debug())
      stderr(maskSecrets(error instanceof Error && error.stack ? error.stack : String(error)));
  }
  process.exitCode = exitCode;
}

function asksForHelp(argv: readonly string[]): boolean {
  return argv.some((a) => a === '--help' || a === '-h') || argv.length === 0;
}
