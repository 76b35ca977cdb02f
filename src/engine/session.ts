import { relative } from 'node:path';
import type { Holder } from '../model/protect.js';
import type { MigrationFile } from '../config/discover.js';
import { readLockHolders } from '../catalog/lock-holders.js';
import { type Client, processIdOf } from './connect.js';
import { CountingBatch, type TextRow } from './batch-query.js';
import {
  CATALOG_WRITTEN,
  COUNTERS_OFF_SQLSTATE,
  LOSS_CHECK_SQL,
  LOSS_SQLSTATE,
  type Measurement,
  type StorageSeen,
  SUSPECT_SQLSTATE,
} from './measure.js';
import { measureAfterSql, measureBeforeSql, type TrackingFeatures } from './tracking.js';
import { NOT_REVERSED_SQLSTATE, type Reversal } from './reversal.js';
import {
  MIGRATION_TAKEN_SQLSTATE,
  RUN_LOCK_BUSY_SQLSTATE,
  runLockPause,
  runLockTimedOut,
} from './lock.js';
import { sleep } from './sleep.js';
import {
  LockTimeoutError,
  MigrationFailedError,
  NotReversedError,
  RefusedError,
  StoppedError,
} from '../errors.js';
import { locate, nodeKind, type Statement } from '../sql/statements.js';
import {
  INSUFFICIENT_PRIVILEGE,
  type MissingPrivilege,
  missingPrivilege,
  privilegeWords,
} from './privileges.js';
import { maskSecrets } from '../targets/redact.js';
import { plainIdent, quoteLiteral } from '../sql/quote.js';
import {
  BEGIN_OWN,
  OWN_AGAIN_STATEMENTS,
  OWN_SETTINGS_SQL,
  USER_SETTINGS_SQL,
} from './own-settings.js';

/*
 * The one session wrapper (SPEC §4.4): every transaction a migration's
 * statements run in, schemata's own around a whole file or, outside it, one
 * of the file's own blocks or a statement that would autocommit, goes as one
 * simple-query batch built here:
 *
 *   open     BEGIN (or the file's own BEGIN and SET TRANSACTION); schemata's
 *            settings; application_name; the client check; the claim (a
 *            whole file); the statement lock timeout; the snapshot (a whole
 *            file); the measurement before; the user's settings again
 *   file     the file's statements, as written
 *   record   the run's own role, path and settings again; the measurement
 *            before COMMIT; the record (a whole file)
 *   close    COMMIT (or the file's own COMMIT)
 *
 * A failure is classified by the segment it happened in: the claim's wait
 * is another run's, a statement's is the file's, the record's is schemata's.
 * Retries (a lock wait, tables to measure again) and refusals are decided
 * here, once, for both paths.
 */

/** What a migration run needs to know about where it runs. */
export interface ApplyContext {
  client: Client;
  set: string;
  cwd: string;
  /** The file as the user names it. */
  path: string;
  /** How long one statement may wait for a lock (SPEC §4: default 5 s). */
  statementLockTimeoutMs: number;
  /** How long to wait for another run applying the same migration (the run lock's timeout). */
  runLockTimeoutMs: number;
  /** The migration's latest tracking event when the run planned (null: none): run only while it still is. */
  expectedEvent: number | null;
  /** SIGINT or SIGTERM: its reason is the signal's name. */
  signal?: AbortSignal | undefined;
  /** What the tracking schema offers (the snapshot function). */
  tracking: TrackingFeatures;
  /** The migration is run again (rolled back for a lock wait or for measuring): what it printed so far is dropped. */
  onRetry?: () => void;
  /** A tenant schema's search_path (SPEC §10): set in each of the file's transactions, and around a statement outside one. */
  searchPath?: string | undefined;
  /** The command that goes on after a failure, for the hints (default: schemata migrate <set>). */
  again?: string | undefined;
  /** The run lock is taken in each of the migration's transactions, not held for the run (engine/lock.ts runLockStatement). */
  runLockPerTransaction?: boolean | undefined;
  /** Where a long migration says how it goes (the task list), and how to reach its database to ask. */
  watch?: { show: (line: string) => void; connect: () => Promise<Client> } | undefined;
}

export const againOf = (context: ApplyContext) =>
  context.again ?? `schemata migrate ${context.set}`;

/** `schemata: data 002_items.sql`, within PostgreSQL's 63 bytes. */
export function applicationName(set: string, file: string): string {
  let name = `schemata: ${set} ${file}`.replace(/[^\x20-\x7e]/g, '?');
  while (Buffer.byteLength(name) > 63) name = name.slice(0, -1);
  return name;
}

