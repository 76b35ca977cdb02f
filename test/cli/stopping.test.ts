import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  PASSWORD,
  query,
  freshDatabase,
  openClient,
  sleepingIn,
  tableExists,
  trackedVersions,
  waitFor,
} from '../support/db.js';
import { runCli, startCli } from '../support/cli.js';
import { makeProject, REPO, writeFile as writeProjectFile } from '../support/project.js';

/*
 * SPEC §4 "Stopping": a real signal to a real child process, mid-migration.
 * The migration sleeps on the server; the test waits until pg_stat_activity
 * shows it, then signals the CLI.
 */

// pnpm itself is a devDependency (test/cli/pnpm.test.ts): its bin is found beside its package.json.
const PNPM = join(dirname(createRequire(import.meta.url).resolve('pnpm')), 'bin', 'pnpm.cjs');

const sessions = async (url: string) =>
  (
    await query<{ n: number }>(
      url,
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'schemata%'",
    )
  )[0]!.n;

describe.each([
  ['SIGTERM', 143],
  ['SIGINT', 130],
] as const)('stopped by %s', (signal, exitCode) => {
  it(`cancels the running statement on the server, rolls the migration back, and exits ${exitCode} naming it`, async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      'data/001_schemas.sql':
        'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
      'data/002_slow.sql': 'CREATE TABLE workspace.slow (id int);\nSELECT pg_sleep(60);\n',
      'data/003_after.sql': 'CREATE TABLE workspace.after (id int);\n',
    });
    const { child, done } = startCli(['migrate', 'data'], {
      cwd,
      env: { PRIMARY_DATABASE_URL: url },
    });
    expect(await sleepingIn(url)).toBe(true);
    const sent = Date.now();
    child.kill(signal);
    const result = await done;
    expect(Date.now() - sent).toBeLessThan(10_000);
    expect(result.code).toBe(exitCode);
    expect(result.stderr).toContain(`stopped by ${signal} while applying 002_slow.sql`);
    expect(result.stderr).toContain('nothing of it is applied or recorded');
    expect(result.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
    // The cancel request is sent without pg's deprecated Client.activeQuery, which would print a warning.
    expect(result.stderr).not.toContain('DeprecationWarning');
    // Nothing of it later either: no session left running it, nothing committed.
    expect(await waitFor(async () => (await sessions(url)) === 0, 5_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    expect(await tableExists(url, 'workspace.slow')).toBe(false);
    expect(await tableExists(url, 'workspace.after')).toBe(false);
    expect(await trackedVersions(url, 'data')).toEqual(['1']);
  });
});

/*
 * A statement run bare, outside any transaction block (CREATE INDEX
 * CONCURRENTLY), with schemata killed outright (SIGKILL: no cancel request
 * is sent): the server must notice that its client is gone and end the
 * backend, as it does for a statement in a transaction, rather than build the
 * index for a client that no longer exists once the blocker lets it go.
 */
describe('killed by SIGKILL while a statement outside a transaction waits', () => {
  it('the server ends its backend within seconds', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      'data/001_schemas.sql':
        'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
      'data/002_table.sql': 'CREATE TABLE IF NOT EXISTS workspace.t (id int);\n',
    });
    const env = { PRIMARY_DATABASE_URL: url };
    expect((await runCli(['migrate', 'data'], { cwd, env })).code).toBe(0);
    writeProjectFile(
      cwd,
      'data/003_index.sql',
      '-- schemata:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_id ON workspace.t (id);\n',
    );
    // An open transaction that wrote to the table: the index build waits for it to end.
    const holder = await openClient(url);
    try {
      await holder.query('BEGIN; INSERT INTO workspace.t VALUES (1)');
      const { child, done } = startCli(['migrate', 'data', '--statement-lock-timeout', '120'], {
        cwd,
        env,
      });
      const building = async () =>
        (
          await query<{ n: number }>(
            url,
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'CREATE INDEX CONCURRENTLY%'",
          )
        )[0]!.n;
      expect(
        await waitFor(
          async () =>
            (
              await query<{ n: number }>(
                url,
                "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'CREATE INDEX CONCURRENTLY%' AND wait_event_type = 'Lock'",
              )
            )[0]!.n === 1,
          20_000,
        ),
      ).toBe(true);
      child.kill('SIGKILL');
      await done;
      // The holder still holds: only the server's check of its client can end the build.
      expect(await waitFor(async () => (await building()) === 0, 10_000)).toBe(true);
      await holder.query('COMMIT');
      // Nothing builds the index after the blocker is gone.
      await new Promise((r) => setTimeout(r, 500));
      expect(
        await query(
          url,
          "SELECT count(*)::int AS n FROM pg_index WHERE indexrelid = to_regclass('workspace.t_id') AND indisvalid",
        ),
      ).toEqual([{ n: 0 }]);
    } finally {
      await holder.end();
    }
  });
});

