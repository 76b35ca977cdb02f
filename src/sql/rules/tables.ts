/**
 * What the lock-hazard rules share: the table a statement alters, whether
 * the file made it, and types and expressions written back as SQL for the
 * fixes (libpg-query here has no deparser).
 */
import { nodeKind } from '../statements.js';
import { plainIdent } from '../quote.js';
import type { StatementContext } from './rule.js';

export type Obj = Record<string, any>;

/** An identifier as SQL needs it written: bare when it is a plain lower-case name. */
export const ident = plainIdent;

/** `workspace.items`, or `items` when the statement left the schema out. */
export function tableName(rangeVar: Obj | undefined): string {
  const name = ident((rangeVar?.relname as string | undefined) ?? '');
  return rangeVar?.schemaname ? `${ident(rangeVar.schemaname as string)}.${name}` : name;
}

/** Made by an earlier statement of the file: new, empty, and nobody else's yet. */
export function madeInFile(context: StatementContext, rangeVar: Obj | undefined): boolean {
  return context.createdInFile(
    rangeVar?.schemaname as string | undefined,
    (rangeVar?.relname as string | undefined) ?? '',
  );
}

/**
 * The ALTER TABLE of a statement, with its subcommands, when its table was
 * there before the file (ALTER TABLE on a table the file made holds no one up).
 */
export function alterOfExistingTable(
  context: StatementContext,
): { table: string; relation: Obj; cmds: Obj[] } | undefined {
  const { node } = context.statement;
  if (nodeKind(node) !== 'AlterTableStmt') return undefined;
  const alter = (node as Obj).AlterTableStmt as Obj;
  if (alter.objtype !== 'OBJECT_TABLE' || madeInFile(context, alter.relation)) return undefined;
  const cmds = ((alter.cmds as Obj[] | undefined) ?? [])
    .map((c) => c.AlterTableCmd as Obj | undefined)
    .filter((c): c is Obj => c !== undefined);
  return { table: tableName(alter.relation), relation: alter.relation as Obj, cmds };
}

const TYPE_NAMES: Record<string, string> = {
  int2: 'smallint',
  int4: 'integer',
  int8: 'bigint',
  float4: 'real',
  float8: 'double precision',
  bool: 'boolean',
  bpchar: 'char',
};

/** A type as written: `varchar(20)`, `numeric(12,2)`, `bigint`, `text[]`. */
export function typeText(type: Obj | undefined): string {
  const names = ((type?.names as Obj[] | undefined) ?? []).map(
    (n) => (n.String?.sval as string | undefined) ?? '',
  );
  const builtIn = names.length === 2 && names[0] === 'pg_catalog';
  const last = names[names.length - 1] ?? '';
  const name = builtIn ? (TYPE_NAMES[last] ?? last) : names.map(ident).join('.');
  const modifiers = ((type?.typmods as Obj[] | undefined) ?? []).map((m) =>
    m.A_Const?.ival ? String(m.A_Const.ival.ival ?? 0) : '?',
  );
  const bounds = ((type?.arrayBounds as Obj[] | undefined) ?? []).length;
  return `${name}${modifiers.length > 0 ? `(${modifiers.join(',')})` : ''}${'[]'.repeat(bounds)}`;
}

/** The last part of a function's name: `gen_random_uuid` for `public.gen_random_uuid`. */
export function functionName(call: Obj): string {
  const names = (call.funcname as Obj[] | undefined) ?? [];
  return (names[names.length - 1]?.String?.sval as string | undefined) ?? '';
}

const SQL_VALUE_FUNCTIONS: Record<string, string> = {
  SVFOP_CURRENT_DATE: 'current_date',
  SVFOP_CURRENT_TIME: 'current_time',
  SVFOP_CURRENT_TIMESTAMP: 'current_timestamp',
  SVFOP_LOCALTIME: 'localtime',
  SVFOP_LOCALTIMESTAMP: 'localtimestamp',
  SVFOP_CURRENT_USER: 'current_user',
};

/**
 * The usual default expressions written back as SQL: calls, constants, casts,
 * columns, arithmetic. Undefined for anything else (the fix then says where
 * the user's own expression goes).
 */
export function expressionText(expression: Obj | undefined): string | undefined {
  if (!expression) return undefined;
  if (expression.FuncCall) {
    const call = expression.FuncCall as Obj;
    const args = ((call.args as Obj[] | undefined) ?? []).map(expressionText);
    if (args.some((a) => a === undefined)) return undefined;
    const name = ((call.funcname as Obj[] | undefined) ?? [])
      .map((n) => ident((n.String?.sval as string | undefined) ?? ''))
      .join('.');
    return `${name}(${args.join(', ')})`;
  }
  if (expression.A_Const) {
    const constant = expression.A_Const as Obj;
    if (constant.isnull) return 'NULL';
    if (constant.ival) return String(constant.ival.ival ?? 0);
    if (constant.fval) return String(constant.fval.fval);
    if (constant.boolval) return constant.boolval.boolval ? 'true' : 'false';
    if (constant.sval) return `'${String(constant.sval.sval ?? '').replace(/'/g, "''")}'`;
    return undefined;
  }
  if (expression.TypeCast) {
    const arg = expressionText(expression.TypeCast.arg as Obj);
    return arg === undefined ? undefined : `${arg}::${typeText(expression.TypeCast.typeName)}`;
  }
  if (expression.SQLValueFunction)
    return SQL_VALUE_FUNCTIONS[expression.SQLValueFunction.op as string];
  if (expression.ColumnRef)
    return ((expression.ColumnRef.fields as Obj[] | undefined) ?? [])
      .map((f) => ident((f.String?.sval as string | undefined) ?? ''))
      .join('.');
  if (expression.A_Expr?.kind === 'AEXPR_OP') {
    const left = expressionText(expression.A_Expr.lexpr as Obj | undefined);
    const right = expressionText(expression.A_Expr.rexpr as Obj | undefined);
    const op = (expression.A_Expr.name as Obj[] | undefined)?.[0]?.String?.sval as
      string | undefined;
    if (right === undefined || op === undefined) return undefined;
    if (expression.A_Expr.lexpr === undefined) return `${op}${right}`;
    return left === undefined ? undefined : `(${left} ${op} ${right})`;
  }
  return undefined;
}