/**
 * The batch's first line, a comment: pg_stat_activity shows the first 1,024
 * bytes of the batch, which schemata's own statements would fill; this line
 * names the set and the file and begins with what the file runs.
 */
export function headline(set: string, file: string, runnable: readonly Statement[]): string {
  const count = `${runnable.length} statement${runnable.length === 1 ? '' : 's'}`;
  // Statement by statement until 400 characters: a seed file's 50,000 are not all copied to show a few.
  let text = '';
  for (let i = 0; i < runnable.length && text.length < 400; i++)
    text += `${i === 0 ? '' : '; '}${runnable[i]!.text.replace(/\s+/g, ' ').trim()}`;
  text = text.slice(0, 400);
  // ASCII only: error positions count characters, the batch's prefix is measured in UTF-16 units.
  return `-- schemata: set ${set}, ${file} (${count}): ${text}`.replace(/[^\x20-\x7e]/g, '?');
}

/*
 * After the file: back to the run's own role and settings for the tracking
 * rows (a file's SET ROLE or standard_conforming_strings must not decide
 * whether its own record can be written).
 */
const RESTORE_LOCAL_SQL = `SET LOCAL SESSION AUTHORIZATION DEFAULT;
SET LOCAL ROLE NONE;
SET LOCAL standard_conforming_strings = on;
SET LOCAL search_path = pg_catalog, pg_temp;
${OWN_AGAIN_STATEMENTS.join(';\n')};`;

/** What the measurement before COMMIT left for the event (read back where the record is not in the transaction), and the storage listing for the next migration. */
const MEASURED_SQL = `SELECT pg_catalog.current_setting('schemata.rows', true) AS schemata_rows, pg_catalog.current_setting('schemata.lost', true) AS schemata_lost, pg_catalog.current_setting('schemata.nodes_now', true) AS schemata_nodes, pg_catalog.current_setting('schemata.counted_now', true) AS schemata_counted`;

/*
 * What the record reads of a measurement, where none ran (Measurement
 * unmeasured): no rows written, no loss, and the catalog listed after the
 * file. Set, not left: in the run's one transaction an earlier migration's
 * measurement left its own values.
 */
const UNMEASURED_SQL = `SELECT pg_catalog.set_config('schemata.rows', '[]', true), pg_catalog.set_config('schemata.lost', '', true), pg_catalog.set_config('${CATALOG_WRITTEN}', 'on', true)`;

/** Each session's storage listing, as its last committed measurement left it (engine/measure.ts StorageSeen). */
const storageSeen = new WeakMap<Client, StorageSeen>();

/** Each session's row counters, as its last measurement left them (engine/measure.ts CountersSeen); dropped after a rollback. */
const countersSeen = new WeakMap<Client, string>();

/** Drops the session's row counters: it ran what no measurement counted, whose rows may still count. */
export function forgetCounters(client: Client): void {
  countersSeen.delete(client);
}

// A clean session, as if each file ran in a psql session of its own. RESET ALL leaves the role and the session
// authorization alone: they are reset by name.
export const CLEAN_SESSION_SQL =
  'RESET SESSION AUTHORIZATION; RESET ROLE; RESET ALL; DEALLOCATE ALL; CLOSE ALL; UNLISTEN *;';

/** One transaction of a migration, as the wrapper runs it. */
export interface Transaction {
  file: MigrationFile;
  /** The file's text as it runs (a whole file's own BEGIN and COMMIT blanked): the body is cut from it. */
  text: string;
  /** The file's statements that run in it, in order: the body is the text from the first's start to the last's end. */
  statements: readonly Statement[];
  /** The file's own BEGIN and SET TRANSACTION; none: schemata's BEGIN. */
  open?: readonly string[] | undefined;
  /** The file's own COMMIT; none: schemata's. */
  close?: string | undefined;
  /** What undoes it after a failure: ROLLBACK, or back to its savepoint in the run's one transaction (--single-transaction). */
  undo?: string | undefined;
  /** schemata's own before the file: the claim (a whole file; outside, the running event claimed it). */
  claim: readonly string[];
  /** schemata's own before the file, after the lock timeout: the snapshot. */
  snapshot: readonly string[];
  /** schemata's own after the measurement: the record. */
  record: string;
  measurement: Measurement;
  /** A down (SPEC §12): its check is in the record. */
  reversal?: Reversal | undefined;
  /** What a failure leaves and how to go on, in its messages. */
  outcome: Outcome;
}

