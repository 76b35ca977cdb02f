import { relative } from 'node:path';
import type { MigrationFile } from '../config/discover.js';
import type { Client } from './connect.js';
import type { SnapshotScope } from '../catalog/listing.js';
import {
  type TrackingFeatures,
  BATCH_DURATION_SQL,
  eventValues,
  readCatalog,
  recordAfterRunning,
  measureAfterSql,
  measureBeforeSql,
  recordEffectsSql,
  recordRunning,
  REACHABLE_PATH_SQL,
  snapshotBeforeSql,
} from './tracking.js';
import { LOSS_SQLSTATE, type Measurement, SUSPECT_SQLSTATE } from './measure.js';
import type { ApplyStep } from '../model/steps.js';
import {
  LockTimeoutError,
  MigrationFailedError,
  NotReversedError,
  RefusedError,
  StoppedError,
} from '../errors.js';
import {
  NOT_REVERSED_SQLSTATE,
  type Reversal,
  reversalCheckSql,
  rolledBackSql,
} from './reversal.js';
import { MIGRATION_TAKEN_SQLSTATE, onceStatements } from './lock.js';
import type { ObjectRef } from '../sql/operations.js';
import { type Location, locate, nodeKind, type Statement } from '../sql/statements.js';
import { maskSecrets } from '../targets/redact.js';
import { quoteLiteral } from '../sql/quote.js';
import { OWN_AGAIN_STATEMENTS, OWN_SETTINGS_SQL, USER_SETTINGS_SQL } from './own-settings.js';

/*
 * What goes before the file in its batch, one statement each; PostgreSQL's
 * error positions map to the file by subtracting the prefix's length, and a
 * failure without a position is located by counting the statements that
 * completed. The leading comment is what a DBA sees first in
 * pg_stat_activity (whose query text is cut at 1 kB by default).
 */
function prefixOf(
  context: ApplyContext,
  file: MigrationFile,
  snapshot: SnapshotScope,
  measurement: Measurement,
  runnable: readonly Statement[],
): { text: string; statements: number } {
  const set = context.set;
  const statements = [
    'BEGIN',
    OWN_SETTINGS_SQL,
    // A DBA's view: pg_stat_activity names the set and the file while it runs.
    `SET LOCAL application_name = ${quoteLiteral(applicationName(set, file.file))}`,
    // A client that is gone (killed, its machine lost) ends the statement within a second, not at its next result.
    'SET LOCAL client_connection_check_interval = 1000',
    ...onceStatements(
      set,
      file.version,
      context.expectedEvent,
      context.runLockTimeoutMs,
      context.tracking,
    ),
    // Never queue behind a long transaction with the application's queries queued behind us.
    `SET LOCAL lock_timeout = ${Math.max(0, Math.round(context.statementLockTimeoutMs))}`,
    ...(context.sessionSql !== undefined && snapshot !== 'all' ? [REACHABLE_PATH_SQL] : []),
    snapshotBeforeSql(snapshot, context.tracking),
    measureBeforeSql(measurement, context.tracking),
    USER_SETTINGS_SQL,
  ];
  return {
    text: `${headline(set, file.file, runnable)}\n${statements.join(';\n')};\n`,
    statements: statements.length,
  };
}

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
  const text = runnable
    .map((s) => s.text.replace(/\s+/g, ' ').trim())
    .join('; ')
    .slice(0, 400);
  // ASCII only: error positions count characters, the batch's prefix is measured in UTF-16 units.
  return `-- schemata: set ${set}, ${file} (${count}): ${text}`.replace(/[^\x20-\x7e]/g, '?');
}

/*
 * After the file: back to the run's own role and settings for the tracking
 * rows (a file's SET ROLE or standard_conforming_strings must not decide
 * whether its own record can be written), and after COMMIT, a clean session
 * for the next migration, as if each file ran in a psql session of its own.
 */
const RESTORE_LOCAL_SQL = `SET LOCAL SESSION AUTHORIZATION DEFAULT;
SET LOCAL ROLE NONE;
SET LOCAL standard_conforming_strings = on;
SET LOCAL search_path = pg_catalog, pg_temp;
${OWN_AGAIN_STATEMENTS.join(';\n')};`;
// RESET ALL leaves the role and the session authorization alone: they are reset by name.
export const CLEAN_SESSION_SQL =
  'RESET SESSION AUTHORIZATION; RESET ROLE; RESET ALL; DEALLOCATE ALL; CLOSE ALL; UNLISTEN *;';

