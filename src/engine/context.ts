import { join } from 'node:path';
import { redactUrl } from '../targets/redact.js';
import { quoteIdent } from '../sql/quote.js';
import { discoverMigrations, type MigrationFile } from '../config/discover.js';
import { type Env, readSettings, type Settings } from '../config/env.js';
import { loadProjectConfig, projectRoot, selectSets, type SetConfig } from '../config/file.js';
import { cancelRunning, type Client, connect, endSession, keepIdleSessionSql } from './connect.js';
import { acquireLock, inRunLockedTransaction, lockObject, releaseLock } from './lock.js';
import type { LockKeeper } from './tenant-locks.js';
import {
  ensureTracking,
  type ExpectedObject,
  extraObjects,
  keepsExpectedState,
  type ExtraObject,
  missingAndExtra,
  missingObjectsOfSet,
  readTrackingMark,
  type TrackingFeatures,
} from './tracking.js';
import { ConfigError, ConnectionError } from '../errors.js';
import { trackingDenied } from './privileges.js';
import { readSchemaFacts, type SchemaFacts } from '../catalog/schema-facts.js';
import type { EmbeddedServer } from '../targets/embedded.js';
import { type Mode, resolveTargets, type Target, type TargetSpec } from '../targets/targets.js';
import type { TaskRunner } from './tasks.js';
import type { ApplyContext } from './session.js';

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
  /** Seconds a migration statement may wait for a table lock; default SCHEMATA_STATEMENT_LOCK_TIMEOUT or 5 (0: for ever). */
  statementLockTimeout?: number | string | undefined;
  /** Seconds to keep retrying the connection while a database is not up yet; default SCHEMATA_WAIT or 0. */
  wait?: number | string | undefined;
  /** Stops the run: the running statement is cancelled on the server and its migration rolled back. The CLI aborts it on SIGINT and SIGTERM, with the signal's name as reason. */
  signal?: AbortSignal | undefined;
  /** One-line notices (the embedded database, ignored variables). Default: none. */
  log?: (line: string) => void;
  /** How steps are run and shown; the CLI passes listr2. Default: plain, silent. */
  runner?: TaskRunner;
  /** One tenant of a fleet set (SPEC §10), run as the set: engine/fleet.ts sets it. */
  tenant?: TenantOfRun | undefined;
  /** Only to reach a fleet set's own database (to list its tenants): its tenants are not expanded. */
  listing?: boolean | undefined;
  /** Sessions lent by a fleet (engine/sessions.ts) instead of connections of the run's own. */
  sessions?: SessionLender | undefined;
  /** Where a fleet's tenant holds its run lock (engine/tenant-locks.ts); default: a connection of the run's own. */
  locks?: LockKeeper | undefined;
  /** @internal The process ends with the run (the CLI): it does not wait for the server to close a session it ended (engine/connect.ts endSession). */
  endsWithRun?: boolean | undefined;
}

/** Lends open sessions to the runs of a fleet's tenants, and takes them back clean. */
export interface SessionLender {
  borrow(connect: () => Promise<Client>): Promise<Client>;
  giveBack(client: Client): Promise<void>;
}

/** A tenant as one run sees it: a schema of the set's database, or a database of its own. */
export type TenantOfRun = (
  | {
      set: string;
      name: string;
      schema: string;
      /** What the fleet's one reading found this tenant lacks (undefined: not read); its planning needs no reading of its own. */
      missing?: ExpectedObject[] | undefined;
      /** The tracking tables, made by the fleet before its tenants run. */
      tracking?: TrackingFeatures | undefined;
      /** The fleet validates this tenant after migrate, with every other it ran, from one reading of the database. */
      validatedByFleet?: boolean | undefined;
      /** Its schema as the fleet's one reading found it (without data): its planning asks nothing more. */
      facts?: SchemaFacts[] | undefined;
    }
  | { set: string; name: string; url: string }
) & {
  /** The set's files, as the fleet read them once for all its tenants. */
  files?: MigrationFile[] | undefined;
};