/** What a failed transaction leaves, for the message, and the hint once its cause is fixed. */
export interface Outcome {
  /** After "rolled back": what of the file and the run stays. */
  left: string;
  /** The hint when the file must change. */
  fix: string;
  /** The command that goes on after a refusal, given --force. */
  force: string;
  /** A whole migration in schemata's transaction: else the words say "runs outside a transaction". */
  whole: boolean;
  /** After a stop: what of the run before it stays; default, the migrations before it. */
  kept?: string | undefined;
}

/** What the measurement left for the event, where the record is not in the transaction. */
export interface Measured {
  rows: RowCounts[];
  lost: string;
}

export interface RowCounts {
  table: string;
  inserted: number;
  updated: number;
  deleted: number;
}

interface PgError {
  message: string;
  code?: string;
  position?: string;
  where?: string;
  detail?: string;
}

/**
 * A client that is gone (killed, its machine lost) ends its statement within
 * a second, not at its next result: set for every statement of a migration,
 * in a transaction (SET LOCAL) or bare (SET, then RESET).
 */
export const CLIENT_CHECK = 'client_connection_check_interval = 1000';

/** The batch and where each segment ends, in completed commands. */
interface Batch {
  sql: string;
  prefixLength: number;
  /** Commands before the claim ends, before the file, and through the file. */
  claimed: number;
  before: number;
  through: number;
}

/** What the measurement reads before the file, grown by the suspects of each try. */
type Traced = Pick<Measurement, 'capture' | 'values'>;

function batchOf(context: ApplyContext, t: Transaction, traced: Traced, check?: string): Batch {
  const runnable = t.statements;
  const open = [
    ...(t.open ?? [BEGIN_OWN]),
    OWN_SETTINGS_SQL,
    // A DBA's view: pg_stat_activity names the set and the file while it runs.
    `SET LOCAL application_name = ${quoteLiteral(applicationName(context.set, t.file.file))}`,
    `SET LOCAL ${CLIENT_CHECK}`,
    // A tenant's schema first: in the transaction, so that behind PgBouncer it is on the server connection that runs the file, and leaves with it.
    ...(context.searchPath === undefined ? [] : [`SET LOCAL search_path = ${context.searchPath}`]),
    ...t.claim,
  ];
  const before = [
    // Never queue behind a long transaction with the application's queries queued behind us.
    `SET LOCAL lock_timeout = ${Math.max(0, Math.round(context.statementLockTimeoutMs))}`,
    ...t.snapshot,
    ...(t.measurement.unmeasured
      ? []
      : measureBeforeSql(
          {
            // The keys the measurement lacks first (sql/operations.ts push says why).
            storage: storageSeen.get(context.client),
            counted: countersSeen.get(context.client),
            ...t.measurement,
            ...traced,
          },
          context.tracking,
        )),
    USER_SETTINGS_SQL,
  ];
  const prefix = `${headline(context.set, t.file.file, runnable)}\n${[...open, ...before].join(';\n')};\n`;
  // The file's statements as written; a diagnostic run checks for a loss after each one.
  const body =
    check === undefined
      ? t.text.slice(runnable[0]?.start ?? 0, runnable[runnable.length - 1]?.end ?? 0)
      : runnable.map((s) => `${s.text};\n${check}`).join(';\n');
  // The file's deferred constraints are checked as part of it, before schemata's own statements.
  const measured = t.measurement.unmeasured
    ? UNMEASURED_SQL
    : `${measureAfterSql(context.tracking)};\n${MEASURED_SQL}`;
  const after = `\n;\nSET CONSTRAINTS ALL IMMEDIATE;\n${RESTORE_LOCAL_SQL}\n${measured};\n${t.record}${t.record ? '\n' : ''}${t.close ?? 'COMMIT'};${t.outcome.whole ? `\n${CLEAN_SESSION_SQL}` : ''}`;
  return {
    sql: `${prefix}${body}${after}`,
    prefixLength: prefix.length,
    claimed: open.length,
    before: open.length + before.length,
    through:
      open.length + before.length + (check === undefined ? runnable.length : 2 * runnable.length),
  };
}

/**
 * Runs one transaction of a migration through the wrapper, in one round
 * trip. A statement that waits for a lock longer than the statement lock
 * timeout rolls it back; it is tried again up to LOCK_RETRIES times, then
 * the blockers are named. Tables the measurement could not judge are
 * measured in a run again (rolled back each time). Returns what the
 * measurement left for the event, or 'taken' when another run applied the
 * migration first. Throws a SchemataError that names the file, and the
 * statement where it can be told; the session is left rolled back, not
 * cleaned.
 */
