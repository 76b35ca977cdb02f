import { nodeKind, type Statement } from './statements.js';

/** What a migration file needs to run: whether it can run in a transaction, and its own transaction control. */
export interface Classification {
  /** Statements PostgreSQL refuses inside a transaction block, with why. */
  nonTransactional: Array<{ statement: Statement; reason: string }>;
  /** The file's own statements that begin or end a transaction (BEGIN, COMMIT, ROLLBACK, PREPARE TRANSACTION, ...). */
  transactionControl: Statement[];
  /** Of those, the ones other than a leading BEGIN and a trailing COMMIT: inside schemata's transaction they would end it early. */
  misplacedControl: Statement[];
  /** RESET ALL: inside schemata's transaction it would also reset the settings schemata keeps there (the snapshot, the data check). */
  resetsAll: Statement[];
  /** COPY ... FROM STDIN: its rows come from the client, which sends each file as SQL and has none to send. */
  copiesFromClient: Statement[];
}

type Obj = Record<string, any>;

/** Why PostgreSQL would refuse this statement inside a transaction block, if it would. */
export function nonTransactionalReason(statement: Statement): string | undefined {
  const kind = nodeKind(statement.node);
  const node = (statement.node as Obj)[kind] as Obj;
  switch (kind) {
    case 'IndexStmt':
      return node.concurrent ? 'CREATE INDEX CONCURRENTLY' : undefined;
    case 'DropStmt':
      return node.concurrent ? 'DROP INDEX CONCURRENTLY' : undefined;
    case 'ReindexStmt':
      if ((node.params as Obj[] | undefined)?.some((p) => p.DefElem?.defname === 'concurrently'))
        return 'REINDEX CONCURRENTLY';
      return node.kind === 'REINDEX_OBJECT_SYSTEM' || node.kind === 'REINDEX_OBJECT_DATABASE'
        ? 'REINDEX SYSTEM/DATABASE'
        : undefined;
    case 'AlterTableStmt':
      return (node.cmds as Obj[] | undefined)?.some(
        (c) =>
          c.AlterTableCmd?.subtype === 'AT_DetachPartition' &&
          c.AlterTableCmd?.def?.PartitionCmd?.concurrent,
      )
        ? 'ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY'
        : undefined;
    case 'VacuumStmt':
      return node.is_vacuumcmd ? 'VACUUM' : undefined;
    case 'CreatedbStmt':
      return 'CREATE DATABASE';
    case 'DropdbStmt':
      return 'DROP DATABASE';
    case 'AlterSystemStmt':
      return 'ALTER SYSTEM';
    case 'CreateTableSpaceStmt':
      return 'CREATE TABLESPACE';
    case 'DropTableSpaceStmt':
      return 'DROP TABLESPACE';
    case 'CreateSubscriptionStmt':
      return 'CREATE SUBSCRIPTION';
    case 'DropSubscriptionStmt':
      return 'DROP SUBSCRIPTION';
    default:
      return undefined;
  }
}

const BEGINS = new Set(['TRANS_STMT_BEGIN', 'TRANS_STMT_START']);
const COMMITS = new Set(['TRANS_STMT_COMMIT']);
// SAVEPOINT, RELEASE and ROLLBACK TO work inside a transaction: they are not control of it.
const CONTROL = new Set([
  ...BEGINS,
  ...COMMITS,
  'TRANS_STMT_ROLLBACK',
  'TRANS_STMT_PREPARE',
  'TRANS_STMT_COMMIT_PREPARED',
  'TRANS_STMT_ROLLBACK_PREPARED',
]);

/**
 * PREPARE TRANSACTION, COMMIT PREPARED or ROLLBACK PREPARED, as written: two-phase commit hands a transaction
 * to a later COMMIT PREPARED, which no measurement and no record of the migration's would reach. Undefined for
 * any other statement.
 */
export function twoPhaseCommitOf(statement: Statement): string | undefined {
  switch (transactionStmtOf(statement)?.kind) {
    case 'TRANS_STMT_PREPARE':
      return 'PREPARE TRANSACTION';
    case 'TRANS_STMT_COMMIT_PREPARED':
      return 'COMMIT PREPARED';
    case 'TRANS_STMT_ROLLBACK_PREPARED':
      return 'ROLLBACK PREPARED';
    default:
      return undefined;
  }
}