/** One set, ready to run: its config, files and target. */
export interface SetRun {
  config: SetConfig;
  files: MigrationFile[];
  target: Target;
  variable: string;
}

interface Connection {
  client: Client;
  /** Releases the run lock, once held (engine/lock.ts). */
  unlock: (() => Promise<void>) | undefined;
  /** Taking the run lock, once for the run: a set that asks after another set's wait gave up gets its error at once. */
  locking?: Promise<void> | undefined;
  /** The session that holds the run lock (a run of its own, not a fleet's): idle once it holds it, it lists the catalog. */
  holder?: Client | undefined;
  /** The session listing the catalog beside the run's, while it does (readCatalogBeside): a stop cancels it too. */
  reader?: Client | undefined;
  /** Set once the tracking tables are ensured. */
  tracking: TrackingFeatures | undefined;
  /** What planning found missing, for every set of the database, and (status) extra in the run's schemas, read once; undefined where no expected state is kept. */
  reading?:
    | Promise<
        { missing: Map<string, ExpectedObject[]>; extra: ExtraObject[] | undefined } | undefined
      >
    | undefined;
  target: Target;
  variable: string;
}

/*
 * Which server and database a connection reached, whatever the URL said: the
 * postmaster's start time, the database's OID and name. Two connections with
 * the same identity are one database. In the same round trip the session
 * keeps itself open while idle (keepIdleSessionSql).
 */
async function databaseIdentity(client: Client): Promise<string> {
  const { rows } = await client.query<{ id: string }>(
    `SELECT pg_catalog.pg_postmaster_start_time()::text || '/' || (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())::text || '/' || pg_catalog.current_database() AS id,
            ${keepIdleSessionSql(client)} AS kept`,
  );
  return rows[0]!.id;
}

/** Connects; with --wait, keeps trying while the server cannot be reached, once a second, until the wait is over. */
async function connectWaiting(
  set: SetRun,
  waitS: number,
  signal: AbortSignal | undefined,
  log: ((line: string) => void) | undefined,
): Promise<Client> {
  const started = Date.now();
  const deadline = started + waitS * 1000;
  let said = started;
  for (;;) {
    try {
      return await connect(set.target, set.variable, { waitedS: waitS });
    } catch (error) {
      if (!(error instanceof ConnectionError) || Date.now() >= deadline || signal?.aborted)
        throw error;
      // Never silent for long: a log says every few seconds that the run is still waiting, and for what.
      if (Date.now() - said >= WAIT_SAID_MS) {
        said = Date.now();
        log?.(
          `Set "${set.config.name}": ${set.target.display} is not reachable yet; trying again (${Math.round((said - started) / 1000)}s of --wait ${waitS}).`,
        );
      }
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(1000, Math.max(0, deadline - Date.now()))),
      );
    }
  }
}

/** A set as a message about its tracking names it. */
export const whereOf = (set: SetRun) => ({
  set: set.config.name,
  variable: set.variable,
  display: set.target.display,
});

/** How often a wait for the database says it is still waiting. */
const WAIT_SAID_MS = 5000;

