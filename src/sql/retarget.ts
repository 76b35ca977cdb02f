import type { ColumnRef, Node, RangeVar } from 'libpg-query';
import { renameColumnRefs } from './add-constraint.js';

/**
 * A CREATE INDEX, CREATE TRIGGER or CREATE POLICY as a parse tree, made to
 * name its table as it is now (a later RENAME or SET SCHEMA of the table),
 * itself by its name now, and the columns it names as later RENAME COLUMNs
 * left them (an index's keys, INCLUDE and WHERE, a trigger's UPDATE OF and
 * WHEN, a policy's USING and WITH CHECK): run again as first written, it
 * would name a table that is no longer there. Undefined for any other
 * statement. Pure.
 */
export function retargetPart(
  made: Node,
  table: { schema: string; name: string },
  name: string,
  columns: ReadonlyMap<string, string>,
): Node | undefined {
  const relation: RangeVar = {
    schemaname: table.schema,
    relname: table.name,
    inh: true,
    relpersistence: 'p',
  };
  const rename = (column: string) => columns.get(column) ?? column;
  const copy = structuredClone(made);
  if ('IndexStmt' in copy) {
    const index = copy.IndexStmt;
    index.relation = relation;
    index.idxname = name;
    renameColumnRefs(index.indexParams, rename);
    renameColumnRefs(index.indexIncludingParams, rename);
    renameColumnRefs(index.whereClause, rename);
    return copy;
  }
  if ('CreateTrigStmt' in copy) {
    const trigger = copy.CreateTrigStmt;
    trigger.relation = relation;
    trigger.trigname = name;
    trigger.columns = trigger.columns?.map((n): Node =>
      'String' in n ? { String: { sval: rename(n.String.sval ?? '') } } : n,
    );
    renameRowRefs(trigger.whenClause, rename);
    return copy;
  }
  if ('CreatePolicyStmt' in copy) {
    const policy = copy.CreatePolicyStmt;
    policy.table = relation;
    policy.policy_name = name;
    renameColumnRefs(policy.qual, rename);
    renameColumnRefs(policy.with_check, rename);
    return copy;
  }
  return undefined;
}

/** Renames, in place, the columns a trigger's WHEN names through NEW and OLD. */
function renameRowRefs(node: unknown, rename: (name: string) => string): void {
  if (!node || typeof node !== 'object') return;
  const fields = (node as { ColumnRef?: ColumnRef }).ColumnRef?.fields;
  const [row, column] = fields ?? [];
  if (
    fields?.length === 2 &&
    row &&
    'String' in row &&
    (row.String.sval === 'new' || row.String.sval === 'old') &&
    column &&
    'String' in column &&
    column.String.sval !== undefined
  )
    column.String.sval = rename(column.String.sval);
  for (const value of Object.values(node)) renameRowRefs(value, rename);
}
