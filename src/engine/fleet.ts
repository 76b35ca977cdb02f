import { type MigrationFile, sameChecksum } from '../config/discover.js';
import { loadProjectConfig, selectSets, type SetConfig } from '../config/file.js';
import { type Client, connect } from './connect.js';
import {
  type ExpectedObject,
  missingObjectsBySet,
  readTrackingByPrefix,
  type TrackedMigration,
  type TrackingFeatures,
} from './tracking.js';
import { openRun, type RunOptions, type TenantOfRun } from './context.js';
import { asSchemataError } from './execute.js';
import {
  entryOf,
  newReport,
  recordError,
  type Report,
  type SetReport,
  type TenantReport,
} from './report.js';
import { SessionPool } from './sessions.js';
import { applicationName } from './session.js';
import { type LockKeeper, RunLockPerTransaction, TenantLocks } from './tenant-locks.js';
import { runTasks } from './tasks.js';
import { ConfigError, EXIT, type ExitCode } from '../errors.js';
import { checkAfterMigrate } from '../model/plan.js';
import { readManySchemaFacts, type SchemaFacts } from '../catalog/schema-facts.js';
import {
  databaseNames,
  listTenants,
  type ServerDatabase,
  type Tenant,
  unlistedDatabases,
} from '../targets/tenants.js';
import { holdsTrackingOf, listDatabases } from '../catalog/tenant-databases.js';
import { maskSecrets, redactUrl } from '../targets/redact.js';

/** How a fleet is run (SPEC §10). */
export interface FleetOptions {
  /** Only these tenants (names as listed). */
  tenants?: readonly string[] | undefined;
  /** Tenants in flight at once; default 4. */
  concurrency?: number | string | undefined;
  /** `I/N`: this process takes every N-th tenant from the I-th (0-based), for N processes with no coordinator. */
  shard?: string | undefined;
  /** Apply to this many tenants first, and stop if one of them fails. */
  canary?: number | string | undefined;
  /** Go on starting tenants after one failed (migrate; status and validate always do). */
  continueOnError?: boolean | undefined;
}

export type FleetCommand = 'migrate' | 'status' | 'validate';

/**
 * Fleet flags on a run without a fleet set would be ignored: a usage error
 * instead (a --shard that silently did everything would run a shard's work N times).
 */
export function fleetFlagsAlone(
  command: FleetCommand,
  options: RunOptions & FleetOptions,
): Report | undefined {
  if (options.tenant) return undefined;
  const given = [
    options.tenants && options.tenants.length > 0 ? '--tenants' : undefined,
    options.concurrency !== undefined ? '--concurrency' : undefined,
    options.shard !== undefined ? '--shard' : undefined,
    options.canary !== undefined ? '--canary' : undefined,
    options.continueOnError ? '--continue-on-error' : undefined,
  ].filter((flag) => flag !== undefined);
  if (given.length === 0) return undefined;
  const report = newReport(command, 'single');
  recordError(
    report,
    new ConfigError(
      `${given.join(', ')} ${given.length === 1 ? 'applies' : 'apply'} to sets with "tenants", and this run has none.`,
      `Name a set with tenants (MIGRATION_GUIDE.md, "Tenants"), or leave ${given.length === 1 ? 'the flag' : 'the flags'} out: schemata ${command}`,
    ),
  );
  return report;
}

/** Does this run take a fleet set? A config that does not load is left to the ordinary run to report. */
export function isFleet(options: RunOptions): boolean {
  if (options.tenant) return false;
  try {
    const project = loadProjectConfig({
      cwd: options.cwd ?? process.cwd(),
      configPath: options.config,
    });
    return selectSets(project, options.sets ?? []).some((s) => s.tenants);
  } catch {
    return false;
  }
}

/** A whole number flag, as typed, with its default. */
function count(
  name: string,
  value: number | string | undefined,
  fallback: number,
  min: number,
): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new ConfigError(
      `--${name} must be a whole number of ${min} or more, not ${String(value)}.`,
      `For example: --${name} ${Math.max(min, 4)}`,
    );
  return n;
}

/** `--shard I/N`, checked. */
export function parseShard(text: string | undefined): { index: number; of: number } | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(match?.[1]);
  const of = Number(match?.[2]);
  if (!match || of < 1 || index >= of)
    throw new ConfigError(
      `--shard "${text}" is not I/N with 0 <= I < N (this process's index, and how many processes share the fleet).`,
      'For example, the second of four processes: --shard 1/4',
    );
  return { index, of };
}