export async function runTransaction(
  context: ApplyContext,
  t: Transaction,
): Promise<Measured | 'taken'> {
  let traced: Traced = t.measurement;
  const lockDeadline = performance.now() + context.runLockTimeoutMs;
  for (let attempt = 0, suspectRuns = 0, lockTries = 0; ; attempt++) {
    const batch = batchOf(context, t, traced);
    const heartbeat = heartbeatOf(context, t);
    const {
      measured: row,
      completed,
      error,
    } = await sendCounting(context.client, batch.sql, heartbeat?.beat).finally(() =>
      heartbeat?.end(),
    );
    if (error === undefined) {
      // Nothing measured, nothing changed of what the session's measurements carry.
      if (t.measurement.unmeasured) return { rows: [], lost: '' };
      const measured = measuredOf(row);
      if (measured.nodes) {
        const seen = storageSeen.get(context.client);
        storageSeen.set(context.client, {
          nodes: measured.nodes,
          upTo: Math.max(seen?.upTo ?? 0, t.measurement.tablesUpTo),
        });
      }
      if (measured.counted) countersSeen.set(context.client, measured.counted);
      else countersSeen.delete(context.client);
      return { rows: measured.rows, lost: measured.lost };
    }
    // What the rolled-back try wrote still counts in the transaction's counters: the next measurement lists them anew.
    countersSeen.delete(context.client);
    const undo = t.undo ?? 'ROLLBACK';
    await context.client
      .query(t.outcome.whole ? `${undo}; ${CLEAN_SESSION_SQL}` : undo)
      .catch(() => {});
    const e = error as PgError;
    const failing =
      completed >= batch.before && completed < batch.through
        ? t.statements[completed - batch.before]
        : undefined;
    if (context.signal?.aborted) throw stopped(context, t, error);
    if (e.code === MIGRATION_TAKEN_SQLSTATE) return 'taken';
    // Another run holds the run lock this transaction tried: tried again after a sleep holding nothing.
    if (e.code === RUN_LOCK_BUSY_SQLSTATE && completed < batch.claimed) {
      const left = lockDeadline - performance.now();
      if (left <= 0)
        throw await runLockTimedOut(
          context.client,
          `Set "${context.set}": ${t.file.file}`,
          context.runLockTimeoutMs / 1000,
          context.set,
        );
      await sleep(Math.min(runLockPause(lockTries++), left), context.signal);
      if (context.signal?.aborted) throw stopped(context, t, error);
      attempt--;
      continue;
    }
    if (e.code === COUNTERS_OFF_SQLSTATE) throw countersOff(context, t, e.message, error);
    if (e.code === LOSS_SQLSTATE) {
      const culprit =
        t.statements.length === 1 ? t.statements[0] : await locateLoss(context, t, traced);
      throw measuredRefusal(context, t, e.message, culprit, error, holdersOf(e.detail));
    }
    if (e.code === NOT_REVERSED_SQLSTATE && t.reversal)
      throw notReversed(context, t, t.reversal, e.message, error);
    // Tables whose rows before the file were not measured may have lost them: measure them, and run it again.
    if (e.code === SUSPECT_SQLSTATE && suspectRuns < SUSPECT_RUNS) {
      suspectRuns += 1;
      // `suspects|valued`: the tables to measure, and those (of them) whose values to read too.
      const [suspects = [], valued = []] = e.message.split('|').map(oidsIn);
      traced = {
        capture: [...new Set([...traced.capture, ...suspects, ...valued])],
        values: [...new Set([...traced.values, ...valued])],
      };
      context.onRetry?.();
      continue;
    }
    if (e.code === SUSPECT_SQLSTATE) {
      throw measuredRefusal(
        context,
        t,
        `tables it changed (OIDs ${[...new Set(e.message.split('|').flatMap(oidsIn))].join(', ')}) may have held rows, and ${SUSPECT_RUNS + 1} runs could not tell`,
        undefined,
        error,
      );
    }
    // Our own wait for another run applying this very migration.
    if (e.code === '55P03' && completed < batch.claimed) {
      throw new LockTimeoutError(
        `Set "${context.set}": ${t.file.file}`,
        undefined,
        context.runLockTimeoutMs / 1000,
      );
    }
    if (e.code === '55P03' && attempt < LOCK_RETRIES) {
      context.onRetry?.();
      await sleep(LOCK_BACKOFF_MS * 2 ** attempt, context.signal);
      if (context.signal?.aborted) throw stopped(context, t, error);
      continue;
    }
    if (e.code === '55P03') throw await lockGaveUp(context, t, failing, error);
    if (isOwnFailure(batch, completed, e)) throw ownFailed(context, t, e, error);
    // A role without the privilege: said as such, with the GRANT, not "Fix <file>".
    const denied = positioned(t, e, batch)?.statement ?? failing;
    const missing =
      e.code === INSUFFICIENT_PRIVILEGE
        ? await missingPrivilege(
            context.client,
            e.message,
            denied ? nodeKind(denied.node) : '',
          ).catch(() => undefined)
        : undefined;
    throw describeFailure(context, t, e, batch, failing, missing);
  }
}

