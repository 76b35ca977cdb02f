import type { MigrationFile } from '../config/discover.js';
import type { SnapshotScope } from '../catalog/listing.js';
import { blockLeftOpen, endsOfNoTransaction } from '../sql/classify.js';
import type { ObjectRef, Operation } from '../sql/operations.js';
import { blockNeverClosedMessage } from '../sql/rules/transaction-block-never-closed.js';
import { endOfNoTransactionMessage } from '../sql/rules/transaction-end-without-begin.js';
import { nodeKind, type Location, type Statement } from '../sql/statements.js';
import type { Judgement, UpdatesRead } from './protect.js';
import type { Measurement } from '../engine/measure.js';
import type { Reversal } from '../engine/reversal.js';

/** What engine/apply.ts does for a set, in order; --dry-run prints exactly this. */
export type Step =
  /** --repair: changed files whose objects all exist get their new checksum recorded; nothing runs. */
  { kind: 'record-checksums'; files: MigrationFile[] } | ApplyStep;

export interface ApplyStep {
  kind: 'apply';
  file: MigrationFile;
  /** The file as the user names it, relative to the project. */
  path: string;
  statements: Statement[];
  transactional: boolean;
  /**
   * In the run's one transaction on its database (--single-transaction), with
   * the steps before it up to the last that is not: a savepoint of it, not a
   * transaction of its own.
   */
  inRunTransaction: boolean;
  event: 'applied' | 'repaired' | 'rolled-back';
  /** A down (SPEC §12): what the catalog must hold after it. */
  reversal?: Reversal | undefined;
  /** Its latest tracking event when planned (null: none): it runs only while that is still so, so that concurrent runs apply it once. */
  expectedEvent: number | null;
  /** Repair of a file that changes rows: the statements that run (by position); absent: all. */
  only?: Location[] | undefined;
  /** Data protection measured in its transaction(s): the tables the forecast traced are measured exactly, every other table by its storage (engine/measure.ts). */
  measurement: Measurement;
  /** What the catalog snapshot its effects are measured by covers: the whole catalog or the objects of these names (model/snapshot.ts). */
  snapshot: SnapshotScope;
  /** The names of the indexes and constraints its statements that run create: what it makes, never what PostgreSQL rebuilt (engine/effects.ts). */
  creates: string[];
  /** INVALID indexes a failed CREATE INDEX CONCURRENTLY may have left, dropped before the re-run. */
  dropInvalid: ObjectRef[];
  /** Data protection's verdicts on its destructive steps, for the report. */
  judgements: Judgement[];
  /** What no check covers (dynamic SQL in a migration outside a transaction), and a COMMIT or ROLLBACK that ends no transaction of the file. */
  warnings: string[];
}

/** A pending migration as read and judged, the input of planSteps. */
export interface JudgedMigration {
  file: MigrationFile;
  path: string;
  statements: Statement[];
  operations: readonly Operation[];
  transactional: boolean;
  /** A leading BEGIN with an isolation level, or SET TRANSACTION: the file opens a transaction of its own. */
  ownIsolation: boolean;
  forced: boolean;
  rerun: boolean;
  expectedEvent: number | null;
  only?: Location[] | undefined;
  guard: 'all' | number[];
  updatesRead: UpdatesRead;
  snapshot: SnapshotScope;
  judgements: Judgement[];
  /** Statements PostgreSQL refuses in a transaction block. */
  outside: Location[];
}

/*
 * Statements that can write no row of any table, whatever the database
 * holds: they make, describe or grant objects, run no code of the user's (a
 * function's, trigger's or rule's body runs when called or fired, later),
 * and evaluate no expression over rows that are there. ALTER TABLE only with
 * the subcommands of UNEVALUATED_ALTERS; a CHECK or a column's DEFAULT is
 * evaluated over every row, and may call a function that writes.
 */
