import type { Finding, Rule } from './rule.js';
import { alterOfExistingTable, ident, type Obj, tableName, typeText } from './tables.js';

const ACTIONS: Record<string, string> = {
  r: 'RESTRICT',
  c: 'CASCADE',
  n: 'SET NULL',
  d: 'SET DEFAULT',
};

const names = (list: Obj[] | undefined): string[] =>
  (list ?? []).map((n) => ident((n.String?.sval as string | undefined) ?? ''));

/**
 * Adding a foreign key checks every existing row under a SHARE ROW EXCLUSIVE
 * lock on both tables. NOT VALID adds it for new rows only, at once; VALIDATE
 * CONSTRAINT checks the old rows later under a lock that lets writes go on.
 */
export const foreignKeyWithoutNotValid: Rule = {
  id: 'foreign-key-without-not-valid',
  severity: 'warning',
  summary:
    'A foreign key added without NOT VALID scans the existing table while writes to it and to the referenced table wait.',
  fix: 'ALTER TABLE my_table ADD CONSTRAINT my_fkey FOREIGN KEY (my_column) REFERENCES other_table (id) NOT VALID;\n-- in a later migration:\nALTER TABLE my_table VALIDATE CONSTRAINT my_fkey;',
  check(context) {
    const alter = alterOfExistingTable(context);
    if (!alter) return [];
    const findings: Finding[] = [];
    const { table } = alter;
    const bare = (alter.relation.relname as string | undefined) ?? '';
    for (const cmd of alter.cmds) {
      if (cmd.subtype === 'AT_AddConstraint') {
        const constraint = cmd.def?.Constraint as Obj | undefined;
        if (constraint?.contype !== 'CONSTR_FOREIGN' || constraint.skip_validation) continue;
        const columns = names(constraint.fk_attrs as Obj[] | undefined);
        const name =
          (constraint.conname as string | undefined) ?? `${bare}_${columns.join('_')}_fkey`;
        findings.push(finding(context.statement.at, table, name, columns, constraint));
      }
      if (cmd.subtype === 'AT_AddColumn') {
        const column = cmd.def?.ColumnDef as Obj | undefined;
        const constraint = ((column?.constraints as Obj[] | undefined) ?? [])
          .map((c) => c.Constraint as Obj | undefined)
          .find((c) => c?.contype === 'CONSTR_FOREIGN');
        if (!column || !constraint) continue;
        const name =
          (constraint.conname as string | undefined) ?? `${bare}_${column.colname as string}_fkey`;
        findings.push(
          finding(
            context.statement.at,
            table,
            name,
            [ident(column.colname as string)],
            constraint,
            column,
          ),
        );
      }
    }
    return findings;
  },
};

function finding(
  at: Finding['at'],
  table: string,
  name: string,
  columns: string[],
  constraint: Obj,
  addedColumn?: Obj,
): Finding {
  const referenced = tableName(constraint.pktable as Obj | undefined);
  const keys = names(constraint.pk_attrs as Obj[] | undefined);
  const onDelete = ACTIONS[constraint.fk_del_action as string];
  const onUpdate = ACTIONS[constraint.fk_upd_action as string];
  const references = `REFERENCES ${referenced}${keys.length > 0 ? ` (${keys.join(', ')})` : ''}${onUpdate ? ` ON UPDATE ${onUpdate}` : ''}${onDelete ? ` ON DELETE ${onDelete}` : ''}`;
  const what = addedColumn
    ? `ADD COLUMN ${ident(addedColumn.colname as string)} ... ${references}`
    : `ADD CONSTRAINT ${ident(name)} FOREIGN KEY`;
  return {
    at,
    table,
    message: `${what} on ${table} without NOT VALID checks every row of ${table} under a SHARE ROW EXCLUSIVE lock on ${table} and ${referenced}: writes to both wait until it is done.`,
    fix: [
      ...(addedColumn
        ? [
            `ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${ident(addedColumn.colname as string)} ${typeText(addedColumn.typeName as Obj | undefined)};`,
          ]
        : []),
      `ALTER TABLE ${table} ADD CONSTRAINT ${ident(name)} FOREIGN KEY (${columns.join(', ')}) ${references} NOT VALID;`,
      '-- then, in a later migration (SHARE UPDATE EXCLUSIVE: reads and writes go on):',
      `ALTER TABLE ${table} VALIDATE CONSTRAINT ${ident(name)};`,
    ].join('\n'),
  };
}