/**
 * A file's own BEGIN/COMMIT would end our transaction early and leave its
 * tracking row outside it. They are blanked with spaces (newlines kept), so
 * every other character keeps its offset and error positions still map.
 */
export function blankTransactionControl(sql: string, statements: readonly Statement[]): string {
  let out = sql;
  for (const s of statements) {
    if (!isBlankedControl(s)) continue;
    out =
      out.slice(0, s.start) + out.slice(s.start, s.end).replace(/[^\n]/g, ' ') + out.slice(s.end);
  }
  return out;
}

/**
 * The file with every statement but those at `only` blanked out: their
 * characters become spaces, newlines and semicolons stay (empty statements
 * are no-ops), so positions in errors still point into the file. Its
 * checksum stays the file's.
 */
function onlyStatements(
  file: MigrationFile,
  statements: readonly Statement[],
  only: readonly Location[],
): { file: MigrationFile; statements: Statement[] } {
  const kept = new Set(only.map((at) => `${at.line}:${at.column}`));
  const isKept = (s: Statement) => kept.has(`${s.at.line}:${s.at.column}`);
  // One pass over the text, in statement order: a file of 20,000 statements is not copied 20,000 times.
  const pieces: string[] = [];
  let from = 0;
  for (const s of [...statements].sort((a, b) => a.start - b.start)) {
    if (isKept(s) || s.start < from) continue;
    pieces.push(
      file.sql.slice(from, s.start),
      file.sql.slice(s.start, s.end).replace(/[^\n;]/g, ' '),
    );
    from = s.end;
  }
  pieces.push(file.sql.slice(from));
  return { file: { ...file, sql: pieces.join('') }, statements: statements.filter(isKept) };
}

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
  /** What the session is given back after each clean-up: a tenant's search_path (SPEC §10). */
  sessionSql?: string | undefined;
  /** The command that goes on after a failure, for the hints (default: schemata migrate <set>). */
  again?: string | undefined;
}

const againOf = (context: ApplyContext) => context.again ?? `schemata migrate ${context.set}`;

/** The clean session after a migration, then the session's own settings again. */
const cleanSessionOf = (context: ApplyContext) =>
  `${CLEAN_SESSION_SQL}${context.sessionSql ? ` ${context.sessionSql};` : ''}`;

interface PgError {
  message: string;
  code?: string;
  position?: string;
  where?: string;
  detail?: string;
}

/**
 * Applies one migration and its tracking row in one transaction, in one round
 * trip: BEGIN, a snapshot of the catalog, the file, what it changed in the
 * catalog (kept as the set's expected state), the tracking event and COMMIT
 * go as one simple-query batch. A failure leaves none of it. A statement that
 * waits for a lock longer than the statement lock timeout rolls it back; it
 * is tried again up to LOCK_RETRIES times, then the blockers are named.
 * Returns the wall time in ms.
 */
