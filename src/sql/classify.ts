import { nodeKind, type Statement } from './statements.js';

/** A table, view or materialized view as a statement names it; `schema` absent means "by search_path". */
export interface RelationName {
  schema?: string | undefined;
  name: string;
}

export type DestructiveKind =
  | 'drop-schema'
  | 'drop-table'
  | 'drop-materialized-view'
  | 'drop-column'
  | 'alter-column-type'
  | 'truncate'
  | 'delete-without-where'
  | 'update-without-where';

/** One destructive step of a statement, on one target. */
export interface DestructiveStep {
  kind: DestructiveKind;
  statement: Statement;
  /** A schema (drop-schema) or a relation (everything else). */
  target: { schema: string } | { relation: RelationName };
  column?: string | undefined;
  /** CASCADE: the referencing tables (TRUNCATE) or the dependent materialized views (DROP TABLE) too. */
  cascade: boolean;
  /** The search_path a `SET search_path` earlier in the file chose; undefined: the connection's. */
  searchPath: string[] | undefined;
}

/** What a migration file does, as far as running and protecting it goes. */
export interface Classification {
  /** Statements PostgreSQL refuses inside a transaction block, with why. */
  nonTransactional: Array<{ statement: Statement; reason: string }>;
  /** The file's own BEGIN/START/COMMIT/END. */
  transactionControl: Statement[];
  destructive: DestructiveStep[];
  /** DO blocks and function bodies whose effect the parser cannot see (EXECUTE, or destructive SQL inside). */
  opaque: Array<{ statement: Statement; reason: string }>;
  /** Schemas and relations the file creates, in order; a relation's schema is as written, or the first of a SET search_path. */
  creates: Array<{ statement: Statement; schema: string } | { statement: Statement; relation: RelationName }>;
}

type Obj = Record<string, any>;

const names = (list: Obj[] | undefined): string[] => (list ?? []).map((n) => n.String?.sval ?? '');

function relationOf(node: Obj | undefined): RelationName | undefined {
  if (!node?.relname) return undefined;
  return { schema: node.schemaname, name: node.relname };
}

/** `DROP TABLE a.b` lists names as ["a", "b"]. */
function relationFromList(list: Obj): RelationName | undefined {
  const parts = names(list.List?.items);
  if (parts.length === 0) return undefined;
  const name = parts[parts.length - 1]!;
  const schema = parts.length > 1 ? parts[parts.length - 2] : undefined;
  return { schema, name };
}

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

function searchPathOf(node: Obj): string[] | undefined {
  if (node.kind !== 'VAR_SET_VALUE') return undefined; // DEFAULT, RESET: back to the connection's
  return (node.args as Obj[] | undefined)?.map((a) => a.A_Const?.sval?.sval ?? '').filter(Boolean);
}

/**
 * Classifies a file's statements: which need to run outside a transaction,
 * which destroy data (SPEC §5), what it creates, and which hide their effect
 * from the parser. Pure: statements in, data out.
 *
 * `tokensOf` gives the scanner's tokens of a DO block or function body
 * (strings and comments are single tokens, never keywords). A body is opaque
 * when it runs dynamic SQL, or when a DO block runs destructive SQL itself,
 * which data protection cannot resolve.
 */
