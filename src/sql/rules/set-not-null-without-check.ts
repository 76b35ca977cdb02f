import type { Finding, Rule } from './rule.js';
import { alterOfExistingTable, ident, type Obj } from './tables.js';

/** `col IS NOT NULL`: the column a CHECK proves not null, else undefined. */
function notNullColumn(constraint: Obj | undefined): string | undefined {
  if (constraint?.contype !== 'CONSTR_CHECK') return undefined;
  const test = constraint.raw_expr?.NullTest as Obj | undefined;
  if (test?.nulltesttype !== 'IS_NOT_NULL') return undefined;
  const fields = (test.arg?.ColumnRef?.fields as Obj[] | undefined) ?? [];
  return fields[fields.length - 1]?.String?.sval as string | undefined;
}

/**
 * SET NOT NULL reads every row under ACCESS EXCLUSIVE, unless a validated
 * CHECK (col IS NOT NULL) already proves it (PostgreSQL 12 and later skip the
 * scan then). VALIDATE CONSTRAINT scans under SHARE UPDATE EXCLUSIVE, which
 * lets reads and writes go on.
 */
export const setNotNullWithoutCheck: Rule = {
  id: 'set-not-null-without-check',
  severity: 'warning',
  summary:
    'SET NOT NULL on an existing table reads every row while reads and writes wait, unless a validated CHECK (col IS NOT NULL) proves it first.',
  fix: [
    'ALTER TABLE my_table ADD CONSTRAINT my_table_my_column_not_null CHECK (my_column IS NOT NULL) NOT VALID;',
    '-- then, in a later migration:',
    'ALTER TABLE my_table VALIDATE CONSTRAINT my_table_my_column_not_null;',
    'ALTER TABLE my_table ALTER COLUMN my_column SET NOT NULL;',
    'ALTER TABLE my_table DROP CONSTRAINT my_table_my_column_not_null;',
  ].join('\n'),
  // What earlier statements of the file proved: CHECK (col IS NOT NULL) constraints, by table.
  checkInOrder() {
    /** `table|constraint` → its column, for a CHECK added NOT VALID. */
    const unvalidated = new Map<string, string>();
    /** `table|constraint` of a CHECK that proves another column (not `col IS NOT NULL`). */
    const other = new Set<string>();
    /** `table|column` proven; `table|` + constraint for a constraint this file did not add (lint cannot see it: trusted). */
    const proven = new Set<string>();
    return (context) => {
      const alter = alterOfExistingTable(context);
      if (!alter) return [];
      const { table } = alter;
      const key = `${(alter.relation.schemaname as string | undefined) ?? ''}.${alter.relation.relname as string}`;
      const findings: Finding[] = [];
      for (const cmd of alter.cmds) {
        if (cmd.subtype === 'AT_AddConstraint') {
          const constraint = cmd.def?.Constraint as Obj | undefined;
          const column = notNullColumn(constraint);
          const name = constraint?.conname as string | undefined;
          if (column && !constraint?.skip_validation) proven.add(`${key}|${column}`);
          else if (column && name) unvalidated.set(`${key}|${name}`, column);
          else if (name) other.add(`${key}|${name}`);
        }
        if (cmd.subtype === 'AT_ValidateConstraint') {
          const name = cmd.name as string;
          const column = unvalidated.get(`${key}|${name}`);
          if (column) proven.add(`${key}|${column}`);
          else if (!other.has(`${key}|${name}`)) proven.add(`${key}|*`);
        }
        if (cmd.subtype === 'AT_SetNotNull') {
          const column = cmd.name as string;
          if (proven.has(`${key}|${column}`) || proven.has(`${key}|*`)) continue;
          findings.push({
            at: context.statement.at,
            table,
            message: `SET NOT NULL on ${table}.${ident(column)} reads every row of ${table} under an ACCESS EXCLUSIVE lock: reads and writes wait until it is done.`,
            fix: fixFor(table, (alter.relation.relname as string | undefined) ?? '', column),
          });
        }
      }
      return findings;
    };
  },
};

function fixFor(table: string, bare: string, column: string): string {
  const constraint = ident(`${bare}_${column}_not_null`);
  const col = ident(column);
  return [
    `ALTER TABLE ${table} ADD CONSTRAINT ${constraint} CHECK (${col} IS NOT NULL) NOT VALID;`,
    '-- then, in a later migration (VALIDATE scans under SHARE UPDATE EXCLUSIVE: reads and writes go on;',
    '-- PostgreSQL 12 and later then set NOT NULL without a scan):',
    `ALTER TABLE ${table} VALIDATE CONSTRAINT ${constraint};`,
    `ALTER TABLE ${table} ALTER COLUMN ${col} SET NOT NULL;`,
    `ALTER TABLE ${table} DROP CONSTRAINT ${constraint};`,
  ].join('\n');
}