/** The tenants this process runs, in name order: the --tenants named, this shard's share. Pure. */
export function chooseTenants(
  set: string,
  all: readonly Tenant[],
  named: readonly string[] | undefined,
  shard: { index: number; of: number } | undefined,
): Tenant[] {
  const sorted = [...all].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let chosen = sorted;
  if (named && named.length > 0) {
    const known = new Set(sorted.map((t) => t.name));
    const unknown = named.filter((n) => !known.has(n));
    if (unknown.length > 0)
      throw new ConfigError(
        `Set "${set}" has no tenant named ${unknown.map((u) => `"${u}"`).join(', ')}; it has ${sorted.length} (${sorted
          .slice(0, 5)
          .map((t) => t.name)
          .join(', ')}${sorted.length > 5 ? ', …' : ''}).`,
        `See them all: schemata status ${set}`,
      );
    chosen = sorted.filter((t) => named.includes(t.name));
  }
  if (shard) chosen = chosen.filter((_, i) => i % shard.of === shard.index);
  return chosen;
}

/**
 * Runs a command over the tenants of each fleet set, and the other sets as
 * one ordinary run: each tenant is a run of its own (its history, lock,
 * expected state, data protection and validation), at most `concurrency` at
 * once. The first failure stops new tenants from starting unless
 * `continueOnError` (status and validate report every tenant); those in
 * flight finish. The exit code is the worst tenant's.
 */
/** Thrown by the fleet's task when a tenant failed or never started, to mark its line; caught by the fleet. */
class TenantsFailed extends Error {}

/**
 * The fleet's task (SPEC §10): its title, a bar of the tenants done with the
 * counts, the failed tenants by name (a few, and how many more) and the rate;
 * its live lines, one per tenant in flight. A thousand tenants stay a few lines.
 */
export function fleetProgress(p: {
  set: string;
  total: number;
  done: number;
  failed: readonly string[];
  seconds: number;
  inFlight: readonly string[];
}): { title: string; lines: string[] } {
  const WIDTH = 20;
  const SHOWN_IN_FLIGHT = 10;
  const filled = p.total === 0 ? WIDTH : Math.floor((p.done / p.total) * WIDTH);
  const bar = `${'█'.repeat(filled)}${'░'.repeat(WIDTH - filled)}`;
  const rate = (p.seconds > 0 ? p.done / p.seconds : 0).toFixed(1);
  const failed = `${p.failed.slice(0, 3).join(', ')}${p.failed.length > 3 ? `, … ${p.failed.length - 3} more` : ''}`;
  const title =
    `${p.set} → ${p.total} tenant${p.total === 1 ? '' : 's'} ${bar} ${p.done}/${p.total} done` +
    `${p.failed.length > 0 ? `, ${p.failed.length} failed (${failed})` : ''}, ${rate}/s`;
  const lines = p.inFlight.slice(0, SHOWN_IN_FLIGHT).map((name) => `${name}: running`);
  if (p.inFlight.length > SHOWN_IN_FLIGHT)
    lines.push(`and ${p.inFlight.length - SHOWN_IN_FLIGHT} more running`);
  return { title, lines };
}

export async function runFleet(
  command: FleetCommand,
  options: RunOptions & FleetOptions & { dryRun?: boolean | undefined },
  runOne: (options: RunOptions) => Promise<Report>,
): Promise<Report> {
  const report = newReport(command, 'single');
  try {
    const concurrency = count('concurrency', options.concurrency, 4, 1);
    const canary = count('canary', options.canary, 0, 0);
    const shard = parseShard(options.shard);
    const project = loadProjectConfig({
      cwd: options.cwd ?? process.cwd(),
      configPath: options.config,
    });
    const chosen = selectSets(project, options.sets ?? []);
    const plain = chosen.filter((s) => !s.tenants).map((s) => s.name);
    if (plain.length > 0) {
      const ordinary = await runOne({
        ...options,
        sets: plain,
        tenants: undefined,
        concurrency: undefined,
        shard: undefined,
        canary: undefined,
        continueOnError: undefined,
      } as RunOptions);
      report.mode = ordinary.mode;
      report.sets.push(...ordinary.sets);
      report.warnings.push(...ordinary.warnings);
      if (!ordinary.ok) {
        report.ok = false;
        report.exitCode = ordinary.exitCode;
        report.error = ordinary.error;
        if (command === 'migrate') return report;
      }
    }
    for (const set of chosen.filter((s) => s.tenants)) {
      const setReport = await runFleetSet(command, set, options, runOne, {
        concurrency,
        canary,
        shard,
      });
      report.sets.push(setReport.report);
      if (setReport.failed) {
        report.ok = false;
        report.exitCode = worst(report.exitCode, setReport.exitCode);
        report.error ??= setReport.failed;
        if (command === 'migrate' && !options.continueOnError) return report;
      }
      if (options.signal?.aborted) break;
    }
  } catch (error) {
    recordError(report, asSchemataError(error));
  }
  return report;
}

