import { relative } from 'node:path';
import type { MigrationFile } from '../config/discover.js';
import type { Client } from './connect.js';
import type { SnapshotScope } from '../catalog/listing.js';
import {
  BATCH_DURATION_SQL,
  eventValues,
  readCatalog,
  recordAfterRunning,
  recordEffectsSql,
  recordRunning,
  REACHABLE_PATH_SQL,
  snapshotBeforeSql,
} from './tracking.js';
import { type Measurement, verifyWidenedBareSql, widenedBeforeBareSql } from './measure.js';
import type { ApplyStep } from '../model/steps.js';
import { MigrationFailedError, RefusedError, StoppedError } from '../errors.js';
import { type HeldTable, readHeldTables, readTablesNow, type TableNow } from '../catalog/rows.js';
import { committedLosses } from '../model/committed-loss.js';
import { type Reversal, reversalCheckSql, rolledBackSql } from './reversal.js';
import { MIGRATION_TAKEN_SQLSTATE, onceStatements } from './lock.js';
import type { ObjectRef } from '../sql/operations.js';
import { type Location, locate, nodeKind, type Statement } from '../sql/statements.js';
import { ownBlocks, transactionStmtOf } from '../sql/classify.js';
import { maskSecrets } from '../targets/redact.js';
import {
  abbreviate,
  type ApplyContext,
  againOf,
  CLEAN_SESSION_SQL,
  CLIENT_CHECK,
  forgetCounters,
  type Measured,
  type Outcome,
  type RowCounts,
  runTransaction,
  stopped,
  type Transaction,
} from './session.js';

/**
 * A file's own BEGIN/COMMIT would end our transaction early and leave its
 * tracking row outside it. They are blanked with spaces (newlines kept), so
 * every other character keeps its offset and error positions still map.
 */
