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

const transactionKind = (statement: Statement) =>
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
  const inside: Classification['nonTransactional'] = [];
  let inBlock = false;
  for (const s of statements) {
    const kind = transactionKind(s)?.kind;
    if (kind !== undefined && BEGINS.has(kind)) inBlock = true;
    else if (kind !== undefined && CONTROL.has(kind)) inBlock = false;
    const found = refused.get(s);
    if (found && inBlock) inside.push(found);
  }
  return inside;
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
    const control = transactionKind(statement);
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