/**
 * The tenant schemas that need no run of their own, from one reading of the
 * database: every file applied with its checksum, nothing missing of what
 * they made, the schema there. Any other tenant, whatever is off with it,
 * gets a run of its own, which names its problem.
 */
async function tenantsUpToDate(
  client: Client,
  set: SetConfig,
  files: readonly MigrationFile[],
  tenants: readonly Tenant[],
  tracked: Map<string, TrackedMigration[]> | undefined,
): Promise<{
  clean: Map<string, TrackedMigration[]>;
  /** What each tenant (by its tracking name) lacks of its expected state, as this reading found. */
  missing?: Map<string, ExpectedObject[]>;
  /** Each tenant schema's facts (without data), by schema. */
  facts?: Map<string, SchemaFacts>;
}> {
  const clean = new Map<string, TrackedMigration[]>();
  if (set.tenants?.kind !== 'schemas' || tenants.length === 0 || files.length === 0)
    return { clean };
  if (!tracked || tracked.size === 0) return { clean };
  const missing = await missingObjectsBySet(client);
  const facts = await readManySchemaFacts(
    client,
    tenants.map((t) => t.schema!),
  );
  const schemas = new Set([...facts.values()].filter((f) => f.exists).map((f) => f.name));
  for (const tenant of tenants) {
    const key = `${set.name}/${tenant.name}`;
    const history = tracked.get(key) ?? [];
    const current =
      schemas.has(tenant.schema!) &&
      history.length === files.length &&
      files.every((f, i) => {
        const t = history[i]!;
        return t.version === f.version && t.state === 'applied' && sameChecksum(f, t.checksum);
      }) &&
      (missing.get(key)?.length ?? 0) === 0;
    if (current) clean.set(tenant.name, history);
  }
  return { clean, missing, facts };
}

/** The worse of two exit codes: any failure over success, a stop by signal over the rest, else the higher. */
function worst(a: ExitCode, b: ExitCode): ExitCode {
  return a === EXIT.ok ? b : b === EXIT.ok ? a : a > b ? a : b;
}

