import { nodeKind, type Statement } from './statements.js';

/** What a migration file needs to run: whether it can run in a transaction, and its own transaction control. */
export interface Classification {
  /** Statements PostgreSQL refuses inside a transaction block, with why. */
  nonTransactional: Array<{ statement: Statement; reason: string }>;
  /** The file's own BEGIN/START/COMMIT/END. */
  transactionControl: Statement[];
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
      if ((node.params as Obj[] | undefined)?.some((p) => p.DefElem?.defname === 'concurrently')) return 'REINDEX CONCURRENTLY';
      return node.kind === 'REINDEX_OBJECT_SYSTEM' || node.kind === 'REINDEX_OBJECT_DATABASE' ? 'REINDEX SYSTEM/DATABASE' : undefined;
    case 'AlterTableStmt':
      return (node.cmds as Obj[] | undefined)?.some((c) => c.AlterTableCmd?.subtype === 'AT_DetachPartition' && c.AlterTableCmd?.def?.PartitionCmd?.concurrent)
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

/** Which statements must run outside a transaction, and the file's own BEGIN/COMMIT. Pure: statements in, data out. */
export function classify(statements: readonly Statement[]): Classification {
  const result: Classification = { nonTransactional: [], transactionControl: [] };
  for (const statement of statements) {
    const reason = nonTransactionalReason(statement);
    if (reason) result.nonTransactional.push({ statement, reason });
    if (nodeKind(statement.node) === 'TransactionStmt') {
      const kind = (statement.node as { TransactionStmt: { kind?: string } }).TransactionStmt.kind ?? '';
      if (['TRANS_STMT_BEGIN', 'TRANS_STMT_START', 'TRANS_STMT_COMMIT'].includes(kind)) result.transactionControl.push(statement);
    }
  }
  return result;
}