const WRITES_NO_ROW: ReadonlySet<string> = new Set([
  'CreateSchemaStmt',
  'CreateStmt',
  'IndexStmt',
  'CreateSeqStmt',
  'CreateEnumStmt',
  'CompositeTypeStmt',
  'CreateDomainStmt',
  'CreateRangeStmt',
  'ViewStmt',
  'CreateFunctionStmt',
  'CreateTrigStmt',
  'RuleStmt',
  'CommentStmt',
  'GrantStmt',
  'VariableSetStmt',
]);

const UNEVALUATED_ALTERS: ReadonlySet<string> = new Set([
  'AT_ColumnDefault',
  'AT_SetNotNull',
  'AT_DropNotNull',
  'AT_ChangeOwner',
  'AT_EnableRowSecurity',
  'AT_ForceRowSecurity',
]);

/** Constraints whose check reads rows and evaluates nothing of the user's. */
const KEY_CONSTRAINTS: ReadonlySet<string> = new Set([
  'CONSTR_PRIMARY',
  'CONSTR_UNIQUE',
  'CONSTR_FOREIGN',
  'CONSTR_NOTNULL',
  'CONSTR_NULL',
]);

type Obj = Record<string, unknown>;

const keyConstraint = (c: unknown) =>
  KEY_CONSTRAINTS.has(String(((c as Obj).Constraint as Obj | undefined)?.contype));

function writesNoRow(st: Statement): boolean {
  const kind = nodeKind(st.node);
  if (WRITES_NO_ROW.has(kind)) return true;
  if (kind !== 'AlterTableStmt') return false;
  const cmds = ((st.node as Obj).AlterTableStmt as Obj).cmds as Obj[] | undefined;
  return (cmds ?? []).every((c) => {
    const cmd = c.AlterTableCmd as Obj | undefined;
    const def = cmd?.def as Obj | undefined;
    switch (cmd?.subtype) {
      case 'AT_AddConstraint':
        return keyConstraint(def);
      case 'AT_AddColumn':
        return (
          ((def?.ColumnDef as Obj | undefined)?.constraints as unknown[] | undefined) ?? []
        ).every(keyConstraint);
      default:
        return UNEVALUATED_ALTERS.has(String(cmd?.subtype));
    }
  });
}

/**
 * Whether a migration runs without the measurement (SPEC §5) on a database
 * that held no table when the run began: it has nothing to measure. Every
 * table there is one the run made, whose rows are never a loss
 * (engine/measure.ts RunStart), and each of its statements writes no row,
 * so the event's row counts are none. Only a whole file in schemata's
 * transaction, and only until the first migration of the run that fails
 * this: after one that may write rows or make an event trigger, every
 * migration is measured. Pure.
 */
export function unmeasuredOf(m: JudgedMigration): boolean {
  return (
    m.transactional &&
    !m.ownIsolation &&
    m.only === undefined &&
    m.guard !== 'all' &&
    m.guard.length === 0 &&
    m.statements.length > 0 &&
    m.statements.every(writesNoRow)
  );
}

/**
 * Whether a set's run is one transaction: only when asked
 * (--single-transaction). Not by default on a fresh database either: it
 * saves a commit per migration of a history of DDL, costs more in one whose
 * migrations write rows (each measurement reads the counters of every table
 * the run made so far, or its every lock where the database held tables),
 * and holds every lock until COMMIT (MIGRATION_GUIDE.md has
 * the figures of bench/run.mjs). A fleet's tenants never: each tenant's run
 * is its own.
 */
export function singleTransactionOf(asked: boolean | undefined, tenant: boolean): boolean {
  return !tenant && asked === true;
}

/**
 * The steps of a set's run from its judged migrations: what runs, how, with
 * which check. With `singleTransaction`, the migrations that run in a
 * transaction share the run's one (a file outside a transaction, or with an
 * isolation level of its own, runs between two of them). Pure; a plan with
 * problems is never run, so this does not look at them.
 */