async function runFleetSet(
  command: FleetCommand,
  set: SetConfig,
  options: RunOptions & FleetOptions & { dryRun?: boolean | undefined },
  runOne: (options: RunOptions) => Promise<Report>,
  how: { concurrency: number; canary: number; shard: { index: number; of: number } | undefined },
): Promise<{
  report: SetReport;
  exitCode: ExitCode;
  failed: { message: string; hint?: string } | undefined;
}> {
  // The set's own database: where its tenant schemas live, and where a query lists its tenants.
  const base = await openRun({ ...options, sets: [set.name], listing: true });
  let tenants: Tenant[];
  let upToDate = new Map<string, TrackedMigration[]>();
  // The fleet's one reading, lent to each tenant's run: what it lacks, and the tracking tables made.
  let knownMissing: Map<string, ExpectedObject[]> | undefined;
  let knownFacts: Map<string, SchemaFacts> | undefined;
  let files: MigrationFile[] | undefined;
  let tracking: TrackingFeatures | undefined;
  const { target, variable } = base.sets[0]!;
  const setReport: SetReport = {
    name: set.name,
    target: base.sets[0]!.target.display,
    applied: [],
    pending: [],
    schemas: [],
    problems: [],
    warnings: [],
    ms: null,
    tenants: [],
  };
  try {
    const client = await base.connection(base.sets[0]!);
    const all = await listTenants(
      set,
      client,
      { ...process.env, ...options.env },
      base.sets[0]!.target.url,
    );
    tenants = chooseTenants(set.name, all, options.tenants, how.shard);
    const prefix = `${set.name}/`;
    const tracked =
      set.tenants?.kind === 'schemas' ? await readTrackingByPrefix(client, prefix) : undefined;
    // status: a schema that holds the set's tracking but is listed nowhere (dropped from the list, or renamed).
    if (command === 'status' && tracked) {
      const listed = new Set(all.map((t) => t.name));
      setReport.orphans = [...tracked.keys()]
        .map((key) => key.slice(prefix.length))
        .filter((name) => !listed.has(name))
        .sort();
      if (setReport.orphans.length > 0)
        setReport.warnings.push(
          `${setReport.orphans.length} schema${setReport.orphans.length === 1 ? '' : 's'} ${setReport.orphans.length === 1 ? 'holds' : 'hold'} the tracking of set "${set.name}" but ${setReport.orphans.length === 1 ? 'is' : 'are'} not among its tenants (orphans): ${setReport.orphans.slice(0, 10).join(', ')}${setReport.orphans.length > 10 ? ', …' : ''}.`,
        );
    }
    // status: a database on the tenants' servers that holds the set's tracking but is listed nowhere.
    if (command === 'status' && set.tenants?.kind === 'databases') {
      const { orphans, unread } = await orphanDatabases(set.name, all, how.concurrency);
      if (orphans.length > 0) {
        setReport.orphans = orphans;
        setReport.warnings.push(
          `${orphans.length} database${orphans.length === 1 ? '' : 's'} ${orphans.length === 1 ? 'holds' : 'hold'} the tracking of set "${set.name}" but ${orphans.length === 1 ? 'is' : 'are'} not among its tenants (orphans): ${orphans.slice(0, 10).join(', ')}${orphans.length > 10 ? ', …' : ''}.`,
        );
      }
      setReport.warnings.push(...unread);
    }
    files = base.sets[0]!.files;
    const reading = await tenantsUpToDate(client, set, files, tenants, tracked);
    upToDate = reading.clean;
    knownMissing = reading.missing;
    knownFacts = reading.facts;
    // Tenant schemas share the database's tracking tables: made once, under the database's lock, before tenants run side by side.
    if (
      command === 'migrate' &&
      !options.dryRun &&
      set.tenants?.kind === 'schemas' &&
      upToDate.size < tenants.length
    ) {
      await base.connection(base.sets[0]!, { lock: true });
      tracking = await base.ensureTracking(base.sets[0]!);
    }
  } finally {
    await base.close();
  }
  // Tenant schemas share one database: their runs share a pool of one session per tenant in flight, and one
  // more session holds their run locks. A tenant database's run takes its lock in each of its transactions, on
  // its one connection: --concurrency connections per server. A session-level lock in its work session would
  // stay on a pooled server connection behind PgBouncer's transaction pooling (SPEC §4.4: no lock left behind).
  const schemas = set.tenants?.kind === 'schemas';
  const sessions = schemas ? new SessionPool(how.concurrency) : undefined;
  const tenantLocks = schemas ? new TenantLocks(() => connect(target, variable)) : undefined;
  const locks: LockKeeper = tenantLocks ?? new RunLockPerTransaction();
  const started = Date.now();
  const stopOnFailure = command === 'migrate' && !options.continueOnError;
  const results: TenantReport[] = [];
  const inFlight = new Set<string>();
  let stopped = false;
  const progress = { done: 0, failed: 0 };

  const runTenant = async (tenant: Tenant): Promise<TenantReport> => {
    const current = upToDate.get(tenant.name);
    if (current)
      return {
        name: tenant.name,
        ok: true,
        exitCode: EXIT.ok,
        applied:
          command === 'status'
            ? current.map((t) => ({
                ...entryOf(t, t.durationMs),
                appliedAt: t.appliedAt.toISOString(),
                event: t.event,
                ...(t.from === undefined ? {} : { from: t.from }),
              }))
            : [],
        pending: [],
        ms: 0,
        problems: [],
      };
    const which: TenantOfRun =
      tenant.schema !== undefined
        ? {
            set: set.name,
            name: tenant.name,
            schema: tenant.schema,
            missing: knownMissing
              ? (knownMissing.get(`${set.name}/${tenant.name}`) ?? [])
              : undefined,
            tracking,
            files,
            validatedByFleet: command === 'migrate' && !options.dryRun,
            facts: knownFacts?.has(tenant.schema) ? [knownFacts.get(tenant.schema)!] : undefined,
          }
        : { set: set.name, name: tenant.name, url: tenant.url!, files };
    const t0 = Date.now();
    const one = await runOne({
      ...options,
      sets: [set.name],
      tenant: which,
      runner: undefined,
      log: undefined,
      sessions,
      locks,
    });
    const own = one.sets[0];
    return {
      name: tenant.name,
      ok: one.ok,
      exitCode: one.exitCode,
      applied: own?.applied ?? [],
      pending: own?.pending ?? [],
      ms: Date.now() - t0,
      problems: own?.problems ?? [],
      ...(one.error ? { error: { message: one.error.message, hint: one.error.hint } } : {}),
    };
  };

  const pool = async (queue: Tenant[], width: number, show: () => void) => {
    const workers = Array.from({ length: Math.min(width, queue.length) }, async () => {
      for (;;) {
        if (stopped || options.signal?.aborted) return;
        const tenant = queue.shift();
        if (!tenant) return;
        inFlight.add(tenant.name);
        show();
        const result = await runTenant(tenant);
        inFlight.delete(tenant.name);
        results.push(result);
        progress.done++;
        if (!result.ok) {
          progress.failed++;
          if (stopOnFailure) stopped = true;
        }
        show();
      }
    });
    await Promise.all(workers);
  };

  const progressNow = () =>
    fleetProgress({
      set: set.name,
      total: tenants.length,
      done: progress.done,
      failed: results.filter((r) => !r.ok).map((r) => r.name),
      seconds: (Date.now() - started) / 1000,
      inFlight: [...inFlight],
    });
  await (options.runner ?? runTasks)([
    {
      title: progressNow().title,
      live: true,
      run: async (setTitle, showLine) => {
        const show = () => {
          const now = progressNow();
          setTitle(now.title);
          showLine(now.lines.join('\n'));
        };
        const queue = [...tenants];
        if (how.canary > 0 && command === 'migrate') {
          const canaries = queue.splice(0, how.canary);
          await pool(canaries, how.concurrency, show);
          if (progress.failed > 0) stopped = true;
        }
        await pool(queue, how.concurrency, show);
        show();
        // The fleet's line is marked failed like any task; what failed is the report's, said after the list.
        if (results.length < tenants.length || results.some((r) => !r.ok))
          throw new TenantsFailed();
      },
    },
  ])
    .catch((error: unknown) => {
      if (!(error instanceof TenantsFailed)) throw error;
    })
    .finally(() => tenantLocks?.end());
  // The tenant schemas that applied something, validated after them all from one reading (SPEC §10: each its own
  // validation), on a session of the pool.
  const validated = results.filter((t) => t.ok && t.applied.length > 0);
  try {
    if (
      command === 'migrate' &&
      !options.dryRun &&
      sessions &&
      validated.length > 0 &&
      !options.signal?.aborted
    ) {
      const client = await sessions.borrow(() => connect(target, variable));
      try {
        await validateAfter(client, set, tenants, validated);
      } finally {
        await sessions.giveBack(client);
      }
    }
  } finally {
    await sessions?.end();
  }
  const order = new Map(tenants.map((t, i) => [t.name, i]));
  setReport.tenants = results.sort((a, b) => order.get(a.name)! - order.get(b.name)!);
  setReport.ms = Date.now() - started;
  const failures = setReport.tenants.filter((t) => !t.ok);
  const notStarted = tenants.length - results.length;
  if (failures.length === 0 && notStarted === 0)
    return { report: setReport, exitCode: EXIT.ok, failed: undefined };
  if (options.signal?.aborted) {
    // Stopped: the tenants in flight were rolled back (each tenant's run says so); the rest never started.
    const signal = String(options.signal.reason);
    return {
      report: setReport,
      exitCode: signal === 'SIGINT' ? EXIT.interrupted : EXIT.terminated,
      failed: {
        message: `Set "${set.name}": stopped by ${signal} with ${results.filter((t) => t.ok).length} of ${tenants.length} tenants done; ${failures.length} in flight ${failures.length === 1 ? 'was' : 'were'} rolled back and ${notStarted} not started.`,
        hint: `Run the same command again to go on: schemata ${command} ${set.name}`,
      },
    };
  }
  const exitCode = failures.reduce<ExitCode>((w, t) => worst(w, t.exitCode), EXIT.ok);
  const named = failures
    .slice(0, 5)
    .map(
      (t) =>
        `${t.name} (exit ${t.exitCode}: ${t.error?.message ?? t.problems[0]?.message ?? 'failed'})`,
    )
    .join('; ');
  const message =
    failures.length > 0
      ? `Set "${set.name}": ${failures.length} of ${tenants.length} tenants failed: ${named}${failures.length > 5 ? `; and ${failures.length - 5} more` : ''}.${notStarted > 0 ? ` ${notStarted} tenant${notStarted === 1 ? ' was' : 's were'} not started.` : ''}`
      : `Set "${set.name}": stopped with ${notStarted} of ${tenants.length} tenants not started.`;
  const retry = failures.map((t) => t.name).join(',');
  return {
    report: setReport,
    exitCode: failures.length > 0 ? exitCode : EXIT.terminated,
    failed: {
      message,
      hint:
        failures.length > 0
          ? `Fix the failed tenants' cause, then run them again: schemata ${command} ${set.name} --tenants ${retry}${notStarted > 0 ? ` (and schemata ${command} ${set.name} for the rest)` : ''}`
          : `Run the same command again to go on: schemata ${command} ${set.name}`,
    },
  };
}