export function blankTransactionControl(
  sql: string,
  statements: readonly Statement[],
  also: ReadonlySet<Statement> = new Set(),
): string {
  let out = sql;
  for (const s of statements) {
    if (!isBlankedControl(s) && !also.has(s)) continue;
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

/** The savepoint each migration of the run's one transaction runs in: a retry goes back to it, a failure undoes the whole. */
const SAVEPOINT = 'schemata_migration';

/** What a failure in the run's one transaction (--single-transaction) leaves: nothing of the run on its database. */
export const RUN_ROLLED_BACK =
  'every migration this run applied to the database before it is undone too: they were in one transaction (--single-transaction), rolled back whole, tracking rows included';

/**
 * Applies one migration and its tracking row in one transaction, in one round
 * trip (engine/session.ts): the claim, a snapshot of the catalog, the file,
 * the measurement, what it changed in the catalog (kept as the set's
 * expected state), the tracking event and COMMIT. A failure leaves none of
 * it. In the run's one transaction (`inRunTransaction`) the same batch runs
 * in a savepoint instead, released where it would commit; the caller begins
 * and ends the transaction. Returns the wall time in ms.
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
  inRunTransaction = false,
): Promise<Applied | 'taken'> {
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
  const started = performance.now();
  const path = relative(context.cwd, file.path) || file.path;
  // The file's own BEGIN ISOLATION LEVEL ... or SET TRANSACTION opens the transaction, before schemata's first query takes its snapshot.
  const opening = ownOpening(statements);
  const moved = new Set(opening?.slice(1));
  const claim = onceStatements(
    context.set,
    file.version,
    context.expectedEvent,
    context.runLockTimeoutMs,
    context.tracking,
    context.runLockPerTransaction,
  );
  const outcome: Outcome = {
    whole: true,
    left: inRunTransaction
      ? `Nothing of ${file.file} is applied or recorded, and ${RUN_ROLLED_BACK}; later ones did not run.`
      : context.again === undefined
        ? `Nothing of ${file.file} is applied or recorded; migrations before it in this run stay applied, and later ones did not run.`
        : `Nothing of ${file.file} is done or recorded; what ran before it in this run stays done.`,
    fix: `Fix ${path}, then run again: ${againOf(context)}`,
    force: `${againOf(context)} --force`,
    kept: inRunTransaction ? `${RUN_ROLLED_BACK}.` : undefined,
  };
  const done = await runTransaction(context, {
    file,
    text: blankTransactionControl(file.sql, statements, moved),
    statements: statements.filter((st) => !isBlankedControl(st) && !moved.has(st)),
    // Planning keeps a file with an isolation level of its own out of the run's one transaction.
    open: inRunTransaction ? [`SAVEPOINT ${SAVEPOINT}`] : opening?.map((st) => st.text),
    close: inRunTransaction ? `RELEASE SAVEPOINT ${SAVEPOINT}` : undefined,
    undo: inRunTransaction
      ? `ROLLBACK TO SAVEPOINT ${SAVEPOINT}; RELEASE SAVEPOINT ${SAVEPOINT}`
      : undefined,
    // Under the file's REPEATABLE READ or SERIALIZABLE, the claim's check reads the transaction's snapshot, taken
    // by schemata's first statement, before its wait for another run applying the same file: the run lock, which
    // keeps two runs of a set apart, is what guards such a file. (A table lock taken first would hold every other
    // set's and tenant's tracking write of this database until the file commits.)
    claim,
    snapshot: [
      ...(context.searchPath !== undefined && snapshot !== 'all' ? [REACHABLE_PATH_SQL] : []),
      snapshotBeforeSql(snapshot, context.tracking),
    ],
    record,
    measurement,
    reversal,
    outcome,
  });
  return done === 'taken'
    ? 'taken'
    : { ms: Math.round(performance.now() - started), lost: done.lost };
}

/** A migration applied: its wall time, and the losses a force let through as the measurement saw them ('' for none). */
export interface Applied {
  ms: number;
  lost: string;
  /** What it cannot tell was its doing: tables emptied by deletes while a statement ran outside any transaction. */
  warnings?: string[];
}

/** A BEGIN, START TRANSACTION or COMMIT of the file's own: blanked out of the batch. */
function isBlankedControl(statement: Statement): boolean {
  if (nodeKind(statement.node) !== 'TransactionStmt') return false;
  const kind = (statement.node as { TransactionStmt: { kind?: string } }).TransactionStmt.kind;
  return kind === 'TRANS_STMT_BEGIN' || kind === 'TRANS_STMT_START' || kind === 'TRANS_STMT_COMMIT';
}

/**
 * A leading BEGIN that sets the transaction's characteristics (`BEGIN
 * ISOLATION LEVEL SERIALIZABLE`), or is followed by SET TRANSACTION: the
 * statements that must open the file's transaction as written (SPEC §4.4),
 * the BEGIN first. Undefined for a plain BEGIN, or none: schemata's BEGIN
 * opens it. Pure.
 */
export function ownOpening(statements: readonly Statement[]): Statement[] | undefined {
  const [first] = statements;
  if (!first || ownBlocks()(first) !== 'opens') return undefined;
  const sets: Statement[] = [];
  for (const s of statements.slice(1)) {
    if (!isSetTransaction(s)) break;
    sets.push(s);
  }
  const options = (first.node as { TransactionStmt: { options?: unknown[] } }).TransactionStmt
    .options;
  return (options?.length ?? 0) > 0 || sets.length > 0 ? [first, ...sets] : undefined;
}

/**
 * Runs a migration outside schemata's transaction (`-- schemata:no-transaction`,
 * CREATE INDEX CONCURRENTLY, a file with its own BEGIN ... COMMIT blocks), as
 * psql would, through the same wrapper: each of its transactions (a block of
 * its own, or a statement that would autocommit) gets the statement lock
 * timeout and the measurement before its COMMIT, like a whole migration;
 * only what PostgreSQL refuses in a transaction block runs bare. Its tracking
 * row says running first, then applied, with the rows each transaction
 * changed; a failure leaves it failed (dirty), naming what had committed.
 * Afterwards the session is clean: what the file SET (search_path, ROLE)
 * reaches neither schemata's own writes nor the next migration.
 */
export async function applyWithoutTransaction(
  context: ApplyContext,
  file: MigrationFile,
  statements: readonly Statement[],
  event: 'applied' | 'repaired',
  snapshot: SnapshotScope,
  measurement: Measurement,
  creates: readonly string[],
): Promise<Applied | 'taken'> {
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
  const measured: Measured[] = [];
  // A DO block or procedure that COMMITs runs bare, unmeasured: its event then says nothing of rows.
  let unmeasured = false;
  // What a force let through there, found after it (runBare), and the tables emptied by deletes meanwhile.
  const forcedBare: string[] = [];
  const emptied: string[] = [];
  const path = relative(context.cwd, file.path) || file.path;
  const outcome = (): Outcome => ({
    whole: false,
    left: `${
      done.length === 0
        ? 'Nothing of it had committed.'
        : `Already committed and kept: ${done.map((s) => `line ${s.at.line} (${abbreviate(s.shown, 60)})`).join('; ')}.`
    } ${file.file} runs outside a single transaction, so it is recorded as failed (dirty) and later migrations did not run.`,
    fix: `Make ${path} re-runnable (IF NOT EXISTS, IF EXISTS), fix the cause, then run: ${againOf(context)} --repair`,
    force: `${againOf(context)} --repair --force`,
  });
  // What it did make is there: the expected state follows the catalog, and the event says failed.
  const failed = async (error: unknown): Promise<never> => {
    await context.client.query(`ROLLBACK; ${CLEAN_SESSION_SQL}`).catch(() => {});
    const ms = Math.round(performance.now() - started);
    await recordAfterRunning(
      context.client,
      context.set,
      file,
      before,
      'failed',
      ms,
      unmeasured ? undefined : sumMeasured(measured),
    ).catch(() => {});
    throw error;
  };
  const transactionOf = (unit: FileTransaction): Transaction => ({
    file,
    text: file.sql,
    statements: unit.statements,
    open: unit.begin ? [unit.begin.text, ...unit.setTransaction.map((s) => s.text)] : undefined,
    close: unit.end?.text,
    claim: [],
    snapshot: [],
    record: '',
    measurement,
    outcome: outcome(),
  });
  // Outside a transaction block, the lock timeout and the check of the client can only be the session's: set for the
  // statement, then reset. A tenant's search_path too: a session's, which only a direct connection or PgBouncer's
  // session pooling keeps for the statement (transaction pooling may run it on another server connection).
  const runBare = async (statement: Statement) => {
    // A DO block or CALL may COMMIT: the tables that hold rows are read before and after it, the only measurement
    // there is of what it commits on its own; so are the values of the columns the forecast read it widen.
    const code = runsCode(statement);
    if (code) unmeasured = true;
    let held: HeldTable[] = [];
    const widened = code
      ? measurement.widened.filter(
          (w) => w.at.line === statement.at.line && w.at.column === statement.at.column,
        )
      : [];
    let fingerprints = '[]';
    try {
      if (code) held = await readHeldTables(context.client, measurement.tablesUpTo);
      if (held.length > 0 && widened.length > 0)
        fingerprints = widenedOf(await context.client.query(widenedBeforeBareSql(widened)));
    } catch (error) {
      return failed(unreadable(context, statement, 'before', error, outcome()));
    }
    // What it writes is counted outside any measurement: the next one lists every table's counters.
    forgetCounters(context.client);
    try {
      await context.client.query(
        `SET lock_timeout = ${Math.max(0, Math.round(context.statementLockTimeoutMs))}; SET ${CLIENT_CHECK}${context.searchPath === undefined ? '' : `; SET search_path = ${context.searchPath}`}`,
      );
      await context.client.query(statement.text);
      await context.client.query(
        `RESET lock_timeout; RESET client_connection_check_interval${context.searchPath === undefined ? '' : '; RESET search_path'}`,
      );
    } catch (error) {
      const unit = transactionOf({ kind: 'bare', statements: [statement], setTransaction: [] });
      if (context.signal?.aborted) return failed(stopped(context, unit, error));
      // A CREATE INDEX CONCURRENTLY that failed leaves its index behind, INVALID: named, with what removes it.
      const left = await invalidIndexesNamed(context.client, creates).catch(() => []);
      return failed(bareFailure(context, unit, statement, error as PgError, left));
    }
    if (held.length > 0) {
      let now: TableNow[];
      let verified: Array<{ oid: number; column: string }> = [];
      try {
        now = await readTablesNow(
          context.client,
          held.map((t) => t.oid),
        );
        if (widened.length > 0)
          verified = (
            JSON.parse(
              widenedOf(await context.client.query(verifyWidenedBareSql(fingerprints))),
            ) as Array<{ oid: number; column: string; kept: boolean }>
          ).filter((w) => w.kept);
      } catch (error) {
        done.push(statement);
        return failed(unreadable(context, statement, 'after', error, outcome()));
      }
      const found = committedLosses(held, now, verified);
      emptied.push(
        ...found.emptied.map(
          (what) => `${path}:${statement.at.line}:${statement.at.column}: after it ran, ${what}.`,
        ),
      );
      if (found.losses.length > 0 && !measurement.forced) {
        done.push(statement);
        return failed(
          committedLoss(context, path, statement, found.losses, found.holders, outcome()),
        );
      }
      forcedBare.push(...found.losses);
    }
    done.push(statement);
  };
  for (const unit of transactionsOf(statements, measurement.outside ?? [])) {
    const first = unit.statements[0] ?? unit.begin!;
    if (context.signal?.aborted) {
      await failed(stopped(context, transactionOf(unit), new Error('stopped')));
    }
    if (unit.kind === 'bare') {
      await runBare(first);
      continue;
    }
    try {
      const result = await runTransaction(context, transactionOf(unit));
      if (result !== 'taken') measured.push(result);
      done.push(...unit.statements);
    } catch (error) {
      // A DO block or procedure that COMMITs cannot run in a transaction block: it runs as written.
      const cause = (error as { cause?: PgError }).cause;
      if (cause?.code === '2D000' && !unit.begin && unit.statements.length === 1) {
        unmeasured = true;
        await runBare(first);
        continue;
      }
      await failed(error);
    }
  }
  // The file's own SET, SET ROLE or search_path end here: schemata's record and the next migration start clean.
  await context.client.query(CLEAN_SESSION_SQL);
  const ms = Math.round(performance.now() - started);
  const sum = sumMeasured(measured);
  const lost = [sum.lost, ...forcedBare].filter((l) => l !== '').join('; ');
  await recordAfterRunning(context.client, context.set, file, before, event, ms, {
    rows: unmeasured ? undefined : sum.rows,
    lost,
  });
  return { ms, lost, ...(emptied.length > 0 ? { warnings: emptied } : {}) };
}

interface PgError {
  message: string;
  code?: string;
  position?: string;
  detail?: string;
  where?: string;
}

/** The `widened` of the results of widenedBeforeBareSql or verifyWidenedBareSql: the fingerprints as JSON. */
function widenedOf(results: unknown): string {
  const all = (Array.isArray(results) ? results : [results]) as Array<{
    rows?: Array<{ widened?: string }>;
  }>;
  return all.find((r) => r.rows?.[0]?.widened !== undefined)?.rows?.[0]?.widened ?? '[]';
}

/** A DO block or CALL: code that may COMMIT on its own, and so run beyond the measurement. */
function runsCode(statement: Statement): boolean {
  const kind = nodeKind(statement.node);
  return kind === 'DoStmt' || kind === 'CallStmt';
}

/**
 * A DO block or procedure that COMMITs took rows from tables that held them:
 * found after it, and committed by it, so that nothing could roll it back.
 * Exit 4, as data protection's other refusals; the migration is recorded as
 * failed (dirty), as any failure outside a transaction.
 */
function committedLoss(
  context: ApplyContext,
  path: string,
  statement: Statement,
  losses: readonly string[],
  holders: RefusedError['holders'],
  outcome: Outcome,
): RefusedError {
  const tables = (holders ?? []).map((h) => h.table).join(', ');
  return new RefusedError(
    `Set "${context.set}": data protection found after ${path}:${statement.at.line}:${statement.at.column} (${abbreviate(statement.shown, 80)}) that ${losses.join('; ')}. ` +
      `A DO block or procedure that COMMITs runs outside any transaction, as psql runs it, beyond the measurement that rolls a loss back: its own COMMITs made this one permanent. ${outcome.left}`,
    `Restore ${tables} from a backup if those rows are still needed. ${outcome.fix}`,
    undefined,
    holders,
  );
}

/** The tables that hold rows could not be read around a DO block or CALL (a lock another session holds): said, never passed over. */
function unreadable(
  context: ApplyContext,
  statement: Statement,
  when: 'before' | 'after',
  cause: unknown,
  outcome: Outcome,
): MigrationFailedError {
  const e = cause as PgError;
  return new MigrationFailedError(
    `Set "${context.set}": data protection could not read the tables that hold rows ${when} line ${statement.at.line} (${abbreviate(statement.shown, 80)}), ${
      when === 'before'
        ? 'so it did not run'
        : 'which ran and committed, so whether it took rows is not known'
    }: ${maskSecrets(e.message)}${e.code === '55P03' ? ' (another session holds a lock on one of them)' : ''}. ${outcome.left}`,
    e.code === '55P03'
      ? `Find the session in pg_stat_activity (wait_event_type Lock), let it finish, then run: ${againOf(context)} --repair`
      : outcome.fix,
    { cause },
  );
}

/** The INVALID indexes of these names: what a failed CREATE INDEX CONCURRENTLY (or REINDEX CONCURRENTLY) leaves. */
async function invalidIndexesNamed(client: Client, names: readonly string[]): Promise<string[]> {
  if (names.length === 0) return [];
  const { rows } = await client.query<{ qualified: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS qualified
       FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE NOT i.indisvalid AND c.relname = ANY ($1::text[])
      ORDER BY 1`,
    [names],
  );
  return rows.map((r) => r.qualified);
}

/**
 * A statement run bare (outside any transaction block) failed: where, what
 * PostgreSQL said (its DETAIL too: "Key (x)=(1) is duplicated."), the
 * INVALID indexes it left, and what had committed.
 */
function bareFailure(
  context: ApplyContext,
  t: Transaction,
  statement: Statement,
  e: PgError,
  invalid: readonly string[] = [],
): MigrationFailedError {
  const path = relative(context.cwd, t.file.path) || t.file.path;
  const at = e.position
    ? locate(t.file.sql, statement.start + Number(e.position) - 1)
    : statement.at;
  const sentence = (text: string) => (/[.!?]$/.test(text) ? text : `${text}.`);
  // PostgreSQL's words may quote values and SQL: masked where a password stands.
  const said = [
    `${maskSecrets(e.message)}${e.where ? ` (${maskSecrets(e.where.split('\n')[0]!)})` : ''}`,
    e.detail ? maskSecrets(e.detail) : '',
  ]
    .filter((part) => part !== '')
    .map(sentence)
    .join(' ');
  const left =
    invalid.length === 0
      ? ''
      : ` The failed statement left the index${invalid.length === 1 ? '' : 'es'} ${invalid.join(', ')} behind, INVALID (queries do not use ${invalid.length === 1 ? 'it' : 'them'}, every write still maintains ${invalid.length === 1 ? 'it' : 'them'}); migrate --repair drops ${invalid.length === 1 ? 'it' : 'them'} before it runs the file again.`;
  return new MigrationFailedError(
    `Set "${context.set}": migration ${t.file.file} runs outside a transaction and failed at ${path}:${at.line}:${at.column}: ${said} ` +
      `Statement: ${abbreviate(statement.shown)}. ${t.outcome.left}${left}`,
    t.outcome.fix,
    { cause: e },
  );
}

/** The row counters and forced losses of a file's transactions, summed per table for its event. */
function sumMeasured(all: readonly Measured[]): Measured {
  const rows = new Map<string, RowCounts>();
  for (const { rows: counts } of all) {
    for (const c of counts) {
      const sum = rows.get(c.table) ?? { table: c.table, inserted: 0, updated: 0, deleted: 0 };
      rows.set(c.table, {
        table: c.table,
        inserted: sum.inserted + c.inserted,
        updated: sum.updated + c.updated,
        deleted: sum.deleted + c.deleted,
      });
    }
  }
  return {
    rows: [...rows.values()].sort((a, b) => (a.table < b.table ? -1 : a.table > b.table ? 1 : 0)),
    lost: all
      .map((m) => m.lost)
      .filter((l) => l !== '')
      .join('; '),
  };
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
  // The one reading of the file's blocks (sql/classify.ts), which lint and the plan share.
  const placeOf = ownBlocks();
  for (const s of statements) {
    const place = placeOf(s);
    if (place === 'opens') {
      block = { begin: s, statements: [], setTransaction: [] };
    } else if (block && place === 'closes') {
      const rollback = transactionStmtOf(s)?.kind === 'TRANS_STMT_ROLLBACK';
      // COMMIT AND CHAIN (or ROLLBACK AND CHAIN) opens the next transaction at once, with the same characteristics:
      // run as the block's COMMIT (or ROLLBACK), then a block of the same BEGIN.
      const chain = transactionStmtOf(s)?.chain === true;
      // A block the file rolls back leaves nothing: it runs as written, unmeasured.
      units.push(
        rollback
          ? {
              kind: 'bare',
              statements: [
                block.begin,
                ...block.setTransaction,
                ...block.statements,
                chain ? { ...s, text: 'ROLLBACK' } : s,
              ],
              setTransaction: [],
            }
          : { kind: 'measured', ...block, end: chain ? undefined : s },
      );
      block = chain
        ? { begin: block.begin, statements: [], setTransaction: block.setTransaction }
        : undefined;
    } else if (block) {
      if (block.statements.length === 0 && isSetTransaction(s)) block.setTransaction.push(s);
      else block.statements.push(s);
    } else {
      // A SET or RESET changes the session, never data (RESET ALL inside the wrapper would also reset the measurement's settings); a COMMIT or ROLLBACK with no block open only warns, as in psql.
      units.push(
        refused(s) || place === 'closes-nothing' || nodeKind(s.node) === 'VariableSetStmt'
          ? { kind: 'bare', statements: [s], setTransaction: [] }
          : { kind: 'measured', statements: [s], setTransaction: [] },
      );
    }
  }
  // A BEGIN never committed (sql/classify.ts blockLeftOpen): psql would leave it open and lose it at exit. Left open
  // here, schemata's own record would commit it unmeasured: it is measured and committed as a block that ends here.
  if (block && block.statements.length > 0) units.push({ kind: 'measured', ...block });
  return units.flatMap((u) =>
    u.kind === 'bare' && u.statements.length > 1
      ? u.statements.map((s) => ({ kind: 'bare' as const, statements: [s], setTransaction: [] }))
      : [u],
  );
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

/**
 * Runs one apply step as planned: drops what a failed CONCURRENTLY left, keeps
 * only the statements the step names, and runs it in or outside a
 * transaction with the check the plan chose. Decides nothing. Returns the
 * wall time in ms.
 */
export async function applyStep(
  context: ApplyContext,
  step: ApplyStep,
): Promise<{
  ms: number;
  notices: string[];
  taken: boolean;
  lost: string;
  warnings?: string[] | undefined;
}> {
  const notices: string[] = [];
  const onNotice = (msg: { severity?: string; message?: string }) =>
    notices.push(maskSecrets(`${msg.severity ?? 'NOTICE'}: ${msg.message ?? ''}`));
  context.client.on('notice', onNotice);
  try {
    const done = await runStep(
      // The key the context lacks first (sql/operations.ts push says why).
      { onRetry: () => notices.splice(0), ...context, expectedEvent: step.expectedEvent },
      step,
    );
    return done === 'taken'
      ? { ms: 0, notices, taken: true, lost: '' }
      : { notices, taken: false, ...done };
  } finally {
    context.client.off('notice', onNotice);
  }
}

/** SQLSTATEs of a CREATE or ADD of what exists (duplicate_table, _column, _object, _schema, _function, _database, _alias, _cursor, _prepared_statement). */
const ALREADY_EXISTS = new Set([
  '42P07',
  '42701',
  '42710',
  '42P06',
  '42723',
  '42P04',
  '42712',
  '42P03',
  '42P05',
]);

async function runStep(context: ApplyContext, step: ApplyStep): Promise<Applied | 'taken'> {
  if (context.signal?.aborted) {
    const signal = String(context.signal.reason);
    throw new StoppedError(
      signal,
      `Set "${context.set}": stopped by ${signal} before ${step.file.file}: it and what follows it did not run; ${step.inRunTransaction ? `${RUN_ROLLED_BACK}.` : 'migrations before it in this run stay applied.'}`,
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
        step.inRunTransaction,
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
    // Only "already exists" says the file fails on what its first run left; any other cause is told as it is.
    // A part run again is the replay of what is missing, not a run that did not finish.
    const ran = step.only
      ? 'ran again its statements that re-create what is missing, and one'
      : 'ran it again because it was tracked but incomplete, and it';
    if (!ALREADY_EXISTS.has((error.cause as PgError | undefined)?.code ?? ''))
      throw new MigrationFailedError(`${error.message} --repair ${ran} failed again.`, error.hint, {
        cause: error,
      });
    throw new MigrationFailedError(
      `${error.message} --repair ${ran} is not re-runnable: it fails on what its first run left behind.`,
      `Make ${step.path} re-runnable (CREATE ... IF NOT EXISTS, ADD COLUMN IF NOT EXISTS, DROP ... IF EXISTS, or DO blocks guarded by catalog checks), then run: schemata migrate ${context.set} --repair`,
      { cause: error },
    );
  }
}