/**
 * schemata's own statements before the file (the measurement, the snapshot)
 * and after it (the measurement, the record) are not the file's to fix. The
 * file's deferred constraints are checked right after it, so a COMMIT that
 * fails is the file's (a serialization failure).
 */
function isOwnFailure(batch: Batch, completed: number, e: PgError): boolean {
  if (completed >= batch.claimed && completed < batch.before) return true;
  return completed > batch.through && !e.code?.startsWith('40');
}

/** Sends a batch, counting the commands that complete: a failure without a position is the one after them. */
async function sendCounting(
  client: Client,
  sql: string,
  heartbeat?: () => Promise<void>,
): Promise<{ measured: TextRow | undefined; completed: number; error: unknown }> {
  const batch = new CountingBatch(sql, 'schemata_rows');
  // A long batch says, every few seconds, where it is and what it waits for.
  let beating = false;
  const timer = heartbeat
    ? setInterval(() => {
        if (beating) return;
        beating = true;
        void heartbeat()
          .catch(() => undefined)
          .finally(() => {
            beating = false;
          });
      }, HEARTBEAT_MS)
    : undefined;
  try {
    client.query(batch);
    await batch.done;
    return { measured: batch.rows[0], completed: batch.completed, error: undefined };
  } catch (error) {
    return { measured: undefined, completed: batch.completed, error };
  } finally {
    clearInterval(timer);
  }
}

/** How often a running migration says where it is (SPEC §4.4: never silent for long). */
const HEARTBEAT_MS = 5000;

/**
 * How long a running batch has run and what its session waits for (a lock:
 * which, and who holds it): asked on a connection of its own, opened at the
 * first beat and closed with the batch, never the run lock's, whose
 * transaction must take no snapshot. Which of its statements runs cannot be
 * asked (the server sends a batch's results when it ends).
 */
function heartbeatOf(
  context: ApplyContext,
  t: Transaction,
): { beat: () => Promise<void>; end: () => Promise<void> } | undefined {
  const watch = context.watch;
  if (!watch) return undefined;
  const started = performance.now();
  let watcher: Promise<Client> | undefined;
  const pid = processIdOf(context.client);
  return {
    beat: async () => {
      const seconds = Math.round((performance.now() - started) / 1000);
      let waiting = '';
      if (pid !== undefined) {
        watcher ??= watch.connect();
        const client = await watcher;
        const { rows } = await client.query<{
          type: string | null;
          event: string | null;
          lock: string | null;
        }>(
          `SELECT a.wait_event_type AS type, a.wait_event AS event,
                  (SELECT pg_catalog.format('%s on %s', l.mode, COALESCE((SELECT pg_catalog.format('%I.%I', n.nspname, c.relname)
                            FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = l.relation), l.locktype))
                     FROM pg_catalog.pg_locks l WHERE l.pid = a.pid AND NOT l.granted LIMIT 1) AS lock
             FROM pg_catalog.pg_stat_activity a WHERE a.pid = $1`,
          [pid],
        );
        const row = rows[0];
        if (row?.type === 'Lock') {
          const heldBy = (await readLockHolders(client, pid)).map(
            (h) => `pid ${h.pid} (${h.application || 'no application_name'}, ${h.state})`,
          );
          waiting = `, waiting for ${row.lock ?? 'a lock'}${heldBy.length > 0 ? ` held by ${maskSecrets(heldBy.join('; '))}` : ''}`;
        } else if (row?.type && row.type !== 'Client')
          waiting = `, waiting on ${row.type}${row.event ? ` (${row.event})` : ''}`;
      }
      watch.show(`${t.file.file}: running for ${seconds}s${waiting}`);
    },
    end: async () => {
      if (watcher) await (await watcher.catch(() => undefined))?.end().catch(() => undefined);
    },
  };
}