/*
 * SPEC §4 "Stopping", however schemata was started: a platform stops the
 * process it started (npm run, sh -c), which exits without passing the
 * signal on. schemata, left to another parent, must stop too: nothing of the
 * migration may commit after the platform was told the job stopped.
 */
describe.each([
  [
    'npm run db:migrate',
    () => ['npm', ['run', '--silent', 'db:migrate']] as const,
    (bin: string) => `node ${bin} migrate data`,
  ],
  [
    'sh -c',
    (bin: string) => ['sh', ['-c', `node ${bin} migrate data; echo finished`]] as const,
    () => '',
  ],
])('started through %s, the wrapper stopped by SIGTERM', (_name, command, script) => {
  it('stops schemata too: the statement is cancelled, nothing of the migration commits', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      'data/001_schemas.sql':
        'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
      'data/002_slow.sql': 'CREATE TABLE workspace.slow (id int);\nSELECT pg_sleep(30);\n',
    });
    const bin = join(REPO, 'bin', 'schemata.js');
    writeFileSync(
      join(cwd, 'package.json'),
      JSON.stringify({ name: 'app', private: true, scripts: { 'db:migrate': script(bin) } }),
    );
    const [program, args] = command(bin);
    const wrapper = spawn(program, [...args], {
      cwd,
      env: { ...process.env, PRIMARY_DATABASE_URL: url },
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) =>
      wrapper.on('exit', (code) => {
        resolve(code);
      }),
    );
    expect(await sleepingIn(url)).toBe(true);
    wrapper.kill('SIGTERM');
    await exited;
    // schemata, left behind, stops within seconds: its session is gone, and nothing of 002 committed.
    expect(await waitFor(async () => (await sessions(url)) === 0, 10_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    expect(await tableExists(url, 'workspace.slow')).toBe(false);
    expect(await trackedVersions(url, 'data')).toEqual(['1']);
  });
});

/*
 * SPEC §4 "Stopping" for the recipes of MIGRATION_GUIDE.md, run as written
 * there (read from the guide): an app with schemata installed as its
 * dependency, stopped as its platform stops it, while a migration sleeps.
 */
const GUIDE = readFileSync(join(REPO, 'MIGRATION_GUIDE.md'), 'utf8');

/** The first fenced block of `lang` after `heading` in the guide. */
function guideBlock(heading: string, lang: string): string {
  const from = GUIDE.indexOf(heading);
  expect(from, `${heading} in MIGRATION_GUIDE.md`).toBeGreaterThan(-1);
  const block = new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``).exec(GUIDE.slice(from));
  return block![1]!;
}

/** The first container command (`command: [...]`, as JSON) after `heading` in the guide's YAML. */
function guideCommand(heading: string): string[] {
  const from = GUIDE.indexOf(heading);
  expect(from, `${heading} in MIGRATION_GUIDE.md`).toBeGreaterThan(-1);
  const line = /\n\s+command: (\[.*\])\n/.exec(GUIDE.slice(from));
  return JSON.parse(line![1]!) as string[];
}

const SLOW = {
  'primary/001_schemas.sql':
    'CREATE SCHEMA IF NOT EXISTS config;\nCREATE SCHEMA IF NOT EXISTS customer;\n',
  'data/001_schemas.sql':
    'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
  'data/002_slow.sql': 'CREATE TABLE workspace.slow (id int);\nSELECT pg_sleep(60);\n',
};

/**
 * An app as a deploy image holds it: schemata in node_modules (this
 * repository, linked), its bin in node_modules/.bin, a db:migrate script, a
 * server.js that notes it started. npm is pointed at no registry: `npx
 * schemata` must find the app's own.
 */
