import { nodeKind } from '../statements.js';
import type { Rule } from './rule.js';

/** The seed's "column already exists": a column added before the migration that adds it blocks the deploy. */
export const addColumnWithoutIfNotExists: Rule = {
  id: 'add-column-without-if-not-exists',
  severity: 'warning',
  summary:
    'ADD COLUMN without IF NOT EXISTS fails when the column is already there, so the file cannot run twice.',
  fix: 'Write ALTER TABLE ... ADD COLUMN IF NOT EXISTS ...',
  check({ statement }) {
    if (nodeKind(statement.node) !== 'AlterTableStmt') return [];
    const node = (statement.node as Record<string, any>).AlterTableStmt;
    const table = node.relation?.schemaname
      ? `${node.relation.schemaname}.${node.relation.relname}`
      : node.relation?.relname;
    return ((node.cmds ?? []) as Array<Record<string, any>>)
      .map((c) => c.AlterTableCmd)
      .filter((cmd) => cmd?.subtype === 'AT_AddColumn' && !cmd.missing_ok)
      .map((cmd) => ({
        at: statement.at,
        message: `ALTER TABLE ${table} ADD COLUMN ${cmd.def?.ColumnDef?.colname ?? ''} without IF NOT EXISTS cannot run twice.`,
      }));
  },
};