function measuredOf(row: TextRow | undefined): Measured & { nodes: string; counted: string } {
  return {
    rows: row?.schemata_rows ? (JSON.parse(row.schemata_rows) as RowCounts[]) : [],
    lost: row?.schemata_lost ?? '',
    nodes: row?.schemata_nodes ?? '',
    counted: row?.schemata_counted ?? '',
  };
}

/**
 * Which statement lost the rows: the transaction is run once more with the
 * loss checked after each of its statements, and rolled back whatever
 * happens. Only after a refusal, so a refused run costs one more; undefined
 * where the run again cannot tell (it failed otherwise, or found no loss).
 */
async function locateLoss(
  context: ApplyContext,
  t: Transaction,
  traced: Traced,
): Promise<Statement | undefined> {
  // Never committed, whatever it finds.
  const batch = batchOf(
    context,
    { ...t, record: '', close: t.undo ?? 'ROLLBACK', outcome: { ...t.outcome, whole: false } },
    traced,
    LOSS_CHECK_SQL,
  );
  const { completed, error } = await sendCounting(context.client, batch.sql);
  countersSeen.delete(context.client);
  const undo = t.undo ?? 'ROLLBACK';
  await context.client
    .query(t.outcome.whole ? `${undo}; ${CLEAN_SESSION_SQL}` : undo)
    .catch(() => {});
  if ((error as PgError | undefined)?.code !== LOSS_SQLSTATE) return undefined;
  const index = completed - batch.before;
  // Statement k completed, then its check raised: 2k + 1 commands of the body completed.
  return index >= 0 && index < 2 * t.statements.length && index % 2 === 1
    ? t.statements[(index - 1) / 2]
    : undefined;
}

/** The OIDs of a comma-separated list. */
const oidsIn = (list: string) => (list === '' ? [] : list.split(',').map(Number));

/**
 * A migration whose measurement found tables it changed whose rows were not
 * measured before is run again with them measured; it is rolled back each
 * time, so it applies once.
 */
const SUSPECT_RUNS = 2;

/** A statement that waited for a lock too long is tried again this many times, after 1, 2 and 4 s. */
const LOCK_RETRIES = 3;
const LOCK_BACKOFF_MS = 1000;

const pathOf = (context: ApplyContext, file: MigrationFile) =>
  relative(context.cwd, file.path) || file.path;

/** ` at path:line:column (statement)`, or nothing where no statement is known. */
function whereOf(context: ApplyContext, t: Transaction, statement: Statement | undefined): string {
  return statement
    ? ` at ${pathOf(context, t.file)}:${statement.at.line}:${statement.at.column} (${abbreviate(statement.shown, 80)})`
    : '';
}

/** Stopped by SIGINT or SIGTERM: the server cancelled the statement and rolled its transaction back. */
export function stopped(context: ApplyContext, t: Transaction, cause: unknown): StoppedError {
  const signal = String(context.signal?.reason ?? 'SIGTERM');
  const file = t.file.file;
  if (!t.outcome.whole) {
    return new StoppedError(
      signal,
      `Set "${context.set}": stopped by ${signal} while applying ${file}: the server cancelled its statement and rolled its transaction back. ${t.outcome.left}`,
      t.outcome.fix,
      { cause },
    );
  }
  return new StoppedError(
    signal,
    context.again === undefined
      ? `Set "${context.set}": stopped by ${signal} while applying ${file}: the server cancelled its statement and rolled it back, so nothing of it is applied or recorded; ${t.outcome.kept ?? 'migrations before it in this run stay applied.'}`
      : `Set "${context.set}": stopped by ${signal} while running ${file}: the server cancelled its statement and rolled it back, so nothing of it is applied or recorded; what ran before it in this run stays done.`,
    context.again === undefined
      ? `Run the same command again to apply ${file} and what follows it.`
      : `Go on with: ${context.again}`,
    { cause },
  );
}

/**
 * Who holds the locks a migration waited for: the sessions in a transaction
 * that hold a lock on a table of this database, ACCESS SHARE included (a
 * long report's SELECT in an open transaction blocks every ALTER TABLE).
 */
