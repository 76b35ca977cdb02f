import type { Finding, Rule } from './rule.js';
import {
  alterOfExistingTable,
  expressionText,
  functionName,
  ident,
  type Obj,
  typeText,
} from './tables.js';

/**
 * Functions whose value changes from row to row (pg_proc.provolatile 'v').
 * now(), current_timestamp and the like are stable: one value for the whole
 * statement, which PostgreSQL 11 and later store once, without a rewrite.
 */
const VOLATILE = new Set([
  'random',
  'random_normal',
  'clock_timestamp',
  'timeofday',
  'gen_random_uuid',
  'uuidv4',
  'uuidv7',
  'uuid_generate_v1',
  'uuid_generate_v1mc',
  'uuid_generate_v4',
  'gen_random_bytes',
  'nextval',
]);

/** serial types are an integer with DEFAULT nextval(...): volatile too. */
const SERIAL: Record<string, string> = {
  smallserial: 'smallint',
  serial2: 'smallint',
  serial: 'integer',
  serial4: 'integer',
  bigserial: 'bigint',
  serial8: 'bigint',
};

/** The first volatile function the expression calls, anywhere in it. */
function volatileCall(node: unknown): string | undefined {
  if (Array.isArray(node)) {
    for (const item of node) {
      const found = volatileCall(item);
      if (found) return found;
    }
    return undefined;
  }
  if (typeof node !== 'object' || node === null) return undefined;
  const object = node as Obj;
  if (object.FuncCall && VOLATILE.has(functionName(object.FuncCall as Obj))) {
    return functionName(object.FuncCall as Obj);
  }
  for (const value of Object.values(object)) {
    const found = volatileCall(value);
    if (found) return found;
  }
  return undefined;
}

/**
 * ADD COLUMN with a volatile DEFAULT computes a value for every row: the
 * table and its indexes are rewritten under ACCESS EXCLUSIVE, reads and
 * writes waiting all along.
 */
export const volatileDefault: Rule = {
  id: 'volatile-default',
  severity: 'warning',
  summary:
    'ADD COLUMN with a volatile DEFAULT (random(), clock_timestamp(), gen_random_uuid(), nextval(), a serial type) rewrites an existing table while reads and writes wait.',
  fix: [
    'ALTER TABLE my_table ADD COLUMN IF NOT EXISTS my_column uuid;',
    'ALTER TABLE my_table ALTER COLUMN my_column SET DEFAULT gen_random_uuid();',
    '-- then fill the rows there were, a batch per transaction, until it updates none:',
    'UPDATE my_table SET my_column = gen_random_uuid() WHERE ctid IN (SELECT ctid FROM my_table WHERE my_column IS NULL LIMIT 10000);',
  ].join('\n'),
  check(context) {
    const alter = alterOfExistingTable(context);
    if (!alter) return [];
    const { table } = alter;
    const findings: Finding[] = [];
    for (const cmd of alter.cmds) {
      if (cmd.subtype !== 'AT_AddColumn') continue;
      const column = cmd.def?.ColumnDef as Obj | undefined;
      if (!column) continue;
      const name = ident(column.colname as string);
      const constraints = ((column.constraints as Obj[] | undefined) ?? []).map(
        (c) => c.Constraint as Obj | undefined,
      );
      const notNull = constraints.some((c) => c?.contype === 'CONSTR_NOTNULL');
      const typeNames = (column.typeName?.names as Obj[] | undefined) ?? [];
      const serial =
        typeNames.length === 1
          ? SERIAL[(typeNames[0]?.String?.sval as string | undefined) ?? '']
          : undefined;
      if (serial) {
        const bare = (alter.relation.relname as string | undefined) ?? '';
        const sequence = ident(`${bare}_${column.colname as string}_seq`);
        const qualified = alter.relation.schemaname
          ? `${ident(alter.relation.schemaname as string)}.${sequence}`
          : sequence;
        findings.push({
          at: context.statement.at,
          table,
          message: `ADD COLUMN ${name} ${typeText(column.typeName as Obj)} (a DEFAULT nextval(), volatile) on ${table} rewrites ${table} under an ACCESS EXCLUSIVE lock: reads and writes wait until it is done.`,
          fix: backfill(table, name, serial, `nextval('${qualified}')`, notNull, [
            `CREATE SEQUENCE IF NOT EXISTS ${qualified} OWNED BY ${table}.${name};`,
          ]),
        });
        continue;
      }
      const expression = constraints.find((c) => c?.contype === 'CONSTR_DEFAULT')?.raw_expr as
        Obj | undefined;
      const volatile = volatileCall(expression);
      if (!volatile) continue;
      const text = expressionText(expression);
      findings.push({
        at: context.statement.at,
        table,
        message: `ADD COLUMN ${name} DEFAULT ${text ?? `${volatile}(...)`} (volatile: a value per row) on ${table} rewrites ${table} under an ACCESS EXCLUSIVE lock: reads and writes wait until it is done.`,
        fix: backfill(
          table,
          name,
          typeText(column.typeName as Obj),
          text ?? `<the DEFAULT expression>`,
          notNull,
        ),
      });
    }
    return findings;
  },
};

function backfill(
  table: string,
  column: string,
  type: string,
  expression: string,
  notNull: boolean,
  between: string[] = [],
): string {
  return [
    `ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${column} ${type};`,
    ...between,
    `ALTER TABLE ${table} ALTER COLUMN ${column} SET DEFAULT ${expression};`,
    '-- then fill the rows there were, a batch per transaction, until it updates none:',
    `UPDATE ${table} SET ${column} = ${expression} WHERE ctid IN (SELECT ctid FROM ${table} WHERE ${column} IS NULL LIMIT 10000);`,
    ...(notNull ? ['-- and then SET NOT NULL as set-not-null-without-check shows.'] : []),
  ].join('\n');
}
