import type { Finding, Rule } from './rule.js';
import { columnTypeOf, usingKeepsValues } from '../operations.js';
import { alterOfExistingTable, expressionText, ident, type Obj, typeText } from './tables.js';

/**
 * The types PostgreSQL can change a column to without a rewrite, from the
 * right type: varchar(n) to a longer varchar or to text, varchar or text to
 * text, numeric(p,s) to a larger p with the same s, text or varchar to citext
 * (a cast without a function, declared by the extension). Lint does not see the
 * column's current type, so a change to one of these is given the benefit of
 * the doubt; a USING that computes new values rewrites whatever the types.
 */
const MAY_KEEP_ROWS = new Set(['text', 'varchar', 'numeric', 'citext']);

/**
 * ALTER COLUMN ... TYPE (int to bigint, text to jsonb, ...) writes the whole
 * table and rebuilds its indexes under ACCESS EXCLUSIVE: nothing reads or
 * writes it until that is done.
 */
export const typeChangeRewrites: Rule = {
  id: 'type-change-rewrites',
  severity: 'warning',
  summary:
    'ALTER COLUMN ... TYPE rewrites an existing table and its indexes while reads and writes wait (except varchar/text/numeric widenings and text to citext).',
  fix: [
    'ALTER TABLE my_table ADD COLUMN IF NOT EXISTS my_column_new bigint;',
    '-- fill it a batch per transaction (a trigger keeps new writes in step), then swap the names in a later migration.',
  ].join('\n'),
  check(context) {
    const alter = alterOfExistingTable(context);
    if (!alter) return [];
    const { table } = alter;
    const findings: Finding[] = [];
    for (const cmd of alter.cmds) {
      if (cmd.subtype !== 'AT_AlterColumnType') continue;
      const definition = cmd.def?.ColumnDef as Obj | undefined;
      const typeName = definition?.typeName as Obj | undefined;
      if (!definition || !typeName) continue;
      const names = ((typeName.names as Obj[] | undefined) ?? []).map(
        (n) => (n.String?.sval as string | undefined) ?? '',
      );
      const using = definition.raw_default as Obj | undefined;
      const column = cmd.name as string;
      const computed =
        using !== undefined && !usingKeepsValues(using, column, columnTypeOf(typeName));
      const array = ((typeName.arrayBounds as Obj[] | undefined) ?? []).length > 0;
      if (!computed && !array && MAY_KEEP_ROWS.has(names[names.length - 1] ?? '')) continue;
      const type = typeText(typeName);
      findings.push({
        at: context.statement.at,
        table,
        message: `ALTER COLUMN ${ident(column)} TYPE ${type}${computed ? ' USING ...' : ''} rewrites ${table} and its indexes under an ACCESS EXCLUSIVE lock: reads and writes wait until it is done.`,
        fix: expandAndContract(
          table,
          column,
          type,
          computed ? (expressionText(using) ?? '<the USING expression>') : undefined,
        ),
      });
    }
    return findings;
  },
};

function expandAndContract(
  table: string,
  column: string,
  type: string,
  using: string | undefined,
): string {
  const col = ident(column);
  const fresh = ident(`${column}_new`);
  const old = ident(`${column}_old`);
  return [
    `ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${fresh} ${type};`,
    `-- keep ${fresh} in step with ${col} for new writes (a trigger, or the application), then fill`,
    '-- the rows there were, a batch per transaction, until it updates none:',
    `UPDATE ${table} SET ${fresh} = ${using ?? `${col}::${type}`} WHERE ctid IN (SELECT ctid FROM ${table} WHERE ${fresh} IS NULL AND ${col} IS NOT NULL LIMIT 10000);`,
    '-- then, in a later migration (renames take the lock for a moment, and rewrite nothing):',
    `ALTER TABLE ${table} RENAME COLUMN ${col} TO ${old};`,
    `ALTER TABLE ${table} RENAME COLUMN ${fresh} TO ${col};`,
  ].join('\n');
}
