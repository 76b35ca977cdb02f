import { relative } from 'node:path';
import type { MigrationFile } from '../config/discover.js';
import type { Client } from '../db/connect.js';
import type { SnapshotScope } from '../db/catalog.js';
import { type TrackingFeatures, BATCH_DURATION_SQL, readCatalog, recordAfterRunning, recordEffectsSql, recordRunning, snapshotBeforeSql } from '../db/tracking.js';
import { GUARD_AFTER_SQL, GUARD_SQLSTATE, guardBeforeStatements } from '../db/protection.js';
import type { ApplyStep } from '../plan/steps.js';
import { LockTimeoutError, MigrationFailedError, RefusedError, StoppedError } from '../errors.js';
import { MIGRATION_TAKEN_SQLSTATE, onceStatements } from '../db/lock.js';
import type { ObjectRef } from '../sql/operations.js';
import { type Location, locate, nodeKind, type Statement } from '../sql/statements.js';
import { maskSecrets } from '../targets/redact.js';
import { OWN_AGAIN_STATEMENTS, OWN_SETTINGS_SQL, USER_SETTINGS_SQL } from '../db/own-settings.js';

/*
 * What goes before the file in its batch, one statement each; PostgreSQL's
 * error positions map to the file by subtracting the prefix's length, and a
 * failure without a position is located by counting the statements that
 * completed. The leading comment is what a DBA sees first in
 * pg_stat_activity (whose query text is cut at 1 kB by default).
 */
function prefixOf(context: ApplyContext, file: MigrationFile, snapshot: SnapshotScope, guard: Guard | undefined): { text: string; statements: number } {
  const set = context.set;
  const statements = [
    'BEGIN',
    OWN_SETTINGS_SQL,
    // A client that is gone (killed, its machine lost) ends the statement within a second, not at its next result.
    'SET LOCAL client_connection_check_interval = 1000',
    ...onceStatements(set, file.version, context.expectedEvent, context.runLockTimeoutMs, context.tracking),
    // Never queue behind a long transaction with the application's queries queued behind us.
    `SET LOCAL lock_timeout = ${Math.max(0, Math.round(context.statementLockTimeoutMs))}`,
    snapshotBeforeSql(snapshot, context.tracking),
    ...(guard ? guardBeforeStatements(guard.schemas, guard.tables, guard.startTables) : []),
    USER_SETTINGS_SQL,
  ];
  return { text: `-- schemata: set ${set}, ${file.file.replace(/[\r\n]/g, ' ')}\n${statements.join(';\n')};\n`, statements: statements.length };
}

/*
 * After the file: back to the run's own role and settings for the tracking
 * rows (a file's SET ROLE or standard_conforming_strings must not decide
 * whether its own record can be written), and after COMMIT, a clean session
 * for the next migration, as if each file ran in a psql session of its own.
 */
const RESTORE_LOCAL_SQL = `RESET SESSION AUTHORIZATION;
RESET ROLE;
SET LOCAL standard_conforming_strings = on;
SET LOCAL search_path = pg_catalog, pg_temp;
${OWN_AGAIN_STATEMENTS.join(';\n')};`;
export const CLEAN_SESSION_SQL = 'RESET ALL; DEALLOCATE ALL; CLOSE ALL; UNLISTEN *;';

/**
 * A file's own BEGIN/COMMIT would end our transaction early and leave its
 * tracking row outside it. They are blanked with spaces (newlines kept), so
 * every other character keeps its offset and error positions still map.
 */
export function blankTransactionControl(sql: string, statements: readonly Statement[]): string {
  let out = sql;
  for (const s of statements) {
    if (!isBlankedControl(s)) continue;
    out = out.slice(0, s.start) + out.slice(s.start, s.end).replace(/[^\n]/g, ' ') + out.slice(s.end);
  }
  return out;
}

/**
 * The file with every statement but those at `only` blanked out: their
 * characters become spaces, newlines and semicolons stay (empty statements
 * are no-ops), so positions in errors still point into the file. Its
 * checksum stays the file's.
 */
function onlyStatements(file: MigrationFile, statements: readonly Statement[], only: readonly Location[]): { file: MigrationFile; statements: Statement[] } {
  const isKept = (s: Statement) => only.some((at) => at.line === s.at.line && at.column === s.at.column);
  let sql = file.sql;
  for (const s of statements.filter((s) => !isKept(s))) sql = sql.slice(0, s.start) + sql.slice(s.start, s.end).replace(/[^\n;]/g, ' ') + sql.slice(s.end);
  return { file: { ...file, sql }, statements: statements.filter(isKept) };
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
}