/** Everything gathered before anything is decided, and the connections to close. */
export interface Run {
  cwd: string;
  settings: Settings;
  mode: Mode;
  sets: SetRun[];
  warnings: string[];
  /** Aborted on SIGINT or SIGTERM (reason: the signal's name). */
  signal: AbortSignal | undefined;
  /** The fleet's tenant this run is (SPEC §10), if it is one. */
  tenant: TenantOfRun | undefined;
  /**
   * One connection per database, shared by the sets that run there (however their URLs spell it).
   * `listing`: planning will list the catalog (missingObjects); a run that takes no lock opens a session
   * for that beside this one, at the same time.
   */
  connection(set: SetRun, options?: { lock?: boolean; listing?: boolean }): Promise<Client>;
  /** Cancels on the server whatever statement the run's connections are running. */
  cancel(): Promise<void>;
  /** The run lock is taken in each transaction of the run (a fleet's tenant database), not held for the run. */
  runLockPerTransaction: boolean;
  /**
   * Where the run lock is taken per transaction, holds it for one step run
   * outside a transaction, on a connection of its own, until what it returns
   * is called; a tenant schema waits for its fleet's turn to run the step
   * (engine/tenant-locks.ts); elsewhere the run holds it already, and this
   * does nothing.
   */
  lockForStep(set: SetRun, outsideTransaction: boolean): Promise<() => Promise<void>>;
  /**
   * The set's tracking as it stands (readTrackingMark), so that
   * a plan read while another run wrote is read again: where the run lock is
   * taken per transaction, read while no other run holds it; `unlocked`, by
   * a command that takes no lock (status, validate, a dry run); undefined
   * where this run holds the database's lock, under which nothing else writes
   * the tracking.
   */
  trackingMark(set: SetRun, options?: { unlocked?: boolean }): Promise<string | undefined>;
  /**
   * Creates the tracking table if it is not there, once per database; called
   * right before the first write, so that a run stopped by validation writes
   * nothing at all.
   */
  ensureTracking(set: SetRun): Promise<TrackingFeatures>;
  /**
   * The set's expected objects that the catalog does not have, as planning
   * sees them, and with `extra` (status) the objects of its schemas that no
   * migration made: the sets of one database share one reading of its
   * catalog (a full listing, the costliest query of a no-op run). After
   * migrations ran, ask missingAfterRun.
   */
  missingObjects(
    set: SetRun,
    options?: { fresh?: boolean; extra?: boolean },
  ): Promise<{ missing: ExpectedObject[]; extra: ExtraObject[] | undefined }>;
  /**
   * The set's expected objects that the catalog does not have, after its
   * migrations ran: its own schemas listed, on the session that holds the run
   * lock where there is one (in the lock's transaction), so that the run's
   * session reads the facts meanwhile.
   */
  missingAfterRun(set: SetRun): Promise<ExpectedObject[]>;
  /**
   * What the catalog says of the set's schemas before it runs; `withData`
   * asks their tables for rows (status); `askData` too, except where a
   * fleet's reading already answered the rest (a tenant's data is not shown).
   */
  schemaFacts(
    set: SetRun,
    options: { withData: boolean; askData: boolean },
  ): Promise<SchemaFacts[]>;
  close(): Promise<void>;
}

/**
 * Gathers config, environment, migration files and targets (starting the
 * embedded PostgreSQL when no URL is set). Config errors surface here,
 * before any database is touched, but for a file that cannot be read as
 * text: the files' texts are read while the server answers planning's first
 * question (engine/plan-set.ts).
 */