async function lockGaveUp(
  context: ApplyContext,
  t: Transaction,
  failing: Statement | undefined,
  cause: unknown,
): Promise<MigrationFailedError> {
  const rows = await readLockHolders(context.client).catch(() => []);
  const holding = rows.filter((r) => r.locks).slice(0, 5);
  const blockers = holding.map(
    (r) =>
      `pid ${r.pid} (${r.application || 'no application_name'}, ${r.state}, in a transaction since ${r.since?.toISOString() ?? '?'}, holding ${r.locks}: ${maskSecrets(r.query)})`,
  );
  const seconds = context.statementLockTimeoutMs / 1000;
  const retry = t.outcome.whole ? againOf(context) : `${againOf(context)} --repair`;
  return new MigrationFailedError(
    `Set "${context.set}": migration ${t.file.file}${whereOf(context, t, failing)} waited more than ${seconds}s for a lock, ${LOCK_RETRIES + 1} times; each time it was rolled back, so that the application's queries did not queue behind it. ${t.outcome.left} ` +
      (blockers.length > 0
        ? `Sessions holding table locks: ${blockers.join('; ')}.`
        : 'No session holds a table lock now.'),
    `${holding[0] ? `Let those sessions finish (or end one: SELECT pg_terminate_backend(${holding[0].pid})), then run again` : 'Run again'}; a longer wait is --statement-lock-timeout S: ${retry} --statement-lock-timeout ${Math.max(10, seconds * 4)}`,
    { cause },
  );
}

function measuredRefusal(
  context: ApplyContext,
  t: Transaction,
  lost: string,
  statement: Statement | undefined,
  cause: unknown,
  holders?: Holder[],
): RefusedError {
  const file = t.file.file;
  return new RefusedError(
    `Set "${context.set}": data protection rolled back ${file}${whereOf(context, t, statement)}: ${lost}. The measurement in its transaction found it after the file ran, where the forecast before the run ` +
      `did not see it (a procedure or function, a trigger, dynamic SQL, or a step no reading of the text resolves). ${t.outcome.left}`,
    `Move or back up the data first; if losing it is intended, add the line "-- schemata:force" to ${pathOf(context, t.file)}, or run: ${t.outcome.force}`,
    { cause },
    holders,
  );
}

/** The tables a loss took rows from, with their rows: the detail measure.ts raises with LOSS_SQLSTATE (its own JSON). */
function holdersOf(detail: string | undefined): Holder[] | undefined {
  let held: unknown;
  try {
    held = JSON.parse(detail ?? '');
  } catch {
    return undefined;
  }
  if (!Array.isArray(held)) return undefined;
  return (held as Array<Record<string, unknown>>)
    .map((h) => ({
      table: String(h.table),
      rows: typeof h.rows === 'number' ? h.rows : null,
      more: h.more === true,
    }))
    .sort((a, b) => (a.table < b.table ? -1 : a.table > b.table ? 1 : 0));
}

function notReversed(
  context: ApplyContext,
  t: Transaction,
  reversal: Reversal,
  differences: string,
  cause: unknown,
): NotReversedError {
  return new NotReversedError(
    `Set "${context.set}": the down of ${reversal.up} does not undo it: ${maskSecrets(differences)}. ` +
      `${t.file.file} was rolled back: ${reversal.up} stays applied, and downs before it in this run stay rolled back.`,
    `Make ${context.path} undo exactly what ${reversal.up} did (schemata rollback ${context.set} --check proves it on a scratch database), then run: ${againOf(context)}`,
    { cause },
  );
}

/**
 * track_counts is off for the login role on that database, and the role may
 * not turn it on for its transaction: the measurement would see no row
 * deleted. `who` is COUNTERS_OFF_SQLSTATE's message, `role|database`.
 */
function countersOff(
  context: ApplyContext,
  t: Transaction,
  who: string,
  cause: unknown,
): MigrationFailedError {
  const [role = '', database = ''] = who.split('|');
  return new MigrationFailedError(
    `Set "${context.set}": data protection measures ${t.file.file} by PostgreSQL's row counters, and track_counts is off for role ${role} on database ${database} (set on the server, the database or the role), which that role may not turn on for its transaction. ${t.outcome.left}`,
    `As a superuser, turn it on for that role there: ALTER ROLE ${plainIdent(role)} IN DATABASE ${plainIdent(database)} SET track_counts = on; then run again: ${againOf(context)}`,
    { cause },
  );
}

/** schemata's own statements failed: the file is not the one to fix. */
function ownFailed(
  context: ApplyContext,
  t: Transaction,
  error: PgError,
  cause: unknown,
): MigrationFailedError {
  return new MigrationFailedError(
    `Set "${context.set}": schemata's own statements around ${t.file.file} failed in its transaction (its measurement, snapshot or record): ${maskSecrets(error.message)}${/[.!?]$/.test(error.message) ? '' : '.'} ${t.outcome.left}`,
    `If ${pathOf(context, t.file)} drops or alters schema schemata or its tables, it must not; otherwise check that the role may use schema schemata and write its tables. Then run again: ${againOf(context)}`,
    { cause },
  );
}