/** The server-side data check of a transactional migration (SPEC §5): every table of the set's schemas, or the tables the plan traced (OIDs). */
export interface Guard {
  schemas: readonly string[];
  tables: 'all' | readonly number[];
  startTables: readonly number[];
}

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
  event: 'applied' | 'repaired',
  snapshot: SnapshotScope,
  guard?: Guard,
): Promise<number | 'taken'> {
  const body = blankTransactionControl(file.sql, statements);
  const prefix = prefixOf(context, file, snapshot, guard);
  const check = guard ? `${GUARD_AFTER_SQL}\n` : '';
  const batch = `${prefix.text}${body}\n;\n${RESTORE_LOCAL_SQL}\n${check}${recordEffectsSql(context.set, file, event, BATCH_DURATION_SQL, snapshot, context.tracking)}\nCOMMIT;\n${CLEAN_SESSION_SQL}`;
  // Statements that run, in batch order: a failure without a position is the one after the last that completed.
  const runnable = statements.filter((st) => !isBlankedControl(st));
  const started = performance.now();
  for (let attempt = 0; ; attempt++) {
    let completed = 0;
    const count = () => {
      completed += 1;
    };
    const connection = (context.client as unknown as { connection: NodeJS.EventEmitter }).connection;
    connection.on('commandComplete', count);
    try {
      await context.client.query(batch);
      return Math.round(performance.now() - started);
    } catch (error) {
      const failing = completed >= prefix.statements && completed - prefix.statements < runnable.length ? runnable[completed - prefix.statements] : undefined;
      connection.off('commandComplete', count);
      await context.client.query(`ROLLBACK; ${CLEAN_SESSION_SQL}`).catch(() => {});
      const e = error as PgError;
      if (context.signal?.aborted) throw stopped(context, file, error);
      if (e.code === MIGRATION_TAKEN_SQLSTATE) return 'taken';
      if (e.code === GUARD_SQLSTATE) throw guardRefusal(context, file, e.message, error);
      // Our own wait for another run applying this very migration.
      if (e.code === '55P03' && completed < prefix.statements) {
        throw new LockTimeoutError(`Set "${context.set}": ${file.file}`, undefined, context.runLockTimeoutMs / 1000);
      }
      if (e.code === '55P03' && attempt < LOCK_RETRIES) {
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

/** A statement that waited for a lock too long is tried again this many times, after 1, 2 and 4 s. */
const LOCK_RETRIES = 3;
const LOCK_BACKOFF_MS = 1000;

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
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
    `Set "${context.set}": stopped by ${signal} while applying ${file.file}: the server cancelled its statement and rolled it back, so nothing of it is applied or recorded; migrations before it in this run stay applied.`,
    `Run the same command again to apply ${file.file} and what follows it.`,
    { cause },
  );
}

/** Who holds the locks a migration waited for: the sessions in a transaction that hold table locks in this database. */
async function lockGaveUp(context: ApplyContext, file: MigrationFile, failing: Statement | undefined, cause: unknown): Promise<MigrationFailedError> {
  const { rows } = await context.client
    .query<{ pid: number; application: string; since: Date | null; state: string; query: string }>(
      `SELECT a.pid, a.application_name AS application, a.xact_start AS since, a.state, left(regexp_replace(a.query, '[[:space:]]+', ' ', 'g'), 120) AS query
         FROM pg_stat_activity a
        WHERE a.pid <> pg_backend_pid() AND a.datname = current_database() AND a.xact_start IS NOT NULL
          AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'relation' AND l.granted AND l.mode <> 'AccessShareLock')
        ORDER BY a.xact_start LIMIT 5`,
    )
    .catch(() => ({ rows: [] }));
  const blockers = rows.map((r) => `pid ${r.pid} (${r.application || 'no application_name'}, ${r.state}, in a transaction since ${r.since?.toISOString() ?? '?'}: ${maskSecrets(r.query)})`);
  const where = failing ? ` at ${context.path}:${failing.at.line}:${failing.at.column} (${abbreviate(failing.shown, 80)})` : '';
  const seconds = context.statementLockTimeoutMs / 1000;
  return new MigrationFailedError(
    `Set "${context.set}": migration ${file.file}${where} waited more than ${seconds}s for a lock, ${LOCK_RETRIES + 1} times; each time it was rolled back, so that the application's queries did not queue behind it. Nothing of it is applied or recorded. ` +
      (blockers.length > 0 ? `Sessions holding table locks: ${blockers.join('; ')}.` : 'No session holds a table lock now.'),
    `Let those sessions finish (or end them: SELECT pg_terminate_backend(<pid>)), then run again; a longer wait is --statement-lock-timeout S: schemata migrate ${context.set} --statement-lock-timeout ${Math.max(10, seconds * 4)}`,
    { cause },
  );
}

function guardRefusal(context: ApplyContext, file: MigrationFile, lost: string, cause: unknown): RefusedError {
  return new RefusedError(
    `Set "${context.set}": data protection rolled back ${file.file}: ${lost}. The check on the server found it after the file ran ` +
      `(dynamic SQL, a function, or a step no reading of the text resolves). Nothing of ${file.file} is applied or recorded; migrations before it in this run stay applied.`,
    `Move or back up the data first; if losing it is intended, add the line "-- schemata:force" to ${context.path}, or run: schemata migrate ${context.set} --force`,
    { cause },
  );
}

const isConnectionLoss = (e: PgError) =>
  e.code?.startsWith('08') || e.code === '57P01' || e.code === '57P02' || e.code === '57P03' || /Connection terminated|ECONNRESET/i.test(e.message);

/**
 * Names the file, line, column and statement of a failure, without running
 * anything again: PostgreSQL gives a position for errors found while parsing
 * and analysing; for errors at run time (a constraint, a division by zero)
 * the statement is the one after the last that completed (`failing`).
 */
function describeFailure(context: ApplyContext, file: MigrationFile, statements: readonly Statement[], error: PgError, prefixLength: number, failing: Statement | undefined): MigrationFailedError {
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
  return new MigrationFailedError(
    `Set "${context.set}": migration ${file.file} failed at ${where}: ${maskSecrets(error.message)}${plpgsqlContext}.${detail}${statement}. ` +
      (lost
        ? 'The connection to the database was lost; the migration\'s transaction was rolled back by the server and nothing of it is recorded.'
        : 'Its transaction was rolled back: nothing of it is applied or recorded, and later migrations did not run.'),
    lost ? `Run the command again once the database is reachable: schemata migrate ${context.set}` : `Fix ${path}, then run again: schemata migrate ${context.set}`,
    { cause: error },
  );
}

/**
 * Runs a migration that PostgreSQL refuses inside a transaction block
 * (CREATE INDEX CONCURRENTLY, VACUUM, ...) statement by statement. Its
 * tracking row says running first, then applied; a failure leaves it failed
 * (dirty), and the error names the statements that had already run.
 */
export async function applyWithoutTransaction(
  context: ApplyContext,
  file: MigrationFile,
  statements: readonly Statement[],
  event: 'applied' | 'repaired',
  snapshot: SnapshotScope,
): Promise<number | 'taken'> {
  const started = performance.now();
  // Taken by the client: no transaction holds the snapshot across the statements.
  const before = { rows: await readCatalog(context.client, snapshot), scope: snapshot, features: context.tracking };
  try {
    await recordRunning(context.client, context.set, file, `${onceStatements(context.set, file.version, context.expectedEvent, context.runLockTimeoutMs, context.tracking).join(';\n')};`);
  } catch (error) {
    await context.client.query('ROLLBACK').catch(() => {});
    if ((error as PgError).code === MIGRATION_TAKEN_SQLSTATE) return 'taken';
    throw error;
  }
  const done: Statement[] = [];
  for (const statement of statements) {
    try {
      await context.client.query(statement.text);
      done.push(statement);
    } catch (error) {
      const ms = Math.round(performance.now() - started);
      // What it did make is there: the expected state follows the catalog, and the event says failed.
      await recordAfterRunning(context.client, context.set, file, before, 'failed', ms).catch(() => {});
      const e = error as PgError;
      const path = relative(context.cwd, file.path) || file.path;
      const offset = e.position ? statement.start + Number(e.position) - 1 : undefined;
      const at = offset !== undefined ? locate(file.sql, offset) : statement.at;
      const ran = done.length === 0 ? 'No statement before it had run.' : `Already run and kept: ${done.map((s) => `line ${s.at.line} (${abbreviate(s.shown, 60)})`).join('; ')}.`;
      throw new MigrationFailedError(
        `Set "${context.set}": migration ${file.file} runs outside a transaction and failed at ${path}:${at.line}:${at.column}: ${maskSecrets(e.message)}. ` +
          `Statement: ${abbreviate(statement.shown)}. ${ran} It is recorded as failed (dirty) and later migrations did not run.`,
        `Make ${path} re-runnable (IF NOT EXISTS, IF EXISTS), fix the cause, then run: schemata migrate ${context.set} --repair`,
        { cause: error },
      );
    }
  }
  const ms = Math.round(performance.now() - started);
  await recordAfterRunning(context.client, context.set, file, before, event, ms);
  return ms;
}

/** Drops the INVALID indexes, among those named, that a failed CREATE INDEX CONCURRENTLY left behind. */
export async function dropInvalidIndexes(client: Client, refs: readonly ObjectRef[]): Promise<string[]> {
  const indexes = refs.flatMap((r) => (r.kind === 'index' ? [{ schema: r.schema, name: r.name }] : []));
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
  for (const { qualified } of rows) await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${qualified}`);
  return rows.map((r) => r.qualified);
}

function abbreviate(text: string, max = 160): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
}

/** What a set's run keeps across its steps. */
export interface RunSession {
  /** The tables of the set's schemas when the run began: the broad check leaves out what the run made. */
  startTables: number[];
}

/**
 * Runs one apply step as planned: drops what a failed CONCURRENTLY left, keeps
 * only the statements the step names, and runs it in or outside a
 * transaction with the check the plan chose. Decides nothing. Returns the
 * wall time in ms.
 */
export async function applyStep(context: ApplyContext & { schemas: readonly string[]; session: RunSession }, step: ApplyStep): Promise<{ ms: number; notices: string[]; taken: boolean }> {
  const notices: string[] = [];
  const onNotice = (msg: { severity?: string; message?: string }) => notices.push(maskSecrets(`${msg.severity ?? 'NOTICE'}: ${msg.message ?? ''}`));
  context.client.on('notice', onNotice);
  try {
    const ms = await runStep({ ...context, expectedEvent: step.expectedEvent }, step);
    return ms === 'taken' ? { ms: 0, notices, taken: true } : { ms, notices, taken: false };
  } finally {
    context.client.off('notice', onNotice);
  }
}

/** The step's check; none where it would cover no table (the broad check on a set that had no tables when the run began). */
function guardOf(step: ApplyStep, schemas: readonly string[], session: RunSession): Guard | undefined {
  if (!step.guard || (step.guard.tables === 'all' && session.startTables.length === 0)) return undefined;
  return { schemas, tables: step.guard.tables, startTables: session.startTables };
}

async function runStep(context: ApplyContext & { schemas: readonly string[]; session: RunSession }, step: ApplyStep): Promise<number | 'taken'> {
  if (context.signal?.aborted) {
    const signal = String(context.signal.reason);
    throw new StoppedError(signal, `Set "${context.set}": stopped by ${signal} before ${step.file.file}: it and what follows it did not run; migrations before it in this run stay applied.`, 'Run the same command again to go on.');
  }
  const { file, statements } = step.only ? onlyStatements(step.file, step.statements, step.only) : step;
  try {
    if (step.dropInvalid.length > 0) await dropInvalidIndexes(context.client, step.dropInvalid);
    return step.transactional
      ? await applyMigration(context, file, statements, step.event, step.snapshot, guardOf(step, context.schemas, context.session))
      : await applyWithoutTransaction(context, file, statements, step.event, step.snapshot);
  } catch (error) {
    if (step.event !== 'repaired' || !(error instanceof MigrationFailedError)) throw error;
    throw new MigrationFailedError(
      `${error.message} --repair ran it again because it was tracked but incomplete, and it is not re-runnable: it fails on what its first run left behind.`,
      `Make ${step.path} re-runnable (CREATE ... IF NOT EXISTS, ADD COLUMN IF NOT EXISTS, DROP ... IF EXISTS, or DO blocks guarded by catalog checks), then run: schemata migrate ${context.set} --repair`,
      { cause: error },
    );
  }
}