export async function openRun(options: RunOptions): Promise<Run> {
  const cwd = options.cwd ?? process.cwd();
  // The API's env is laid over the process's: it never hides NODE_ENV=production of the process.
  const settings = readSettings({
    processEnv: { ...process.env, ...options.env },
    cwd,
    envFile: options.envFile,
    lockTimeout: options.lockTimeout,
    statementLockTimeout: options.statementLockTimeout,
    wait: options.wait,
  });
  const project = loadProjectConfig({ cwd, configPath: options.config });
  const chosen = selectSets(project, options.sets ?? []);
  // A fleet reads its set's folder once and lends the files to each tenant's run.
  const files = chosen.map((set) =>
    options.tenant?.files && set.name === options.tenant.set
      ? options.tenant.files
      : discoverMigrations(set),
  );
  const unexpanded = options.listing
    ? undefined
    : chosen.find((c) => c.tenants && c.name !== options.tenant?.set);
  if (unexpanded)
    throw new ConfigError(
      `Set "${unexpanded.name}" is a fleet of tenants: it runs tenant by tenant, not as one set.`,
      `Run it on its own: schemata migrate ${unexpanded.name}`,
    );
  const { mode, targets: resolved, warnings } = resolveTargets(settings, chosen);
  // A tenant database is its own target: its URL, its own connection and lock.
  const tenant = options.tenant;
  const specs = resolved.map((spec): TargetSpec =>
    tenant && 'url' in tenant && spec.set === tenant.set
      ? {
          kind: 'url',
          set: spec.set,
          database: `tenant ${tenant.name}`,
          variable: `the tenants of set "${tenant.set}"`,
          url: tenant.url,
          display: redactUrl(tenant.url),
        }
      : spec,
  );
  for (const warning of warnings) options.log?.(`warning: ${warning}`);

  let embedded: EmbeddedServer | undefined;
  const embeddedDatabases = [
    ...new Set(specs.filter((s) => s.kind === 'embedded').map((s) => s.database)),
  ];
  if (embeddedDatabases.length > 0) {
    const { startEmbedded } = await import('../targets/embedded.js');
    embedded = await startEmbedded(projectRoot(project, cwd), embeddedDatabases);
    const outside =
      embedded.dataDir === join(embedded.dir, 'pgdata')
        ? ''
        : `; its data is in ${embedded.dataDir}, where the user postgres, which it runs as under root, can reach it${embedded.elsewhere ? ` (that user cannot enter ${embedded.elsewhere})` : ''}`;
    options.log?.(
      `No database URL set: using the embedded PostgreSQL in ${embedded.dir} (127.0.0.1:${embedded.port}, ` +
        `${mode === 'split' ? 'databases primary and data' : 'database primary'})${outside}; set PRIMARY_DATABASE_URL to use your own.`,
    );
  }

  const toTarget = (spec: TargetSpec): Target => {
    if (spec.kind === 'url')
      return { set: spec.set, database: spec.database, url: spec.url, display: spec.display };
    const url = embedded!.urlFor(spec.database);
    return {
      set: spec.set,
      database: spec.database,
      url,
      display: `postgres://postgres:***@127.0.0.1:${embedded!.port}/${spec.database} (embedded)`,
    };
  };
  const sets = chosen.map((config, i): SetRun => {
    const target = toTarget(specs[i]!);
    // A tenant schema: tracked, locked and validated as a set of its own, under the tenant's search_path.
    if (tenant && 'schema' in tenant && config.name === tenant.set)
      return {
        config: { ...config, name: `${config.name}/${tenant.name}`, schemas: [tenant.schema] },
        files: files[i]!,
        target: { ...target, searchPath: `${quoteIdent(tenant.schema)}, public` },
        variable: specs[i]!.variable,
      };
    return { config, files: files[i]!, target, variable: specs[i]!.variable };
  });

  // A fleet lends its sessions: given back clean, they keep their server-side plans for the next tenant.
  const lender = options.sessions;
  const open = (set: SetRun) => {
    const connect = () => connectWaiting(set, settings.waitS, options.signal, options.log);
    return lender ? lender.borrow(connect) : connect();
  };
  const shut = (client: Client) =>
    lender ? lender.giveBack(client) : endSession(client, options.endsWithRun);
  const connections = new Map<string, Promise<Connection>>();
  const perTransaction = options.locks?.perTransaction === true;
  // The run lock is the database's (a tenant schema's is its own): a wait for it names every set of the run it holds up.
  const whereLocked = (set: SetRun) => {
    const held = sets
      .filter(
        (s) =>
          s.target.database === set.target.database &&
          lockObject(s.config.name) === lockObject(set.config.name),
      )
      .map((s) => `"${s.config.name}"`);
    const named =
      held.length > 1
        ? `Sets ${held.slice(0, -1).join(', ')} and ${held[held.length - 1]!}`
        : `Set "${set.config.name}"`;
    return `${named} on ${set.target.display}`;
  };
  // The same database through another spelling of its URL (localhost, 127.0.0.1): one connection, one lock.
  const byIdentity = new Map<string, Promise<Connection>>();
  // The schemas' facts read for a set before it asks (schemaFacts), and which sets asked (or were read for).
  const factsAhead = new Map<string, Promise<SchemaFacts[]>>();
  const factsAsked = new Set<string>();
  /*
   * The catalog's listing for the missing-object check (the longest reading
   * of a no-op run) runs on a session beside the run's, so that the run's
   * session reads tracking and the schemas' facts meanwhile: the one that
   * holds the run lock, idle once it holds it, or (a run that takes no lock)
   * one opened for it and ended after it. A fleet's tenant (lent sessions,
   * its lock held elsewhere) and a session that cannot be opened read on the
   * run's. Undefined where the database keeps no expected state.
   */
  // Opened once per database, for its one listing; taken by it (or by close).
  const besides = new Map<string, Promise<Client | undefined> | undefined>();
  const openBeside = (set: SetRun) => {
    if (lender || options.locks || besides.has(set.target.database)) return;
    besides.set(
      set.target.database,
      connect(set.target, set.variable).catch(() => undefined),
    );
  };
  const takeBeside = async (database: string) => {
    const beside = besides.get(database);
    if (beside) besides.set(database, undefined);
    return beside;
  };
  const readCatalogBeside = async (connection: Connection, extraIn: string[] | undefined) => {
    const opened = await takeBeside(connection.target.database);
    const own = connection.holder ? undefined : opened;
    if (opened && !own) await shut(opened);
    const client = connection.holder ?? own ?? connection.client;
    if (client !== connection.client) connection.reader = client;
    try {
      if (!(await keepsExpectedState(client))) return undefined;
      // The lock's session lists in the transaction that holds the lock, which must stay open.
      return await missingAndExtra(client, extraIn, {
        inTransaction: client === connection.holder,
      });
    } finally {
      connection.reader = undefined;
      if (own) await shut(own);
    }
  };
  return {
    cwd,
    settings,
    mode,
    sets,
    warnings,
    signal: options.signal,
    tenant,
    async connection(set, { lock = false, listing = false } = {}) {
      const key = set.target.database;
      let pending = connections.get(key);
      if (listing && !lock) openBeside(set);
      // The lock's own session connects beside the run's, not after it: one connection's set-up
      // (a TLS handshake and authentication, to a remote server) less to wait for. One try, which
      // neither waits nor says it waits (--wait is the run's connection's to say); where it fails,
      // the session connects after the run's, as it would have.
      let holding: Promise<Client | undefined> | undefined;
      if (!pending && lock && !options.locks && !lender)
        holding = connect(set.target, set.variable, { waitedS: settings.waitS }).catch(
          () => undefined,
        );
      const shutHolding = async () => {
        const early = await holding;
        holding = undefined;
        if (early) await shut(early);
      };
      if (!pending) {
        pending = (async () => {
          const client = await open(set);
          const identity = await databaseIdentity(client);
          const same = byIdentity.get(identity);
          if (same) {
            await shut(client);
            return same;
          }
          const connection = Promise.resolve<Connection>({
            client,
            unlock: undefined,
            tracking: undefined,
            target: set.target,
            variable: set.variable,
          });
          byIdentity.set(identity, connection);
          return connection;
        })();
        connections.set(key, pending);
      }
      let connection: Connection;
      try {
        connection = await pending;
      } catch (error) {
        await shutHolding();
        throw error;
      }
      // The same database through another spelling of its URL, locked (or locking) already: the early session is not needed.
      if (connection.locking) await shutHolding();
      if (lock) {
        const where = whereLocked(set);
        const locked = connection;
        // Waiting ends at a stop (SIGINT, SIGTERM): it holds no statement for the server to cancel.
        locked.locking ??= (async () => {
          if (options.locks) {
            locked.unlock = await options.locks.hold(
              locked.client,
              where,
              settings.lockTimeoutS,
              set.config.name,
              options.signal,
            );
            return;
          }
          const holder = (await holding) ?? (await open(set));
          try {
            await acquireLock(
              holder,
              where,
              settings.lockTimeoutS,
              set.config.name,
              options.signal,
            );
          } catch (error) {
            await shut(holder);
            throw error;
          }
          locked.holder = holder;
          locked.unlock = async () => {
            // After the catalog's listing, where it still runs there: a session answers in turn.
            await releaseLock(holder).catch(() => {});
            await shut(holder);
          };
        })();
        await locked.locking;
      }
      return connection.client;
    },
    async missingObjects(set, { fresh = false, extra = false } = {}) {
      const connection = await connections.get(set.target.database)!;
      const none = { missing: [], extra: extra ? [] : undefined };
      const lent = tenant && 'schema' in tenant ? tenant.missing : undefined;
      // A tenant of a fleet: what the fleet's one reading found, or its own schemas read (the database holds the other tenants too).
      if ((lent && !fresh) || set.config.name.includes('/')) {
        const { client } = connection;
        if (lent && !fresh && !extra) return { missing: lent, extra: undefined };
        if (!(await keepsExpectedState(client))) return none;
        return {
          missing: lent && !fresh ? lent : await missingObjectsOfSet(client, set.config.name),
          extra: extra ? await extraObjects(client, set.config.schemas) : undefined,
        };
      }
      // Status asks every set for its extra objects: one reading answers for the schemas of all of the run's sets.
      if (fresh || !connection.reading) {
        const extraIn = extra ? [...new Set(sets.flatMap((s) => s.config.schemas))] : undefined;
        connection.reading = readCatalogBeside(connection, extraIn);
      }
      const reading = await connection.reading;
      if (!reading) return none;
      const schemas = new Set(set.config.schemas);
      return {
        missing: reading.missing.get(set.config.name) ?? [],
        extra: !extra
          ? undefined
          : reading.extra
            ? reading.extra.filter((o) => schemas.has(o.schema))
            : await extraObjects(connection.client, set.config.schemas),
      };
    },
    async missingAfterRun(set) {
      const connection = await connections.get(set.target.database)!;
      const client = connection.holder ?? connection.client;
      if (!(await keepsExpectedState(client))) return [];
      return missingObjectsOfSet(client, set.config.name, {
        inTransaction: client === connection.holder,
      });
    },
    async schemaFacts(set, { withData, askData }) {
      const lent = tenant && 'schema' in tenant ? tenant.facts : undefined;
      if (lent && !withData) return lent;
      const connection = await connections.get(set.target.database)!;
      const data = withData || askData;
      const keyOf = (s: SetRun) => `${data}:${s.config.name}`;
      const ahead = factsAhead.get(keyOf(set));
      factsAhead.delete(keyOf(set));
      if (ahead) return ahead;
      factsAsked.add(keyOf(set));
      // Under the run lock nothing else writes what a set's plan reads: the first set to ask reads the facts
      // of every set of its database that has not asked yet, in the same query, and each takes its own once.
      const others = connection.unlock
        ? sets.filter(
            (s) =>
              s !== set && s.target.database === set.target.database && !factsAsked.has(keyOf(s)),
          )
        : [];
      const reading = readSchemaFacts(
        connection.client,
        [...new Set([set, ...others].flatMap((s) => s.config.schemas))],
        { withData: data },
      );
      const of = (s: SetRun) => async () => {
        const all = await reading;
        return s.config.schemas.map((name) => all.find((f) => f.name === name)!);
      };
      for (const other of others) {
        factsAsked.add(keyOf(other));
        const taken = of(other)();
        // Its failure is the other set's planning's to report, if it asks.
        taken.catch(() => undefined);
        factsAhead.set(keyOf(other), taken);
      }
      return of(set)();
    },
    async ensureTracking(set) {
      const connection = await connections.get(set.target.database)!;
      if (connection.tracking) return connection.tracking;
      if (tenant && 'schema' in tenant && tenant.tracking) {
        connection.tracking = tenant.tracking;
        return tenant.tracking;
      }
      // Two runs making the tracking tables the first time: one after the other, under the run lock.
      const ensure = perTransaction
        ? () =>
            inRunLockedTransaction(
              connection.client,
              whereLocked(set),
              settings.lockTimeoutS,
              set.config.name,
              options.signal,
              () => ensureTracking(connection.client),
            )
        : () => ensureTracking(connection.client);
      const features = await ensure().catch(async (error: unknown) => {
        throw await trackingDenied(connection.client, whereOf(set), error);
      });
      connection.tracking = features;
      return features;
    },
    runLockPerTransaction: perTransaction,
    async lockForStep(set, outsideTransaction) {
      if (options.locks?.turn) return options.locks.turn(outsideTransaction);
      if (!perTransaction || !outsideTransaction) return () => Promise.resolve();
      const holder = await open(set);
      try {
        await acquireLock(
          holder,
          whereLocked(set),
          settings.lockTimeoutS,
          set.config.name,
          options.signal,
        );
      } catch (error) {
        await shut(holder);
        throw error;
      }
      return async () => {
        await releaseLock(holder).catch(() => {});
        await shut(holder);
      };
    },
    async trackingMark(set, { unlocked = false } = {}) {
      if (!perTransaction && !unlocked) return undefined;
      // A tenant schema's tracking is the fleet's one reading, lent: a tenant's plan is not read again.
      if (tenant && 'schema' in tenant && tenant.tracking) return undefined;
      const { client } = await connections.get(set.target.database)!;
      // A role that may not read the tracking hears it from the plan's own reading, with the grant to ask for.
      if (!perTransaction) return readTrackingMark(client, set.config.name).catch(() => undefined);
      return inRunLockedTransaction(
        client,
        whereLocked(set),
        settings.lockTimeoutS,
        set.config.name,
        options.signal,
        () => readTrackingMark(client, set.config.name),
      );
    },
    async cancel() {
      const all = await Promise.allSettled(byIdentity.values());
      for (const c of all) {
        if (c.status !== 'fulfilled') continue;
        cancelRunning(c.value.client, c.value.target);
        if (c.value.reader) cancelRunning(c.value.reader, c.value.target);
      }
    },
    async close() {
      // Ending the lock's transaction releases it; ending a session would too.
      const all = await Promise.allSettled(byIdentity.values());
      await Promise.all(
        all.map(async (c) => {
          if (c.status !== 'fulfilled') return;
          // A listing still running (planning failed before it was awaited) ends first: its session is ended after it.
          await c.value.reading?.catch(() => undefined);
          const unused = await takeBeside(c.value.target.database);
          if (unused) await shut(unused);
          await c.value.unlock?.().catch(() => {});
          await shut(c.value.client);
        }),
      );
      await embedded?.stop();
    },
  };
}

/** What engine/apply.ts is told to run one of a set's steps on `client`, from the run's settings. */
export function applyContextOf(
  run: Run,
  set: SetRun,
  client: Client,
  tracking: TrackingFeatures,
  step: { path: string; expectedEvent: number | null },
  show?: (line: string) => void,
): ApplyContext {
  return {
    // A fleet shows its tenants, not their migrations' heartbeats: a tenant's would cost a connection and be shown nowhere.
    watch:
      show && !run.tenant ? { show, connect: () => connect(set.target, set.variable) } : undefined,
    tracking,
    client,
    set: set.config.name,
    cwd: run.cwd,
    path: step.path,
    statementLockTimeoutMs: run.settings.statementLockTimeoutS * 1000,
    runLockPerTransaction: run.runLockPerTransaction,
    runLockTimeoutMs: run.settings.lockTimeoutS * 1000,
    expectedEvent: step.expectedEvent,
    signal: run.signal,
    searchPath: set.target.searchPath,
  };
}