export function classify(statements: readonly Statement[], tokensOf: (body: string) => ReadonlyArray<{ keyword: string | undefined }>): Classification {
  const opaqueBody = (body: string, runsNow: boolean): string | undefined => {
    const kw = tokensOf(body).map((t) => t.keyword);
    if (kw.includes('EXECUTE')) return 'runs dynamic SQL (EXECUTE), which data protection cannot check';
    if (!runsNow) return undefined;
    const found = new Set<string>();
    kw.forEach((k, i) => {
      if (k === 'DROP' || k === 'TRUNCATE') found.add(k);
      // ON DELETE CASCADE, FOR UPDATE, BEFORE UPDATE: clauses, not statements.
      if ((k === 'DELETE' || k === 'UPDATE') && !['ON', 'FOR', 'BEFORE', 'AFTER', 'OR'].includes(kw[i - 1] ?? '')) found.add(k);
      if (k === 'TYPE' && (kw[i - 1] === 'DATA' || kw[i - 2] === 'COLUMN' || kw[i - 2] === 'ALTER')) found.add('ALTER COLUMN ... TYPE');
    });
    return found.size > 0 ? `runs ${[...found].join(', ')} itself, which data protection does not check` : undefined;
  };
  const result: Classification = {
    nonTransactional: [],
    transactionControl: [],
    destructive: [],
    opaque: [],
    creates: [],
  };
  let searchPath: string[] | undefined;
  for (const statement of statements) {
    const kind = nodeKind(statement.node);
    const node = (statement.node as Obj)[kind] as Obj;
    const reason = nonTransactionalReason(statement);
    if (reason) result.nonTransactional.push({ statement, reason });
    const step = (partial: Omit<DestructiveStep, 'statement' | 'searchPath' | 'cascade'> & { cascade?: boolean }) =>
      result.destructive.push({ cascade: false, ...partial, statement, searchPath });

    // A data-modifying WITH (... DELETE FROM old RETURNING *) moves rows away just the same.
    for (const cte of (node?.withClause?.ctes as Obj[] | undefined) ?? []) {
      const query = cte.CommonTableExpr?.ctequery as Obj | undefined;
      for (const [inner, kind_] of [[query?.DeleteStmt, 'delete-without-where'], [query?.UpdateStmt, 'update-without-where']] as const) {
        const relation = relationOf(inner?.relation);
        if (relation && !inner.whereClause) step({ kind: kind_, target: { relation } });
      }
    }

    switch (kind) {
      case 'TransactionStmt':
        if (['TRANS_STMT_BEGIN', 'TRANS_STMT_START', 'TRANS_STMT_COMMIT'].includes(node.kind)) result.transactionControl.push(statement);
        break;
      case 'VariableSetStmt':
        if (node.name === 'search_path') searchPath = searchPathOf(node);
        break;
      case 'CreateSchemaStmt':
        result.creates.push({ statement, schema: node.schemaname });
        break;
      case 'CreateStmt':
      case 'CreateTableAsStmt': {
        const relation = relationOf(kind === 'CreateStmt' ? node.relation : node.into?.rel);
        if (relation) result.creates.push({ statement, relation: { schema: relation.schema ?? searchPath?.[0], name: relation.name } });
        break;
      }
      case 'DropStmt': {
        const cascade = node.behavior === 'DROP_CASCADE';
        if (node.removeType === 'OBJECT_SCHEMA') {
          for (const schema of names(node.objects)) step({ kind: 'drop-schema', target: { schema }, cascade });
        } else if (node.removeType === 'OBJECT_TABLE' || node.removeType === 'OBJECT_MATVIEW') {
          for (const object of (node.objects as Obj[] | undefined) ?? []) {
            const relation = relationFromList(object);
            if (!relation) continue;
            step({ kind: node.removeType === 'OBJECT_TABLE' ? 'drop-table' : 'drop-materialized-view', target: { relation }, cascade });
          }
        }
        break;
      }
      case 'AlterTableStmt': {
        const relation = relationOf(node.relation);
        if (!relation) break;
        for (const cmd of (node.cmds as Obj[] | undefined) ?? []) {
          const subtype = cmd.AlterTableCmd?.subtype;
          if (subtype === 'AT_DropColumn') step({ kind: 'drop-column', target: { relation }, column: cmd.AlterTableCmd.name });
          if (subtype === 'AT_AlterColumnType') step({ kind: 'alter-column-type', target: { relation }, column: cmd.AlterTableCmd.name });
        }
        break;
      }
      case 'TruncateStmt':
        for (const r of (node.relations as Obj[] | undefined) ?? []) {
          const relation = relationOf(r.RangeVar);
          if (relation) step({ kind: 'truncate', target: { relation }, cascade: node.behavior === 'DROP_CASCADE' });
        }
        break;
      case 'DeleteStmt': {
        const relation = relationOf(node.relation);
        if (relation && !node.whereClause) step({ kind: 'delete-without-where', target: { relation } });
        break;
      }
      case 'UpdateStmt': {
        const relation = relationOf(node.relation);
        if (relation && !node.whereClause) step({ kind: 'update-without-where', target: { relation } });
        break;
      }
      case 'DoStmt': {
        const body = (node.args as Obj[] | undefined)?.find((a) => a.DefElem?.defname === 'as')?.DefElem?.arg?.String?.sval;
        const why = typeof body === 'string' ? opaqueBody(body, true) : undefined;
        if (why) result.opaque.push({ statement, reason: `the DO block ${why}` });
        break;
      }
      case 'CreateFunctionStmt': {
        const body = (node.options as Obj[] | undefined)?.find((o) => o.DefElem?.defname === 'as')?.DefElem?.arg?.List?.items?.[0]?.String?.sval;
        const why = typeof body === 'string' ? opaqueBody(body, false) : undefined;
        if (why) result.opaque.push({ statement, reason: `the function body ${why}` });
        break;
      }
      default:
        break;
    }
  }
  return result;
}

/** How a destructive step reads in a message: `DROP TABLE workspace.items`. */
export function describeStep(step: DestructiveStep): string {
  const target = 'schema' in step.target ? step.target.schema : qualified(step.target.relation);
  switch (step.kind) {
    case 'drop-schema':
      return `DROP SCHEMA ${target}${step.cascade ? ' CASCADE' : ''}`;
    case 'drop-table':
      return `DROP TABLE ${target}${step.cascade ? ' CASCADE' : ''}`;
    case 'drop-materialized-view':
      return `DROP MATERIALIZED VIEW ${target}${step.cascade ? ' CASCADE' : ''}`;
    case 'drop-column':
      return `ALTER TABLE ${target} DROP COLUMN ${step.column}`;
    case 'alter-column-type':
      return `ALTER TABLE ${target} ALTER COLUMN ${step.column} TYPE`;
    case 'truncate':
      return `TRUNCATE ${target}${step.cascade ? ' CASCADE' : ''}`;
    case 'delete-without-where':
      return `DELETE FROM ${target} without WHERE`;
    case 'update-without-where':
      return `UPDATE ${target} without WHERE`;
  }
}

export function qualified(relation: RelationName): string {
  return relation.schema ? `${relation.schema}.${relation.name}` : relation.name;
}