/** Each tenant schema that applied something, checked from one reading of the database: a tenant found lacking fails, exit 3. */
async function validateAfter(
  client: Client,
  set: SetConfig,
  tenants: readonly Tenant[],
  validated: readonly TenantReport[],
): Promise<void> {
  const missing = await missingObjectsBySet(client);
  const schemaOf = new Map(tenants.map((t) => [t.name, t.schema!]));
  const facts = await readManySchemaFacts(
    client,
    validated.map((t) => schemaOf.get(t.name)!),
  );
  for (const t of validated) {
    const key = `${set.name}/${t.name}`;
    const problems = checkAfterMigrate(
      key,
      [facts.get(schemaOf.get(t.name)!)!],
      missing.get(key) ?? [],
    );
    if (problems.length === 0) continue;
    t.ok = false;
    t.exitCode = EXIT.invalid;
    t.problems.push(...problems);
    t.error = { message: problems[0]!.message, hint: problems[0]!.hint };
  }
}

/**
 * The orphans of a fleet of tenant databases: the databases of its tenants'
 * servers, unlisted, that hold the set's tracking, named as tenants are. Each
 * server is asked with a listed tenant's URL; its databases are read
 * `concurrency` at a time, each on a connection of its own, so that a server
 * with many databases is not read one after another, and none gets more
 * connections than a fleet run gives it. A server or database that cannot be
 * read is said in `unread`, never with a password.
 */