export async function applyMigration(
  context: ApplyContext,
  file: MigrationFile,
  statements: readonly Statement[],
  event: 'applied' | 'repaired' | 'rolled-back',
  snapshot: SnapshotScope,
  measurement: Measurement,
  creates: readonly string[],
  reversal?: Reversal,
): Promise<number | 'taken'> {
  const body = blankTransactionControl(file.sql, statements);
  // A down (SPEC §12): checked against what its up did, and recorded as the expected state brought back.
  const record = reversal
    ? `${reversalCheckSql(reversal)}\n${rolledBackSql(eventValues(context.set, file, 'rolled-back', BATCH_DURATION_SQL), reversal, creates)};`
    : recordEffectsSql(
        context.set,
        file,
        event,
        BATCH_DURATION_SQL,
        snapshot,
        context.tracking,
        creates,
      );
  // Statements that run, in batch order: a failure without a position is the one after the last that completed.
  const runnable = statements.filter((st) => !isBlankedControl(st));
  const started = performance.now();
  let capture = measurement.capture;
  for (let attempt = 0, suspectRuns = 0; ; attempt++) {
    const prefix = prefixOf(context, file, snapshot, { ...measurement, capture }, runnable);
    const batch = `${prefix.text}${body}\n;\n${RESTORE_LOCAL_SQL}\n${measureAfterSql(context.tracking)};\n${record}\nCOMMIT;\n${cleanSessionOf(context)}`;
    let completed = 0;
    const count = () => {
      completed += 1;
    };
    const connection = (context.client as unknown as { connection: NodeJS.EventEmitter })
      .connection;
    connection.on('commandComplete', count);
    try {
      await context.client.query(batch);
      return Math.round(performance.now() - started);
    } catch (error) {
      const failing =
        completed >= prefix.statements && completed - prefix.statements < runnable.length
          ? runnable[completed - prefix.statements]
          : undefined;
      connection.off('commandComplete', count);
      await context.client.query(`ROLLBACK; ${cleanSessionOf(context)}`).catch(() => {});
      const e = error as PgError;
      if (context.signal?.aborted) throw stopped(context, file, error);
      if (e.code === MIGRATION_TAKEN_SQLSTATE) return 'taken';
      if (e.code === LOSS_SQLSTATE) throw measuredRefusal(context, file, e.message, error);
      if (e.code === NOT_REVERSED_SQLSTATE && reversal)
        throw notReversed(context, file, reversal, e.message, error);
      // Tables whose rows before the file were not measured may have lost them: measure them, and run it again.
      if (e.code === SUSPECT_SQLSTATE && suspectRuns < SUSPECT_RUNS) {
        suspectRuns += 1;
        capture = [...new Set([...capture, ...e.message.split(',').map(Number)])];
        context.onRetry?.();
        continue;
      }
      if (e.code === SUSPECT_SQLSTATE) {
        throw measuredRefusal(
          context,
          file,
          `tables it changed (OIDs ${e.message}) may have held rows, and ${SUSPECT_RUNS + 1} runs could not tell`,
          error,
        );
      }
      // Our own wait for another run applying this very migration.
      if (e.code === '55P03' && completed < prefix.statements) {
        throw new LockTimeoutError(
          `Set "${context.set}": ${file.file}`,
          undefined,
          context.runLockTimeoutMs / 1000,
        );
      }
      if (e.code === '55P03' && attempt < LOCK_RETRIES) {
        context.onRetry?.();
        await sleep(LOCK_BACKOFF_MS * 2 ** attempt, context.signal);
        if (context.signal?.aborted) throw stopped(context, file, error);
        continue;
      }
      if (e.code === '55P03') throw await lockGaveUp(context, file, failing, error);
      throw describeFailure(context, file, statements, e, prefix.text.length, failing);
    } finally {
      connection.off('commandComplete', count);
    }
  }
}

/**
 * A migration whose measurement found tables it changed whose rows were not
 * measured before is run again with them measured; it is rolled back each
 * time, so it applies once.
 */
const SUSPECT_RUNS = 2;

/** A statement that waited for a lock too long is tried again this many times, after 1, 2 and 4 s. */
const LOCK_RETRIES = 3;
const LOCK_BACKOFF_MS = 1000;

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

/** A BEGIN, START TRANSACTION or COMMIT of the file's own: blanked out of the batch. */
function isBlankedControl(statement: Statement): boolean {
  if (nodeKind(statement.node) !== 'TransactionStmt') return false;
  const kind = (statement.node as { TransactionStmt: { kind?: string } }).TransactionStmt.kind;
  return kind === 'TRANS_STMT_BEGIN' || kind === 'TRANS_STMT_START' || kind === 'TRANS_STMT_COMMIT';
}