/** A statement's TransactionStmt (its kind, and whether it is AND CHAIN), or undefined for any other statement. */
export const transactionStmtOf = (statement: Statement) =>
  (statement.node as { TransactionStmt?: { kind?: string; chain?: boolean } }).TransactionStmt;

/**
 * Which statements must run outside a transaction, and the file's own
 * transaction control. Pure: statements in, data out. With the parser, a DO
 * block is read as PL/pgSQL: one that COMMITs or ROLLBACKs cannot run inside
 * a transaction block.
 */
export function classify(
  statements: readonly Statement[],
  plpgsql?: (sql: string) => unknown,
): Classification {
  return {
    nonTransactional: nonTransactionalOf(statements, plpgsql),
    resetsAll: resetsAllOf(statements),
    copiesFromClient: copiesFromClientOf(statements),
    ...transactionControlOf(statements),
  };
}

/**
 * Where a statement stands among the file's own transaction blocks, as psql
 * runs the file: `opens` (BEGIN, START TRANSACTION), `inside` a block,
 * `closes` it (COMMIT, END, ROLLBACK, ABORT, PREPARE TRANSACTION), `outside`
 * any block, or `closes-nothing`: a COMMIT or ROLLBACK with no BEGIN of the
 * file open, which PostgreSQL answers with a warning and nothing else.
 */
export type BlockPlace = 'outside' | 'opens' | 'inside' | 'closes' | 'closes-nothing';

/**
 * A walk over the file's statements in order, one place each: the one
 * reading of its BEGIN ... COMMIT blocks that lint's rules and migrate's
 * plan share. Needs only the TransactionStmt trees (sql/read.ts keeps them).
 */
export function ownBlocks(): (statement: Statement) => BlockPlace {
  let open = false;
  return (statement) => {
    const control = transactionStmtOf(statement);
    const kind = control?.kind ?? '';
    if (BEGINS.has(kind)) {
      // A second BEGIN in a block only warns: the block goes on.
      if (open) return 'inside';
      open = true;
      return 'opens';
    }
    if (!CONTROL.has(kind) || kind.endsWith('_PREPARED')) return open ? 'inside' : 'outside';
    if (!open) return kind === 'TRANS_STMT_PREPARE' ? 'outside' : 'closes-nothing';
    // COMMIT AND CHAIN ends the block and opens the next at once.
    open = control?.chain === true;
    return 'closes';
  };
}

/** Each statement's place among the file's own blocks (ownBlocks), in order. Pure. */
export function placesInOwnBlocks(statements: readonly Statement[]): BlockPlace[] {
  return statements.map(ownBlocks());
}

/**
 * Of the statements PostgreSQL refuses in a transaction block, those inside
 * one of the file's own blocks (BEGIN ... COMMIT or ROLLBACK), as psql runs
 * the file: there PostgreSQL refuses them; before or after a block they run.
 * Needs only the transaction statements' trees. Pure.
 */
export function insideOwnBlocks(
  statements: readonly Statement[],
  nonTransactional: Classification['nonTransactional'],
): Classification['nonTransactional'] {
  const refused = new Map(nonTransactional.map((n) => [n.statement, n]));
  const places = placesInOwnBlocks(statements);
  return statements.flatMap((s, i) => {
    const found = refused.get(s);
    return found && places[i] === 'inside' ? [found] : [];
  });
}

/** The line that makes a file run outside schemata's transaction, whatever it holds. */
export const NO_TRANSACTION = '-- schemata:no-transaction';

/**
 * Whether migrate runs the file in schemata's transaction: not when a
 * statement cannot run in one, when its own transaction control would end
 * schemata's (anything but a leading BEGIN and a trailing COMMIT), or when a
 * `-- schemata:no-transaction` line says so (`comments`: the file's comments,
 * trimmed). lint asks the same. Pure.
 */
export function runsInTransaction(
  classification: Pick<Classification, 'nonTransactional' | 'misplacedControl'>,
  comments: readonly string[],
): boolean {
  return (
    classification.nonTransactional.length === 0 &&
    classification.misplacedControl.length === 0 &&
    !comments.includes(NO_TRANSACTION)
  );
}

/**
 * The COMMITs and ROLLBACKs that end no transaction of the file: with no
 * BEGIN of its own before them, in a file that runs outside schemata's
 * transaction, the statements before them have already committed one by
 * one (as under psql), and a ROLLBACK undoes none of them. In a file run in
 * schemata's transaction, a trailing COMMIT is schemata's own: none. Pure.
 */