const isConnectionLoss = (e: PgError) =>
  e.code?.startsWith('08') ||
  e.code === '57P01' ||
  e.code === '57P02' ||
  e.code === '57P03' ||
  /Connection terminated|ECONNRESET/i.test(e.message);

/**
 * Names the file, line, column and statement of a failure, without running
 * anything again: PostgreSQL gives a position for errors found while parsing
 * and analysing; for errors at run time (a constraint, a division by zero)
 * the statement is the one after the last that completed (`failing`).
 */
/** Where PostgreSQL's position points in the file, and the statement there; undefined without one in it. */
function positioned(
  t: Transaction,
  error: PgError,
  batch: Batch,
): { offset: number; statement: Statement | undefined } | undefined {
  if (!error.position) return undefined;
  const from = t.statements[0]?.start ?? 0;
  const to = t.statements[t.statements.length - 1]?.end ?? 0;
  const offset = from + Number(error.position) - 1 - batch.prefixLength;
  if (offset < from || offset > to) return undefined;
  return { offset, statement: t.statements.find((s) => offset >= s.start && offset <= s.end) };
}

function describeFailure(
  context: ApplyContext,
  t: Transaction,
  error: PgError,
  batch: Batch,
  failing: Statement | undefined,
  missing?: MissingPrivilege,
): MigrationFailedError {
  const found = positioned(t, error, batch);
  const offset = found?.offset;
  failing = found?.statement ?? failing;
  const path = pathOf(context, t.file);
  const at = offset !== undefined ? locate(t.file.sql, offset) : failing?.at;
  const where = at ? `${path}:${at.line}:${at.column}` : path;
  const statement = failing ? ` Statement: ${abbreviate(failing.shown)}` : '';
  // PostgreSQL's words may quote SQL (a PL/pgSQL context's "SQL statement ..."): masked where a password stands.
  const plpgsqlContext = error.where ? ` (${maskSecrets(error.where.split('\n')[0]!)})` : '';
  const detail = error.detail ? ` ${maskSecrets(error.detail)}` : '';
  const lost = isConnectionLoss(error);
  // The database's or role's statement_timeout, not the file, ended it.
  const timedOut = error.code === '57014' && /statement timeout/i.test(error.message);
  // A procedure (or a DO block the plan could not read) COMMITs: it cannot run inside schemata's transaction.
  const commitsInside = error.code === '2D000' && t.outcome.whole;
  const sentence = (text: string) => (/[.!?]$/.test(text) ? text : `${text}.`);
  const said = [`${maskSecrets(error.message)}${plpgsqlContext}`, detail.trim(), statement.trim()]
    .filter((part) => part !== '')
    .map(sentence)
    .join(' ');
  const verb = t.outcome.whole ? 'failed' : 'runs outside a transaction and failed';
  if (missing) {
    const words = privilegeWords(
      missing,
      t.outcome.whole ? againOf(context) : `${againOf(context)} --repair`,
    );
    return new MigrationFailedError(
      `Set "${context.set}": migration ${t.file.file} ${verb} at ${where}: ${said} ${words.because} ${t.outcome.left}`,
      words.hint,
      { cause: error },
    );
  }
  return new MigrationFailedError(
    `Set "${context.set}": migration ${t.file.file} ${verb} at ${where}: ${said} ` +
      (lost
        ? `The connection to the database was lost; the server rolled back the transaction. ${t.outcome.left}`
        : timedOut
          ? `It ran longer than the statement_timeout of the database or the role (schemata's own statements are exempt; the file's are not). ${t.outcome.left}`
          : commitsInside
            ? `What it runs COMMITs or ROLLBACKs, which PostgreSQL allows only outside a transaction block, and the file runs in schemata's transaction. ${t.outcome.left}`
            : t.outcome.left),
    lost
      ? `Run the command again once the database is reachable: ${t.outcome.whole ? againOf(context) : `${againOf(context)} --repair`}`
      : timedOut
        ? `Give it more time with a first line in ${path}: SET LOCAL statement_timeout = '30min'; then run again: ${t.outcome.whole ? againOf(context) : `${againOf(context)} --repair`}`
        : commitsInside
          ? `Make ${path} run as psql would, each statement committing on its own, with the first line: -- schemata:no-transaction; then run again: ${againOf(context)}`
          : t.outcome.fix,
    { cause: error },
  );
}

export function abbreviate(text: string, max = 160): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
}