/** Stopped by SIGINT or SIGTERM: the server cancelled the statement and rolled the migration back. */
function stopped(context: ApplyContext, file: MigrationFile, cause: unknown): StoppedError {
  const signal = String(context.signal?.reason ?? 'SIGTERM');
  return new StoppedError(
    signal,
    context.again === undefined
      ? `Set "${context.set}": stopped by ${signal} while applying ${file.file}: the server cancelled its statement and rolled it back, so nothing of it is applied or recorded; migrations before it in this run stay applied.`
      : `Set "${context.set}": stopped by ${signal} while running ${file.file}: the server cancelled its statement and rolled it back, so nothing of it is applied or recorded; what ran before it in this run stays done.`,
    context.again === undefined
      ? `Run the same command again to apply ${file.file} and what follows it.`
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
  file: MigrationFile,
  failing: Statement | undefined,
  cause: unknown,
): Promise<MigrationFailedError> {
  const { rows } = await context.client
    .query<{
      pid: number;
      application: string;
      since: Date | null;
      state: string;
      query: string;
      locks: string;
    }>(
      `SELECT a.pid, a.application_name AS application, a.xact_start AS since, a.state, left(regexp_replace(a.query, '[[:space:]]+', ' ', 'g'), 120) AS query,
              (SELECT string_agg(DISTINCT format('%s on %I.%I', l.mode, n.nspname, c.relname), ', ')
                 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE l.pid = a.pid AND l.locktype = 'relation' AND l.granted AND c.relkind IN ('r', 'p', 'm', 'f', 'v')
                  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%') AS locks
         FROM pg_stat_activity a
        WHERE a.pid <> pg_backend_pid() AND a.datname = current_database() AND a.xact_start IS NOT NULL
        ORDER BY a.xact_start`,
    )
    .catch(() => ({ rows: [] }));
  const holding = rows.filter((r) => r.locks).slice(0, 5);
  const blockers = holding.map(
    (r) =>
      `pid ${r.pid} (${r.application || 'no application_name'}, ${r.state}, in a transaction since ${r.since?.toISOString() ?? '?'}, holding ${r.locks}: ${maskSecrets(r.query)})`,
  );
  const where = failing
    ? ` at ${context.path}:${failing.at.line}:${failing.at.column} (${abbreviate(failing.shown, 80)})`
    : '';
  const seconds = context.statementLockTimeoutMs / 1000;
  return new MigrationFailedError(
    `Set "${context.set}": migration ${file.file}${where} waited more than ${seconds}s for a lock, ${LOCK_RETRIES + 1} times; each time it was rolled back, so that the application's queries did not queue behind it. Nothing of it is applied or recorded. ` +
      (blockers.length > 0
        ? `Sessions holding table locks: ${blockers.join('; ')}.`
        : 'No session holds a table lock now.'),
    `${holding[0] ? `Let those sessions finish (or end one: SELECT pg_terminate_backend(${holding[0].pid})), then run again` : 'Run again'}; a longer wait is --statement-lock-timeout S: ${againOf(context)} --statement-lock-timeout ${Math.max(10, seconds * 4)}`,
    { cause },
  );
}

function measuredRefusal(
  context: ApplyContext,
  file: MigrationFile,
  lost: string,
  cause: unknown,
): RefusedError {
  return new RefusedError(
    `Set "${context.set}": data protection rolled back ${file.file}: ${lost}. The measurement in its transaction found it after the file ran, where the forecast before the run ` +
      `did not see it (a procedure or function, a trigger, dynamic SQL, or a step no reading of the text resolves). Nothing of ${file.file} is applied or recorded; migrations before it in this run stay applied.`,
    `Move or back up the data first; if losing it is intended, add the line "-- schemata:force" to ${context.path}, or run: ${againOf(context)} --force`,
    { cause },
  );
}

function notReversed(
  context: ApplyContext,
  down: MigrationFile,
  reversal: Reversal,
  differences: string,
  cause: unknown,
): NotReversedError {
  return new NotReversedError(
    `Set "${context.set}": the down of ${reversal.up} does not undo it: ${maskSecrets(differences)}. ` +
      `${down.file} was rolled back: ${reversal.up} stays applied, and downs before it in this run stay rolled back.`,
    `Make ${context.path} undo exactly what ${reversal.up} did (schemata rollback ${context.set} --check proves it on a scratch database), then run: ${againOf(context)}`,
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
function describeFailure(
  context: ApplyContext,
  file: MigrationFile,
  statements: readonly Statement[],
  error: PgError,
  prefixLength: number,
  failing: Statement | undefined,
): MigrationFailedError {
  let offset: number | undefined;
  if (error.position) {
    offset = Number(error.position) - 1 - prefixLength;
    if (offset < 0 || offset >= file.sql.length) offset = undefined;
    else failing = statements.find((s) => offset! >= s.start && offset! <= s.end) ?? failing;
  }
  const path = relative(context.cwd, file.path) || file.path;
  const at = offset !== undefined ? locate(file.sql, offset) : failing?.at;
  const where = at ? `${path}:${at.line}:${at.column}` : path;
  const statement = failing ? ` Statement: ${abbreviate(failing.shown)}` : '';
  // PostgreSQL's words may quote SQL (a PL/pgSQL context's "SQL statement ..."): masked where a password stands.
  const plpgsqlContext = error.where ? ` (${maskSecrets(error.where.split('\n')[0]!)})` : '';
  const detail = error.detail ? ` ${maskSecrets(error.detail)}` : '';
  const lost = isConnectionLoss(error);
  // The database's or role's statement_timeout, not the file, ended it.
  const timedOut = error.code === '57014' && /statement timeout/i.test(error.message);
  const sentence = (text: string) => (/[.!?]$/.test(text) ? text : `${text}.`);
  const said = [`${maskSecrets(error.message)}${plpgsqlContext}`, detail.trim(), statement.trim()]
    .filter((part) => part !== '')
    .map(sentence)
    .join(' ');
  return new MigrationFailedError(
    `Set "${context.set}": migration ${file.file} failed at ${where}: ${said} ` +
      (lost
        ? "The connection to the database was lost; the migration's transaction was rolled back by the server and nothing of it is recorded."
        : timedOut
          ? "It ran longer than the statement_timeout of the database or the role (schemata's own statements are exempt; the file's are not). Its transaction was rolled back: nothing of it is applied or recorded, and later migrations did not run."
          : 'Its transaction was rolled back: nothing of it is applied or recorded, and later migrations did not run.'),
    lost
      ? `Run the command again once the database is reachable: ${againOf(context)}`
      : timedOut
        ? `Give it more time with a first line in ${path}: SET LOCAL statement_timeout = '30min'; then run again: ${againOf(context)}`
        : `Fix ${path}, then run again: ${againOf(context)}`,
    { cause: error },
  );
}

/**
 * Runs a migration outside schemata's transaction (`-- schemata:no-transaction`,
 * CREATE INDEX CONCURRENTLY, a file with its own BEGIN ... COMMIT blocks), as
 * psql would, with every guarantee that fits: each of its transactions (a
 * block of its own, or a statement that would autocommit) is wrapped with the
 * statement lock timeout and measured before its COMMIT like a whole
 * migration (engine/measure.ts); only what PostgreSQL refuses in a transaction
 * block runs bare. Its tracking row says running first, then applied; a
 * failure leaves it failed (dirty), naming what had committed. Afterwards the
 * session is clean: what the file SET (search_path, ROLE) reaches neither
 * schemata's own writes nor the next migration.
 */
export async function applyWithoutTransaction(
  context: ApplyContext,
  file: MigrationFile,
  statements: readonly Statement[],
  event: 'applied' | 'repaired',
  snapshot: SnapshotScope,
  measurement: Measurement,
  creates: readonly string[],
): Promise<number | 'taken'> {
  const started = performance.now();
  // Taken by the client: no transaction holds the snapshot across the statements.
  const before = {
    rows: await readCatalog(context.client, snapshot),
    scope: snapshot,
    features: context.tracking,
    creates,
  };
  try {
    await recordRunning(
      context.client,
      context.set,
      file,
      `${onceStatements(context.set, file.version, context.expectedEvent, context.runLockTimeoutMs, context.tracking).join(';\n')};`,
    );
  } catch (error) {
    await context.client.query('ROLLBACK').catch(() => {});
    if ((error as PgError).code === MIGRATION_TAKEN_SQLSTATE) return 'taken';
    throw error;
  }
  const done: Statement[] = [];
  const path = relative(context.cwd, file.path) || file.path;
  // Outside a transaction block, the lock timeout can only be the session's: set for the statement, then reset.
  const runBare = async (statement: Statement) => {
    await context.client.query(
      `SET lock_timeout = ${Math.max(0, Math.round(context.statementLockTimeoutMs))}`,
    );
    await context.client.query(statement.text);
    await context.client.query('RESET lock_timeout');
  };
  const fail = async (error: unknown, statement: Statement, position?: number): Promise<never> => {
    await context.client.query(`ROLLBACK; ${cleanSessionOf(context)}`).catch(() => {});
    const ms = Math.round(performance.now() - started);
    // What it did make is there: the expected state follows the catalog, and the event says failed.
    await recordAfterRunning(context.client, context.set, file, before, 'failed', ms).catch(
      () => {},
    );
    if (context.signal?.aborted) throw stopped(context, file, error);
    const e = error as PgError;
    const at = position !== undefined ? locate(file.sql, position) : statement.at;
    const ran =
      done.length === 0
        ? 'Nothing of it had committed.'
        : `Already committed and kept: ${done.map((s) => `line ${s.at.line} (${abbreviate(s.shown, 60)})`).join('; ')}.`;
    if (e.code === LOSS_SQLSTATE || e.code === SUSPECT_SQLSTATE) {
      throw new RefusedError(
        `Set "${context.set}": data protection rolled back the transaction of ${file.file} at ${path}:${at.line}:${at.column}: ${e.code === LOSS_SQLSTATE ? e.message : `tables it changed (OIDs ${e.message}) may have held rows`}. ` +
          `${ran} ${file.file} runs outside a single transaction, so it is recorded as failed (dirty) and later migrations did not run.`,
        `Move or back up the data first; if losing it is intended, add the line "-- schemata:force" to ${path}, then run: schemata migrate ${context.set} --repair`,
        { cause: error },
      );
    }
    throw new MigrationFailedError(
      `Set "${context.set}": migration ${file.file} runs outside a transaction and failed at ${path}:${at.line}:${at.column}: ${maskSecrets(e.message)}. ` +
        `Statement: ${abbreviate(statement.shown)}. ${ran} It is recorded as failed (dirty) and later migrations did not run.`,
      `Make ${path} re-runnable (IF NOT EXISTS, IF EXISTS), fix the cause, then run: schemata migrate ${context.set} --repair`,
      { cause: error },
    );
  };
  for (const unit of transactionsOf(statements, measurement.outside ?? [])) {
    if (context.signal?.aborted)
      await fail(new Error('stopped'), unit.statements[0] ?? unit.begin!);
    if (unit.kind === 'bare') {
      const statement = unit.statements[0]!;
      try {
        await runBare(statement);
        done.push(statement);
      } catch (error) {
        const e = error as PgError;
        await fail(
          error,
          statement,
          e.position ? statement.start + Number(e.position) - 1 : undefined,
        );
      }
      continue;
    }
    let capture = measurement.capture;
    for (let attempt = 0; ; attempt++) {
      const first = unit.begin ?? unit.statements[0]!;
      const head =
        `${unit.begin ? unit.begin.text : 'BEGIN'};\n${unit.setTransaction.map((s) => s.text).join(';\n')}${unit.setTransaction.length > 0 ? ';\n' : ''}` +
        `${OWN_SETTINGS_SQL};\nSET LOCAL application_name = ${quoteLiteral(applicationName(context.set, file.file))};\nSET LOCAL lock_timeout = ${Math.max(0, Math.round(context.statementLockTimeoutMs))};\n${measureBeforeSql({ ...measurement, capture }, context.tracking)};\n${USER_SETTINGS_SQL};\n`;
      const body = unit.statements.map((s) => s.text).join(';\n');
      const tail = `\n;\n${RESTORE_LOCAL_SQL}\n${measureAfterSql(context.tracking)};\n${unit.end ? unit.end.text : 'COMMIT'};`;
      try {
        await context.client.query(`${head}${body}${tail}`);
        done.push(...unit.statements);
        break;
      } catch (error) {
        const e = error as PgError;
        await context.client.query('ROLLBACK').catch(() => {});
        if (context.signal?.aborted) await fail(error, first);
        if (e.code === SUSPECT_SQLSTATE && attempt < SUSPECT_RUNS) {
          capture = [...new Set([...capture, ...e.message.split(',').map(Number)])];
          context.onRetry?.();
          continue;
        }
        if (e.code === '55P03' && attempt < LOCK_RETRIES) {
          await sleep(LOCK_BACKOFF_MS * 2 ** attempt, context.signal);
          continue;
        }
        // A DO block or procedure that COMMITs cannot run in a transaction block: it runs as written.
        if (e.code === '2D000' && !unit.begin && unit.statements.length === 1) {
          try {
            await runBare(first);
            done.push(first);
            break;
          } catch (bare) {
            const b = bare as PgError;
            await fail(bare, first, b.position ? first.start + Number(b.position) - 1 : undefined);
          }
        }
        // Where in the file: PostgreSQL's position, when it falls in the body, else the unit's first statement.
        let position: number | undefined;
        let failing = first;
        const offset = e.position ? Number(e.position) - 1 - head.length : -1;
        if (offset >= 0 && offset < body.length) {
          let start = 0;
          for (const s of unit.statements) {
            if (offset >= start && offset <= start + s.text.length) {
              failing = s;
              position = s.start + offset - start;
              break;
            }
            start += s.text.length + 2;
          }
        }
        await fail(error, failing, position);
      }
    }
  }
  // The file's own SET, SET ROLE or search_path end here: schemata's record and the next migration start clean.
  await context.client.query(cleanSessionOf(context));
  const ms = Math.round(performance.now() - started);
  await recordAfterRunning(context.client, context.set, file, before, event, ms);
  return ms;
}

/** One transaction of a file run outside schemata's: a block of its own, a statement that autocommits, or one PostgreSQL refuses in a block. */
export type FileTransaction =
  | {
      kind: 'bare';
      statements: Statement[];
      begin?: undefined;
      end?: undefined;
      setTransaction: Statement[];
    }
  | {
      kind: 'measured';
      statements: Statement[];
      begin?: Statement | undefined;
      end?: Statement | undefined;
      setTransaction: Statement[];
    };

/**
 * The file's transactions, as psql would run them: its own BEGIN ... COMMIT
 * (or ROLLBACK) blocks, and every other statement on its own. Pure.
 */
export function transactionsOf(
  statements: readonly Statement[],
  outside: readonly Location[],
): FileTransaction[] {
  const refused = (s: Statement) =>
    outside.some((at) => at.line === s.at.line && at.column === s.at.column);
  const units: FileTransaction[] = [];
  let block: { begin: Statement; statements: Statement[]; setTransaction: Statement[] } | undefined;
  for (const s of statements) {
    const control = transactionKind(s);
    if (control === 'begin' && !block) {
      block = { begin: s, statements: [], setTransaction: [] };
    } else if (block && (control === 'commit' || control === 'rollback')) {
      // A block the file rolls back leaves nothing: it runs as written, unmeasured.
      units.push(
        control === 'rollback'
          ? {
              kind: 'bare',
              statements: [block.begin, ...block.setTransaction, ...block.statements, s],
              setTransaction: [],
            }
          : { kind: 'measured', ...block, end: s },
      );
      block = undefined;
    } else if (block) {
      if (block.statements.length === 0 && isSetTransaction(s)) block.setTransaction.push(s);
      else block.statements.push(s);
    } else {
      // A SET or RESET changes the session, never data (RESET ALL inside the wrapper would also reset the measurement's settings); a COMMIT or ROLLBACK with no block open only warns, as in psql.
      units.push(
        refused(s) || control !== undefined || nodeKind(s.node) === 'VariableSetStmt'
          ? { kind: 'bare', statements: [s], setTransaction: [] }
          : { kind: 'measured', statements: [s], setTransaction: [] },
      );
    }
  }
  // A BEGIN never committed: psql would leave it open and lose it at exit; run as written.
  if (block)
    units.push({
      kind: 'bare',
      statements: [block.begin, ...block.setTransaction, ...block.statements],
      setTransaction: [],
    });
  return units.flatMap((u) =>
    u.kind === 'bare' && u.statements.length > 1
      ? u.statements.map((s) => ({ kind: 'bare' as const, statements: [s], setTransaction: [] }))
      : [u],
  );
}

function transactionKind(statement: Statement): 'begin' | 'commit' | 'rollback' | undefined {
  if (nodeKind(statement.node) !== 'TransactionStmt') return undefined;
  const kind = (statement.node as { TransactionStmt: { kind?: string } }).TransactionStmt.kind;
  if (kind === 'TRANS_STMT_BEGIN' || kind === 'TRANS_STMT_START') return 'begin';
  if (kind === 'TRANS_STMT_COMMIT') return 'commit';
  if (kind === 'TRANS_STMT_ROLLBACK') return 'rollback';
  return undefined;
}

function isSetTransaction(statement: Statement): boolean {
  if (nodeKind(statement.node) !== 'VariableSetStmt') return false;
  return (
    (statement.node as { VariableSetStmt: { name?: string } }).VariableSetStmt.name ===
    'TRANSACTION'
  );
}

/** Drops the INVALID indexes, among those named, that a failed CREATE INDEX CONCURRENTLY left behind. */
export async function dropInvalidIndexes(
  client: Client,
  refs: readonly ObjectRef[],
): Promise<string[]> {
  const indexes = refs.flatMap((r) =>
    r.kind === 'index' ? [{ schema: r.schema, name: r.name }] : [],
  );
  if (indexes.length === 0) return [];
  const { rows } = await client.query<{ qualified: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS qualified
       FROM jsonb_to_recordset($1::jsonb) AS x(schema text, name text)
       JOIN pg_class c ON c.relname = x.name
       JOIN pg_namespace n ON n.oid = c.relnamespace AND (x.schema = '' OR n.nspname = x.schema)
       JOIN pg_index i ON i.indexrelid = c.oid
      WHERE NOT i.indisvalid`,
    [JSON.stringify(indexes)],
  );
  for (const { qualified } of rows)
    await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${qualified}`);
  return rows.map((r) => r.qualified);
}

function abbreviate(text: string, max = 160): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
}

/**
 * Runs one apply step as planned: drops what a failed CONCURRENTLY left, keeps
 * only the statements the step names, and runs it in or outside a
 * transaction with the check the plan chose. Decides nothing. Returns the
 * wall time in ms.
 */
export async function applyStep(
  context: ApplyContext,
  step: ApplyStep,
): Promise<{ ms: number; notices: string[]; taken: boolean }> {
  const notices: string[] = [];
  const onNotice = (msg: { severity?: string; message?: string }) =>
    notices.push(maskSecrets(`${msg.severity ?? 'NOTICE'}: ${msg.message ?? ''}`));
  context.client.on('notice', onNotice);
  try {
    const ms = await runStep(
      { ...context, expectedEvent: step.expectedEvent, onRetry: () => notices.splice(0) },
      step,
    );
    return ms === 'taken' ? { ms: 0, notices, taken: true } : { ms, notices, taken: false };
  } finally {
    context.client.off('notice', onNotice);
  }
}

async function runStep(context: ApplyContext, step: ApplyStep): Promise<number | 'taken'> {
  if (context.signal?.aborted) {
    const signal = String(context.signal.reason);
    throw new StoppedError(
      signal,
      `Set "${context.set}": stopped by ${signal} before ${step.file.file}: it and what follows it did not run; migrations before it in this run stay applied.`,
      'Run the same command again to go on.',
    );
  }
  const { file, statements } = step.only
    ? onlyStatements(step.file, step.statements, step.only)
    : step;
  try {
    if (step.dropInvalid.length > 0) await dropInvalidIndexes(context.client, step.dropInvalid);
    if (step.transactional)
      return await applyMigration(
        context,
        file,
        statements,
        step.event,
        step.snapshot,
        step.measurement,
        step.creates,
        step.reversal,
      );
    // A down's check must be able to roll it back: planning keeps every down in a transaction.
    if (step.event === 'rolled-back')
      throw new Error(`${step.file.file} must run in a transaction`);
    return await applyWithoutTransaction(
      context,
      file,
      statements,
      step.event,
      step.snapshot,
      step.measurement,
      step.creates,
    );
  } catch (error) {
    if (step.event !== 'repaired' || !(error instanceof MigrationFailedError)) throw error;
    throw new MigrationFailedError(
      `${error.message} --repair ran it again because it was tracked but incomplete, and it is not re-runnable: it fails on what its first run left behind.`,
      `Make ${step.path} re-runnable (CREATE ... IF NOT EXISTS, ADD COLUMN IF NOT EXISTS, DROP ... IF EXISTS, or DO blocks guarded by catalog checks), then run: schemata migrate ${context.set} --repair`,
      { cause: error },
    );
  }
}