function installedApp(files: Record<string, string>): string {
  const cwd = makeProject(files);
  mkdirSync(join(cwd, 'node_modules', '.bin'), { recursive: true });
  symlinkSync(REPO, join(cwd, 'node_modules', 'schemata'));
  symlinkSync('../schemata/bin/schemata.js', join(cwd, 'node_modules', '.bin', 'schemata'));
  writeFileSync(
    join(cwd, 'package.json'),
    JSON.stringify({
      name: 'app',
      private: true,
      scripts: { 'db:migrate': 'schemata migrate data' },
      dependencies: { schemata: '*' },
    }),
  );
  writeFileSync(
    join(cwd, 'server.js'),
    "require('node:fs').writeFileSync('server-started', 'yes');\n",
  );
  return cwd;
}

const appEnv = (url: string): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '',
  CI: 'true',
  PRIMARY_DATABASE_URL: url,
  npm_config_registry: 'http://127.0.0.1:9/',
  npm_config_update_notifier: 'false',
});

// What a test started and left running when it failed is killed after it (unshare's --kill-child takes its namespace along).
const running: ChildProcess[] = [];
afterEach(() => {
  for (const child of running.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** Starts `argv` in `cwd` and returns it with a promise of its exit code (or the signal that ended it). */
function start(argv: readonly string[], cwd: string, env: NodeJS.ProcessEnv) {
  const child = spawn(argv[0]!, argv.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(child);
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null; output: string }>(
    (resolve) =>
      child.on('close', (code, signal) => {
        resolve({ code, signal, output });
      }),
  );
  return { child, exited };
}

/** Whether `promise` settles within `ms`. */
const within = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([
    promise.then((value) => ({ value })),
    new Promise<undefined>((resolve) =>
      setTimeout(() => {
        resolve(undefined);
      }, ms).unref(),
    ),
  ]);

/** What the server holds after the stop: no session of schemata, 002 neither made nor recorded; no password shown. */
async function nothingCommitted(url: string, output: string) {
  expect(output, 'the password leaked').not.toContain(PASSWORD());
  expect(await waitFor(async () => (await sessions(url)) === 0, 10_000)).toBe(true);
  await new Promise((r) => setTimeout(r, 500));
  expect(await tableExists(url, 'workspace.slow')).toBe(false);
  expect(await trackedVersions(url, 'data')).toEqual(['1']);
}

describe('a wrapper stopped by SIGTERM, the signal reaching only it', () => {
  it.each([
    ['npx schemata migrate', ['npx', 'schemata', 'migrate', 'data']],
    ['npm run db:migrate', ['npm', 'run', 'db:migrate']],
    ['pnpm db:migrate', [process.execPath, PNPM, 'db:migrate']],
  ])('%s: schemata stops itself, nothing of the migration commits', async (_name, argv) => {
    const url = await freshDatabase();
    const cwd = installedApp(SLOW);
    const { child, exited } = start(argv, cwd, appEnv(url));
    expect(await sleepingIn(url)).toBe(true);
    child.kill('SIGTERM');
    // Well within a platform's grace period (Docker's 10 s, Kubernetes' 30 s).
    const ended = (await within(exited, 10_000))?.value;
    expect(ended, 'the wrapper and schemata exited').toBeDefined();
    // The wrapper ends by the signal (a shell reports 143); schemata, its parent gone, stopped on its own.
    expect(ended!.signal, ended!.output).toBe('SIGTERM');
    expect(ended!.output).toContain(
      'stopped by the end of the process that started it while applying 002_slow.sql',
    );
    await nothingCommitted(url, ended!.output);
  });
});

// PID 1 of a container: a new PID namespace (as root), its first process started by unshare.
const pidNamespaces =
  process.getuid?.() === 0 &&
  spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status === 0;

/**
 * Runs `argv` as PID 1 of a new PID namespace, as a container runtime does
 * (when PID 1 exits, the kernel kills the rest); `init` is its pid out here,
 * where a signal reaches it only if it handles that signal, as `docker stop`'s
 * and the kubelet's do.
 */
async function asContainer(argv: readonly string[], cwd: string, env: NodeJS.ProcessEnv) {
  const started = start(
    ['unshare', '--pid', '--fork', '--mount-proc', '--kill-child', ...argv],
    cwd,
    env,
  );
  const unshare = started.child.pid!;
  let init = 0;
  await waitFor(() => {
    const children = readFileSync(`/proc/${unshare}/task/${unshare}/children`, 'utf8');
    init = Number(children.trim().split(' ')[0] ?? 0);
    return Promise.resolve(init > 0);
  }, 5_000);
  return { ...started, init };
}

describe.skipIf(!pidNamespaces)('as PID 1 of a container, stopped by SIGTERM', () => {
  it("the guide's Kubernetes Job: schemata cancels the migration and exits 143, the pod's code", async () => {
    const url = await freshDatabase();
    const cwd = installedApp(SLOW);
    const { init, exited } = await asContainer(guideCommand('**Kubernetes Job**'), cwd, {
      ...appEnv(url),
      NODE_ENV: 'production',
    });
    expect(await sleepingIn(url)).toBe(true);
    process.kill(init, 'SIGTERM');
    const ended = (await within(exited, 10_000))?.value;
    expect(ended, 'the container exited').toBeDefined();
    expect(ended!.code, ended!.output).toBe(143);
    expect(ended!.output).toContain('stopped by SIGTERM while applying 002_slow.sql');
    await nothingCommitted(url, ended!.output);
  });

  it("the guide's Docker entrypoint: the script passes SIGTERM on, exits 143, and the app does not start", async () => {
    const url = await freshDatabase();
    const cwd = installedApp(SLOW);
    writeFileSync(join(cwd, 'docker-entrypoint.sh'), guideBlock('**Docker entrypoint**', 'sh'));
    const { init, exited } = await asContainer(['sh', 'docker-entrypoint.sh'], cwd, appEnv(url));
    expect(await sleepingIn(url)).toBe(true);
    process.kill(init, 'SIGTERM');
    // Before docker stop's default grace period of 10 s, after which it kills.
    const ended = (await within(exited, 10_000))?.value;
    expect(ended, 'the container exited').toBeDefined();
    expect(ended!.code, ended!.output).toBe(143);
    expect(ended!.output).toContain('stopped by SIGTERM while applying 002_slow.sql');
    await nothingCommitted(url, ended!.output);
    expect(existsSync(join(cwd, 'server-started'))).toBe(false);
  });

  it("the guide's Docker entrypoint, not stopped: migrates, then the app starts", async () => {
    const url = await freshDatabase();
    const cwd = installedApp({
      ...SLOW,
      'data/002_slow.sql': 'CREATE TABLE workspace.slow (id int);\n',
    });
    writeFileSync(join(cwd, 'docker-entrypoint.sh'), guideBlock('**Docker entrypoint**', 'sh'));
    const { exited } = await asContainer(['sh', 'docker-entrypoint.sh'], cwd, appEnv(url));
    const ended = await exited;
    expect(ended.code, ended.output).toBe(0);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2']);
    expect(existsSync(join(cwd, 'server-started'))).toBe(true);
  });

  it("the guide's Kubernetes Indexed Job over a fleet: the shard's tenants in flight are rolled back, exit 143", async () => {
    const url = await freshDatabase();
    const tenants = ['tenant_a', 'tenant_b', 'tenant_c', 'tenant_d'];
    await query(url, tenants.map((t) => `CREATE SCHEMA ${t};`).join('\n'));
    const cwd = installedApp({
      'schemata.json': JSON.stringify({
        sets: [
          {
            name: 'tenant',
            dir: 'tenant',
            database: 'primary',
            tenants: {
              schemas: "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tenant\\_%'",
            },
          },
        ],
      }),
      'tenant/001_items.sql': 'CREATE TABLE items (id int);\nSELECT pg_sleep(60);\n',
    });
    const { init, exited } = await asContainer(guideCommand('# A Kubernetes Indexed Job'), cwd, {
      ...appEnv(url),
      JOB_COMPLETION_INDEX: '0',
    });
    expect(await sleepingIn(url)).toBe(true);
    process.kill(init, 'SIGTERM');
    const ended = (await within(exited, 10_000))?.value;
    expect(ended, 'the container exited').toBeDefined();
    expect(ended!.code, ended!.output).toBe(143);
    expect(ended!.output).toContain('Set "tenant": stopped by SIGTERM with 0 of 1 tenants done');
    expect(await waitFor(async () => (await sessions(url)) === 0, 10_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    // Shard 0 of 4 is tenant_a: nothing of its migration, and the other shards' tenants untouched.
    for (const tenant of tenants) {
      expect(await tableExists(url, `${tenant}.items`)).toBe(false);
      expect(await trackedVersions(url, `tenant/${tenant}`)).toEqual([]);
    }
  });
});
