import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { ConfigError, EXIT, type ExitCode, SchemataError } from '../errors.js';
import type { Argv } from 'yargs';
import type { Report } from '../engine/report.js';
import { maskSecrets } from '../targets/redact.js';

/** Why a run stops when its parent process is gone (its exit code is SIGTERM's). */
const PARENT_GONE = 'the end of the process that started it';

/*
 * The one exit point: parses the command line, runs one command, prints its
 * report (JSON or human) and sets process.exitCode. Passwords are masked where
 * they enter a message (a target's display built from its parsed parts, the
 * driver's and the server's words, SQL echoed by its tokens), never by
 * searching the printed text, which would also mask the examples of hints.
 */

type Command =
  'migrate' | 'status' | 'validate' | 'create' | 'lint' | 'baseline' | 'import' | 'rollback';
const RENDERERS = ['default', 'simple', 'verbose', 'silent'] as const;

interface Invocation {
  command: Command;
  sets: string[];
  json: boolean;
  config?: string | undefined;
  envFile?: string | undefined;
  renderer?: (typeof RENDERERS)[number] | undefined;
  /** Seconds, as typed: readSettings checks them. */
  lockTimeout?: string | undefined;
  statementLockTimeout?: string | undefined;
  wait?: string | undefined;
  name?: string | undefined;
  force: boolean;
  dryRun: boolean;
  repair: boolean;
  /** migrate: the run's migrations in one transaction. */
  singleTransaction?: boolean | undefined;
  maxWarnings?: number | undefined;
  version?: string | undefined;
  /** import: the other tool; baseline: the tool whose history to adopt. */
  tool?: string | undefined;
  from?: string | undefined;
  table?: string | undefined;
  tenants?: string[] | undefined;
  concurrency?: string | undefined;
  shard?: string | undefined;
  canary?: string | undefined;
  continueOnError: boolean;
  /** rollback: how many, or down to which version; --check and its server. */
  steps?: string | undefined;
  to?: string | undefined;
  check: boolean;
  scratchUrl?: string | undefined;
  /** create: write the down file too. */
  down: boolean;
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

const debug = () => /(^|,)\s*schemata\s*(,|$)|^\*$/.test(process.env.DEBUG ?? '');

/** A flag's value as typed: yargs gives numbers for numeric-looking text. */
function optionText(value: unknown): string | undefined {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

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

async function parseArgs(argv: string[]): Promise<Invocation | undefined> {
  const { default: yargs } = await import('yargs');
  const invocationOf = (command: Command, args: Record<string, unknown>): Invocation => ({
    command,
    sets: (args.sets as string[] | undefined) ?? (typeof args.set === 'string' ? [args.set] : []),
    json: Boolean(args.json),
    config: args.config as string | undefined,
    envFile: args['env-file'] as string | undefined,
    renderer: args.renderer as Invocation['renderer'],
    lockTimeout: optionText(args['lock-timeout']),
    statementLockTimeout: optionText(args['statement-lock-timeout']),
    wait: optionText(args.wait),
    name: optionText(args.name),
    force: Boolean(args.force),
    dryRun: Boolean(args['dry-run']),
    repair: Boolean(args.repair),
    singleTransaction:
      typeof args['single-transaction'] === 'boolean' ? args['single-transaction'] : undefined,
    maxWarnings: args['max-warnings'] as number | undefined,
    version: typeof args.version === 'boolean' ? undefined : optionText(args.version),
    tool: optionText(args.tool),
    from: optionText(args.from),
    table: optionText(args.table),
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
    steps: optionText(args.steps),
    to: optionText(args.to),
    check: Boolean(args.check),
    scratchUrl: optionText(args['scratch-url']),
    down: Boolean(args.down),
  });
  const setsArg = <T>(y: Argv<T>) =>
    y
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
  const parser = yargs(argv)
    .scriptName('schemata')
    .usage('$0 <command> [sets..] [flags]')
    .command('migrate [sets..]', 'validate, apply pending migrations, validate again', (y) =>
      setsArg(y)
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
    )
    .command('status [sets..]', 'per set: applied, pending, schemas and problems', (y) =>
      setsArg(y).option('check', {
        type: 'boolean',
        describe: 'exit as validate does (3) when a set has a problem',
      }),
    )
    .command(
      'validate [sets..]',
      'the pre-flight checks alone; writes nothing; exit 3 on a problem',
      setsArg,
    )
    .command(
      'lint [sets..]',
      'parse every migration with the PostgreSQL parser; report errors and warnings',
      (y) =>
        setsArg(y).option('max-warnings', {
          type: 'number',
          describe: 'fail (exit 3) when there are more warnings than this',
        }),
    )
    .command(
      'baseline <set>',
      'record migrations as applied without running them, after checking their objects exist',
      (y) =>
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
    )
    .command(
      'rollback <set>',
      'run the down files of the newest applied migrations, each checked against what its up did',
      (y) =>
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
    )
    .command(
      'import <tool>',
      "write another tool's migrations as a set's files, with a manifest for baseline --from",
      (y) =>
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
    )
    .command(
      'create <set> <name>',
      'write a new migration file from the template and print its path',
      (y) =>
        y
          .positional('set', { type: 'string' })
          .positional('name', { type: 'string' })
          .option('down', {
            type: 'boolean',
            describe: 'write its down file too (<version>_<name>.down.sql)',
          }),
    )
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
  const args = await parser.parseAsync();
  // --help was answered by yargs, which printed it.
  if (args.help === true) return undefined;
  return invocationOf(String(args._[0]) as Command, args);
}

/** What a command leaves to print: its JSON document, or its text and the problems, and its exit code. */
interface Outcome {
  json: unknown;
  exitCode: ExitCode;
  /** stdout, without --json. */
  text?: string | undefined;
  /** stderr, without --json, before the text: the run's warnings (they belong to it, not after its closing line). */
  warnings?: string[];
  /** stderr, without --json, after the text: the failure paragraphs. */
  notes: string[];
}

async function fromReport(
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

/** The task list for a run: silent under --json, else as the terminal and --renderer choose. */
async function taskListRunner(invocation: Invocation, present: (text: string) => string) {
  const { chooseRenderer, listrRunner } = await import('./listr.js');
  const renderer = invocation.json
    ? 'silent'
    : chooseRenderer(
        invocation.renderer,
        process.env,
        process.stdout.isTTY,
        process.stdout.columns,
      );
  return listrRunner(renderer, present);
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

async function runCommand(
  invocation: Invocation,
  log: (line: string) => void,
  signal: AbortSignal,
  present: (text: string) => string,
): Promise<Outcome> {
  const options = {
    tenants: invocation.tenants,
    concurrency: invocation.concurrency,
    shard: invocation.shard,
    canary: invocation.canary,
    continueOnError: invocation.continueOnError,
    cwd: process.cwd(),
    config: invocation.config,
    envFile: invocation.envFile,
    sets: invocation.sets,
    lockTimeout: invocation.lockTimeout,
    statementLockTimeout: invocation.statementLockTimeout,
    wait: invocation.wait,
    signal,
    log,
  };
  switch (invocation.command) {
    case 'create': {
      const { createMigration } = await import('../commands/create.js');
      const path = createMigration({
        cwd: options.cwd,
        config: options.config,
        set: invocation.sets[0]!,
        name: invocation.name!,
        down: invocation.down,
      });
      const { downFileName } = await import('../config/discover.js');
      const down = invocation.down ? downFileName(path) : undefined;
      return {
        json: {
          command: 'create',
          ok: true,
          exitCode: EXIT.ok,
          file: path,
          ...(down ? { down } : {}),
        },
        exitCode: EXIT.ok,
        text: [path, ...(down ? [down] : [])].map((p) => relative(process.cwd(), p)).join('\n'),
        notes: [],
      };
    }
    case 'lint': {
      const max = invocation.maxWarnings;
      if (max !== undefined && !(Number.isInteger(max) && max >= 0)) {
        throw new ConfigError(
          `--max-warnings must be a whole number of 0 or more, not ${max}.`,
          'For example: schemata lint --max-warnings 0',
        );
      }
      const { lintSets, formatLint } = await import('../commands/lint.js');
      const report = await lintSets({
        cwd: options.cwd,
        config: options.config,
        sets: options.sets,
        envFile: options.envFile,
        maxWarnings: max,
      });
      const notes = [
        ...(report.notes ?? []),
        ...(report.error
          ? [
              `error: ${report.error.message}${report.error.hint ? `\n  → ${report.error.hint}` : ''}`,
            ]
          : []),
      ];
      return {
        json: report,
        exitCode: report.exitCode,
        text: report.sets.length > 0 ? formatLint(report) : undefined,
        notes,
      };
    }
    case 'migrate': {
      const api = await import('../api.js');
      const runner = await taskListRunner(invocation, present);
      const report = await api.migrate({
        ...options,
        force: invocation.force,
        dryRun: invocation.dryRun,
        repair: invocation.repair,
        singleTransaction: invocation.singleTransaction,
        runner,
      });
      const { formatMigrateSummary } = await import('./output.js');
      return fromReport(report, formatMigrateSummary(report, invocation.dryRun));
    }
    case 'baseline': {
      const api = await import('../api.js');
      const runner = await taskListRunner(invocation, present);
      return fromReport(
        await api.baseline({
          ...options,
          set: invocation.sets[0]!,
          version: invocation.version,
          force: invocation.force,
          from: invocation.from,
          table: invocation.table,
          runner,
        }),
      );
    }
    case 'rollback': {
      const runner = await taskListRunner(invocation, present);
      if (invocation.check) {
        const { checkDowns } = await import('../commands/rollback-check.js');
        return fromReport(
          await checkDowns({
            ...options,
            set: invocation.sets[0]!,
            scratchUrl: invocation.scratchUrl,
            runner,
          }),
        );
      }
      if (invocation.scratchUrl !== undefined)
        throw new ConfigError(
          "--scratch-url goes with --check: it names where the downs are proved, and rollback itself runs on the set's database.",
          `Prove the downs with: schemata rollback ${invocation.sets[0]!} --check --scratch-url <url>`,
        );
      const api = await import('../api.js');
      const report = await api.rollback({
        ...options,
        set: invocation.sets[0]!,
        steps: stepsOf(invocation.steps),
        to: invocation.to,
        force: invocation.force,
        runner,
      });
      const { formatRollbackSummary } = await import('./output.js');
      return fromReport(report, formatRollbackSummary(report));
    }
    case 'import': {
      const { importHistory, formatImport } = await import('../commands/import.js');
      const report = await importHistory({
        cwd: options.cwd,
        config: options.config,
        tool: invocation.tool!,
        set: invocation.sets[0]!,
        from: invocation.from,
      });
      return {
        json: report,
        exitCode: report.exitCode,
        text: report.ok ? formatImport(report) : undefined,
        notes: report.error
          ? [
              `error: ${report.error.message}${report.error.hint ? `\n  → ${report.error.hint}` : ''}`,
            ]
          : [],
      };
    }
    case 'status':
    case 'validate': {
      const api = await import('../api.js');
      const report =
        invocation.command === 'status'
          ? await api.status({ ...options, check: invocation.check })
          : await api.validate(options);
      const { formatStatus } = await import('./output.js');
      // The listing shows each problem with its hint: not said again after it.
      return fromReport(report, report.sets.length > 0 ? formatStatus(report) : undefined, {
        listed: true,
      });
    }
  }
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
    const invocation = await parseArgs(argv);
    if (!invocation) return; // --help or --version was printed
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
    const outcome = await runCommand(
      invocation,
      (line) => {
        if (!json) stderr(line);
      },
      stop.signal,
      clean,
    );
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    clearInterval(orphaned);
    exitCode = outcome.exitCode;
    if (invocation.json) {
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