export function planSteps(
  migrations: readonly JudgedMigration[],
  rechecksum: readonly MigrationFile[],
  {
    force,
    tablesUpTo,
    singleTransaction = false,
    nothingHeld = false,
  }: { force: boolean; tablesUpTo: number; singleTransaction?: boolean; nothingHeld?: boolean },
): Step[] {
  const steps: Step[] = [];
  if (rechecksum.length > 0) steps.push({ kind: 'record-checksums', files: [...rechecksum] });
  // Until the first migration that could write a row, on a database that held no table (unmeasuredOf).
  let unmeasured = nothingHeld;
  for (const m of migrations) {
    unmeasured &&= unmeasuredOf(m);
    const inRunTransaction = singleTransaction && m.transactional && !m.ownIsolation;
    steps.push({
      kind: 'apply',
      file: m.file,
      path: m.path,
      statements: m.statements,
      transactional: m.transactional,
      inRunTransaction,
      event: m.rerun ? 'repaired' : 'applied',
      expectedEvent: m.expectedEvent,
      only: m.only,
      measurement: {
        capture: m.guard === 'all' ? [] : m.guard,
        values: [],
        updatesRead: m.updatesRead,
        widened: m.judgements.flatMap((j) => (j.widened ? [j.widened] : [])),
        forced: force || m.forced,
        tablesUpTo,
        outside: m.outside,
        ...(unmeasured ? { unmeasured } : {}),
        // Nothing held rows when the run began, and in its one transaction the locks pile up (engine/measure.ts).
        ...(nothingHeld && inRunTransaction ? { writtenFromMade: true } : {}),
      },
      snapshot: m.snapshot,
      creates: [
        ...new Set(
          m.operations.flatMap((op) =>
            op.kind === 'create' &&
            (op.object.kind === 'index' || op.object.kind === 'constraint') &&
            (m.only === undefined ||
              m.only.some((at) => at.line === op.at.line && at.column === op.at.column))
              ? [op.object.name]
              : [],
          ),
        ),
      ],
      dropInvalid:
        m.rerun && !m.transactional
          ? m.operations.flatMap((op) =>
              op.kind === 'create' && op.object.kind === 'index' ? [op.object] : [],
            )
          : [],
      judgements: m.judgements,
      warnings: [
        // The same words as lint's transaction-end-without-begin, from the same classification.
        ...endsOfNoTransaction(m.statements, m.transactional).map(
          (end) => `${m.path}:${end.at.line}:${end.at.column}: ${endOfNoTransactionMessage(end)}`,
        ),
        // And of transaction-block-never-closed.
        ...[blockLeftOpen(m.statements, m.transactional)].flatMap((begin) =>
          begin
            ? [`${m.path}:${begin.at.line}:${begin.at.column}: ${blockNeverClosedMessage(begin)}`]
            : [],
        ),
        ...(m.transactional
          ? []
          : m.operations.flatMap((op) =>
              // Work in another session is a judgement of its own (model/protect.ts).
              op.kind === 'opaque' && op.elsewhere !== true
                ? [
                    `${m.path}:${op.at.line}:${op.at.column}: ${op.why}; it runs outside schemata's transaction: where it COMMITs on its own (a DO block or procedure that COMMITs), a loss is found only after it committed, when nothing can roll it back.`,
                  ]
                : [],
            )),
      ],
    });
  }
  return steps;
}

/**
 * The warnings for what a force let through as the measurement saw it (SPEC §5:
 * each forced step is a warning naming the table and its rows): `lost` is the
 * measurement's "; "-separated losses, each naming its table. A table
 * the forecast already warned of (a forced judgement) is not said twice. Pure.
 */
export function measuredLossWarnings(
  path: string,
  lost: string,
  forecast: readonly Judgement[],
  how: string,
): string[] {
  if (lost === '') return [];
  const warned = new Set(forecast.filter((j) => j.verdict === 'forced').map((j) => j.target));
  return lost
    .split('; ')
    .filter((loss) => ![...warned].some((table) => loss.includes(` ${table} `)))
    .map((loss) => `${path}: measured in its transaction: ${loss}; allowed (${how}).`);
}