async function orphanDatabases(
  set: string,
  listed: readonly Tenant[],
  concurrency: number,
): Promise<{ orphans: string[]; unread: string[] }> {
  const unread: string[] = [];
  const known: ServerDatabase[] = listed.map((t) => ({ server: t.server!, database: t.database! }));
  const byServer = new Map<string, Tenant>();
  for (const t of listed) if (!byServer.has(t.server!)) byServer.set(t.server!, t);
  const holding: ServerDatabase[] = [];
  // Opens the database named on the tenant's server, as the tenant's URL reaches it (user, password, parameters).
  const withClient = async <T>(
    via: Tenant,
    database: string,
    work: (client: Client) => Promise<T>,
  ): Promise<T> => {
    const url = new URL(via.url!);
    url.pathname = `/${encodeURIComponent(database)}`;
    const client = await connect(
      {
        set,
        database: `tenant ${database}`,
        url: url.toString(),
        display: redactUrl(url.toString()),
      },
      `the tenants of set "${set}"`,
      // A DBA who sees schemata in a database that is none of the fleet's is told why.
      { application: applicationName(set, '(looking for orphans)') },
    );
    try {
      return await work(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  for (const [server, via] of byServer) {
    let there: ServerDatabase[];
    try {
      there = (await withClient(via, via.database!, listDatabases)).map((database) => ({
        server,
        database,
      }));
    } catch (error) {
      unread.push(
        `Orphan databases of set "${set}" on ${server} were not looked for: ${maskSecrets((error as Error).message)}`,
      );
      continue;
    }
    const failed: string[] = [];
    const queue = unlistedDatabases(known, there);
    const found = new Set<ServerDatabase>();
    await Promise.all(
      Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
        for (let candidate = queue.shift(); candidate; candidate = queue.shift()) {
          try {
            if (await withClient(via, candidate.database, (c) => holdsTrackingOf(c, set)))
              found.add(candidate);
          } catch {
            failed.push(candidate.database);
          }
        }
      }),
    );
    holding.push(...there.filter((d) => found.has(d)));
    failed.sort();
    if (failed.length > 0)
      unread.push(
        `${failed.length} database${failed.length === 1 ? '' : 's'} on ${server} could not be read for orphans of set "${set}": ${failed.slice(0, 5).join(', ')}${failed.length > 5 ? ', …' : ''}.`,
      );
  }
  return { orphans: databaseNames(holding, [...known, ...holding]).sort(), unread };
}