export function endsOfNoTransaction(
  statements: readonly Statement[],
  inTransaction: boolean,
): Statement[] {
  if (inTransaction) return [];
  const places = placesInOwnBlocks(statements);
  return statements.filter((_s, i) => places[i] === 'closes-nothing');
}

/**
 * The BEGIN (or START TRANSACTION) of a block the file opens and never
 * closes, in a file that runs outside schemata's transaction: psql would
 * leave that block open and roll it back when its session ends, losing what
 * it did; schemata commits it when the file ends, measured as the file's
 * other blocks (engine/apply.ts transactionsOf). In a file run in
 * schemata's transaction a leading BEGIN is schemata's own: none. Pure.
 */
export function blockLeftOpen(
  statements: readonly Statement[],
  inTransaction: boolean,
): Statement | undefined {
  if (inTransaction) return undefined;
  const places = placesInOwnBlocks(statements);
  let opened: Statement | undefined;
  let holds = false;
  for (const [i, s] of statements.entries()) {
    if (places[i] === 'opens') [opened, holds] = [s, false];
    // COMMIT AND CHAIN opens the next transaction at once.
    else if (places[i] === 'closes')
      [opened, holds] = [transactionStmtOf(s)?.chain === true ? s : undefined, false];
    else if (places[i] === 'inside') holds = true;
  }
  // A block with nothing in it loses nothing.
  return holds ? opened : undefined;
}

/** The file's RESET ALL statements (needs their syntax trees). */
export function resetsAllOf(statements: readonly Statement[]): Statement[] {
  return statements.filter(
    (s) =>
      nodeKind(s.node) === 'VariableSetStmt' &&
      (s.node as Obj).VariableSetStmt.kind === 'VAR_RESET_ALL',
  );
}

/** Whether a statement is COPY ... FROM STDIN (no file, no program): psql sends the lines after it, schemata has none. */
export function copiesFromClient(statement: Statement): boolean {
  if (nodeKind(statement.node) !== 'CopyStmt') return false;
  const copy = (statement.node as Obj).CopyStmt as Obj;
  return Boolean(copy.is_from) && copy.filename === undefined;
}

/** The file's COPY ... FROM STDIN statements (needs their syntax trees). */
export function copiesFromClientOf(statements: readonly Statement[]): Statement[] {
  return statements.filter(copiesFromClient);
}

/** The statements PostgreSQL refuses in a transaction block: needs their syntax trees, so a file read in pieces asks it per piece. */
export function nonTransactionalOf(
  statements: readonly Statement[],
  plpgsql?: (sql: string) => unknown,
): Classification['nonTransactional'] {
  return statements.flatMap((statement) => {
    const reason =
      nonTransactionalReason(statement) ??
      (plpgsql && commitsInDo(statement, plpgsql)
        ? 'a DO block that COMMITs or ROLLBACKs'
        : undefined);
    return reason ? [{ statement, reason }] : [];
  });
}

/** The file's own transaction control, and which of it is not a leading BEGIN or a trailing COMMIT (TransactionStmt trees are kept). */
export function transactionControlOf(
  statements: readonly Statement[],
): Pick<Classification, 'transactionControl' | 'misplacedControl'> {
  const result: Pick<Classification, 'transactionControl' | 'misplacedControl'> = {
    transactionControl: [],
    misplacedControl: [],
  };
  statements.forEach((statement, index) => {
    const control = transactionStmtOf(statement);
    if (!control || !CONTROL.has(control.kind ?? '')) return;
    result.transactionControl.push(statement);
    const leading = index === 0 && BEGINS.has(control.kind!);
    const trailing =
      index === statements.length - 1 && COMMITS.has(control.kind!) && !control.chain;
    if (!leading && !trailing) result.misplacedControl.push(statement);
  });
  return result;
}

function commitsInDo(statement: Statement, plpgsql: (sql: string) => unknown): boolean {
  if (nodeKind(statement.node) !== 'DoStmt' || !/commit|rollback/i.test(statement.text))
    return false;
  try {
    return /"PLpgSQL_stmt_(commit|rollback)"/.test(JSON.stringify(plpgsql(statement.text)));
  } catch {
    return false;
  }
}
