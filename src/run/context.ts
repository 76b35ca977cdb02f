import { discoverMigrations, type MigrationFile } from '../config/discover.js';
import { type Env, readSettings, type Settings } from '../config/env.js';
import { loadProjectConfig, selectSets, type SetConfig } from '../config/file.js';
import { type Client, connect } from '../db/connect.js';
import { acquireLock } from '../db/lock.js';
import { ensureTracking } from '../db/tracking.js';
import { ConfigError } from '../errors.js';
import type { EmbeddedServer } from '../targets/embedded.js';
import { secretsOfUrl } from '../targets/redact.js';
import { type Mode, resolveTargets, type Target, type TargetSpec } from '../targets/targets.js';
import type { TaskRunner } from './tasks.js';

/** What the API functions take: everything optional, defaults as the CLI has them. */
export interface RunOptions {
  /** Project root: where database/ and .schemata/ are. Default: process.cwd(). */
  cwd?: string;
  /** Path of schemata.json (SPEC --config). */
  config?: string;
  /** Environment to read instead of process.env (then .env beneath it). */
  env?: Env;
  /** Read this file instead of .env. */
  envFile?: string;
  /** Sets to run, in config order; default all. */
  sets?: string[];
  /** Seconds to wait for another run's lock; default SCHEMATA_LOCK_TIMEOUT or 60. */
  lockTimeout?: number | string | undefined;
  /** One-line notices (the embedded database, ignored variables). Default: none. */
  log?: (line: string) => void;
  /** How steps are run and shown; the CLI passes listr2. Default: plain, silent. */
  runner?: TaskRunner;
}

/** One set, ready to run: its config, files and target. */
export interface SetRun {
  config: SetConfig;
  files: MigrationFile[];
  target: Target;
  variable: string;
}

interface Connection {
  client: Client;
  locked: boolean;
  tracking: boolean;
}

/** Everything gathered before anything is decided, and the connections to close. */
export interface Run {
  cwd: string;
  settings: Settings;
  mode: Mode;
  sets: SetRun[];
  warnings: string[];
  /** Passwords to scrub from anything that leaves the process. */
  secrets: string[];
  /** One connection per database, shared by the sets that run there. */
  connection(set: SetRun, options?: { lock?: boolean }): Promise<Client>;
  /**
   * Creates the tracking table if it is not there, once per database; called
   * right before the first write, so that a run stopped by validation writes
   * nothing at all.
   */
  ensureTracking(set: SetRun): Promise<void>;
  close(): Promise<void>;
}

/**
 * Gathers config, environment, migration files and targets (starting the
 * embedded PostgreSQL when no URL is set). Config errors surface here,
 * before any database is touched.
 */
export async function openRun(options: RunOptions): Promise<Run> {
  const cwd = options.cwd ?? process.cwd();
  const settings = readSettings({ processEnv: options.env ?? process.env, cwd, envFile: options.envFile, lockTimeout: options.lockTimeout });
  const project = loadProjectConfig({ cwd, configPath: options.config });
  const chosen = selectSets(project, options.sets ?? []);
  const files = chosen.map(discoverMigrations);
  const { mode, targets: specs, warnings } = resolveTargets(settings, chosen);
  for (const warning of warnings) options.log?.(`warning: ${warning}`);

  const secrets = specs.flatMap((s) => (s.kind === 'url' ? secretsOfUrl(s.url) : []));
  let embedded: EmbeddedServer | undefined;
  const embeddedDatabases = [...new Set(specs.filter((s) => s.kind === 'embedded').map((s) => s.database))];
  if (embeddedDatabases.length > 0) {
    const { startEmbedded } = await import('../targets/embedded.js');
    embedded = await startEmbedded(cwd, embeddedDatabases);
    secrets.push(embedded.password, encodeURIComponent(embedded.password));
    options.log?.(
      `No database URL set: using the embedded PostgreSQL in ${embedded.dir} (127.0.0.1:${embedded.port}, ` +
        `${mode === 'split' ? 'databases primary and data' : 'database primary'}); set PRIMARY_DATABASE_URL to use your own.`,
    );
  }

  const toTarget = (spec: TargetSpec): Target => {
    if (spec.kind === 'url') return { set: spec.set, database: spec.database, url: spec.url, display: spec.display };
    const url = embedded!.urlFor(spec.database);
    return { set: spec.set, database: spec.database, url, display: `postgres://postgres:***@127.0.0.1:${embedded!.port}/${spec.database} (embedded)` };
  };
  const sets = chosen.map((config, i) => ({ config, files: files[i]!, target: toTarget(specs[i]!), variable: specs[i]!.variable }));

  const connections = new Map<string, Promise<Connection>>();
  return {
    cwd,
    settings,
    mode,
    sets,
    warnings,
    secrets,
    async connection(set, { lock = false } = {}) {
      const key = set.target.database;
      let pending = connections.get(key);
      if (!pending) {
        pending = connect(set.target, set.variable).then((client) => ({ client, locked: false, tracking: false }));
        connections.set(key, pending);
      }
      const connection = await pending;
      if (lock && !connection.locked) {
        await acquireLock(connection.client, `Set "${set.config.name}" on ${set.target.display}`, settings.lockTimeoutS);
        connection.locked = true;
      }
      return connection.client;
    },
    async ensureTracking(set) {
      const connection = await connections.get(set.target.database)!;
      if (connection.tracking) return;
      await ensureTracking(connection.client).catch((error: { code?: string; message?: string }) => {
        if (error.code !== '42501') throw error; // insufficient_privilege
        throw new ConfigError(
          `Set "${set.config.name}": the role in ${set.variable} cannot create schemata's tracking table (schemata.migrations) on ${set.target.display}: ${error.message}.`,
          'Grant it CREATE on the database (GRANT CREATE ON DATABASE <db> TO <role>), or have an owner run CREATE SCHEMA schemata AUTHORIZATION <role> once.',
          { cause: error },
        );
      });
      connection.tracking = true;
    },
    async close() {
      // Ending a session releases its advisory lock with it.
      const all = await Promise.allSettled(connections.values());
      await Promise.all(all.map((c) => (c.status === 'fulfilled' ? c.value.client.end().catch(() => {}) : undefined)));
      await embedded?.stop();
    },
  };
}
