import { type Location, nodeKind, type Statement } from './statements.js';

/**
 * An object as a statement names it. `schema` is '' where the statement left
 * it unqualified and the file set no search_path: the server resolves it.
 * Relations (table, view, materialized view, sequence, index) share one
 * name space per schema, as in pg_class. `args` are a function's argument
 * types as the parser normalised them (`"int4"` for `int` and `integer`
 * alike); undefined where the statement does not say (`DROP
 * FUNCTION f`) or cannot be known without the server (`%TYPE`).
 */
export interface ObjectRef {
  kind: RefKind;
  schema: string;
  name: string;
  /** The table of a column, constraint, trigger or policy. */
  table?: string | undefined;
  args?: string[] | undefined;
}

export type RefKind =
  | 'schema'
  | 'table'
  | 'view'
  | 'materialized view'
  | 'sequence'
  | 'index'
  | 'column'
  | 'constraint'
  | 'trigger'
  | 'policy'
  | 'function'
  | 'procedure'
  | 'type'
  | 'domain'
  | 'extension';

/** What a file does to objects, in file order, with unqualified names resolved by the file's own SET search_path. */
export type Operation =
  | { kind: 'create'; object: ObjectRef; ifNotExists: boolean; at: Location }
  | { kind: 'drop'; object: ObjectRef; ifExists: boolean; cascade: boolean; at: Location }
  | { kind: 'rename' | 'move'; from: ObjectRef; to: ObjectRef; at: Location };

const RELATIONS: ReadonlySet<RefKind> = new Set(['table', 'view', 'materialized view', 'sequence', 'index']);

/** The name space an object lives in: relations share one, functions and procedures share one. */
export function nameSpaceOf(kind: RefKind): string {
  if (RELATIONS.has(kind)) return 'relation';
  if (kind === 'procedure') return 'function';
  if (kind === 'domain') return 'type';
  return kind;
}

/** Two refs that PostgreSQL would call the same object have the same key (unqualified names through `creationSchema`). */
export function refKey(ref: ObjectRef, creationSchema = ''): string {
  const schema = ref.kind === 'schema' || ref.kind === 'extension' ? '' : ref.schema || creationSchema;
  const args = nameSpaceOf(ref.kind) === 'function' ? `(${ref.args?.join(',') ?? '*'})` : '';
  // An index is named in its schema; its table is information, not identity.
  const table = ref.kind === 'column' || ref.kind === 'constraint' || ref.kind === 'trigger' || ref.kind === 'policy' ? (ref.table ?? '') : '';
  return `${nameSpaceOf(ref.kind)}:${schema}.${table}.${ref.name}${args}`;
}

/** `table workspace.items`, `column workspace.items.title`, `constraint c on workspace.items`, for messages. */
export function describeRef(ref: ObjectRef): string {
  const qualified = (name: string) => (ref.schema ? `${ref.schema}.${name}` : name);
  switch (ref.kind) {
    case 'schema':
    case 'extension':
      return `${ref.kind} ${ref.name}`;
    case 'column':
      return `column ${qualified(`${ref.table}.${ref.name}`)}`;
    case 'constraint':
    case 'trigger':
    case 'policy':
      return `${ref.kind} ${ref.name} on ${qualified(ref.table ?? '')}`;
    case 'function':
    case 'procedure':
      return `${ref.kind} ${qualified(ref.name)}(${ref.args?.map((a) => a.replace(/"/g, '')).join(', ') ?? '...'})`;
    default:
      return `${ref.kind} ${qualified(ref.name)}`;
  }
}

type Obj = Record<string, any>;
const strings = (list: Obj[] | undefined): string[] => (list ?? []).map((n) => n.String?.sval ?? '');

/** `"int4"[]`: a type name as to_regprocedure reads it; undefined for `%TYPE`. */
function typeText(type: Obj | undefined): string | undefined {
  if (!type || type.pct_type) return undefined;
  // `int` and `integer` both parse to pg_catalog.int4; pg_catalog is searched first anyway.
  const names = strings(type.names).filter((n, i, all) => !(i === 0 && n === 'pg_catalog' && all.length > 1));
  return names.map((n) => `"${n.replace(/"/g, '""')}"`).join('.') + '[]'.repeat(((type.arrayBounds as Obj[] | undefined) ?? []).length);
}

function argsOf(types: Array<Obj | undefined>): string[] | undefined {
  const texts = types.map(typeText);
  return texts.some((t) => t === undefined) ? undefined : (texts as string[]);
}

const INPUT_MODES = new Set(['FUNC_PARAM_DEFAULT', 'FUNC_PARAM_IN', 'FUNC_PARAM_INOUT', 'FUNC_PARAM_VARIADIC', undefined]);

const TABLE_PART_DROPS: Record<string, RefKind> = { AT_DropColumn: 'column', AT_DropConstraint: 'constraint' };

const RELATION_OBJECTS: Record<string, RefKind> = {
  OBJECT_TABLE: 'table',
  OBJECT_FOREIGN_TABLE: 'table',
  OBJECT_VIEW: 'view',
  OBJECT_MATVIEW: 'materialized view',
  OBJECT_SEQUENCE: 'sequence',
  OBJECT_INDEX: 'index',
};

/**
 * Reads what a file does to objects, statement by statement. Pure. DO blocks
 * and function bodies are not followed here: what they make is read from the
 * catalog when the migration runs.
 */
export function operationsOf(statements: readonly Statement[]): Operation[] {
  const ops: Operation[] = [];
  let path: string[] | undefined;
  const schemaOf = (schema: string | undefined) => schema ?? path?.[0] ?? '';
  const split = (names: string[]) => ({ schema: schemaOf(names.length > 1 ? names[names.length - 2] : undefined), name: names[names.length - 1] ?? '' });
  const relation = (r: Obj | undefined) => ({ schema: schemaOf(r?.schemaname), name: (r?.relname as string | undefined) ?? '' });

  for (const statement of statements) {
    const at = statement.at;
    const create = (object: ObjectRef, ifNotExists: boolean) => ops.push({ kind: 'create', object, ifNotExists, at });
    const kind = nodeKind(statement.node);
    const n = (statement.node as Obj)[kind] as Obj;
    switch (kind) {
      case 'VariableSetStmt':
        if (n.name === 'search_path') {
          path = n.kind === 'VAR_SET_VALUE' ? (n.args as Obj[] | undefined)?.map((a) => a.A_Const?.sval?.sval ?? '').filter(Boolean) : undefined;
        }
        break;
      case 'CreateSchemaStmt':
        create({ kind: 'schema', schema: '', name: n.schemaname }, Boolean(n.if_not_exists));
        break;
      case 'CreateStmt': {
        const table = relation(n.relation);
        create({ kind: 'table', ...table }, Boolean(n.if_not_exists));
        for (const element of (n.tableElts as Obj[] | undefined) ?? []) {
          if (element.ColumnDef?.colname) create({ kind: 'column', schema: table.schema, table: table.name, name: element.ColumnDef.colname }, true);
          if (element.Constraint?.conname) create({ kind: 'constraint', schema: table.schema, table: table.name, name: element.Constraint.conname }, true);
        }
        break;
      }
      case 'CreateTableAsStmt':
        create({ kind: n.objtype === 'OBJECT_MATVIEW' ? 'materialized view' : 'table', ...relation(n.into?.rel) }, Boolean(n.if_not_exists));
        break;
      case 'ViewStmt':
        create({ kind: 'view', ...relation(n.view) }, Boolean(n.replace));
        break;
      case 'CreateSeqStmt':
        create({ kind: 'sequence', ...relation(n.sequence) }, Boolean(n.if_not_exists));
        break;
      case 'IndexStmt':
        // An index without a name gets one from PostgreSQL, which never collides.
        if (n.idxname) {
          const table = relation(n.relation);
          create({ kind: 'index', schema: table.schema, name: n.idxname, table: table.name }, Boolean(n.if_not_exists));
        }
        break;
      case 'CreateFunctionStmt': {
        const params = ((n.parameters as Obj[] | undefined) ?? []).map((p) => p.FunctionParameter as Obj).filter((p) => INPUT_MODES.has(p.mode));
        create({ kind: n.is_procedure ? 'procedure' : 'function', ...split(strings(n.funcname)), args: argsOf(params.map((p) => p.argType)) }, Boolean(n.replace));
        break;
      }
      case 'CreateEnumStmt':
      case 'CreateRangeStmt':
        create({ kind: 'type', ...split(strings(n.typeName)) }, false);
        break;
      case 'CreateDomainStmt':
        create({ kind: 'domain', ...split(strings(n.domainname)) }, false);
        break;
      case 'CompositeTypeStmt':
        create({ kind: 'type', ...relation(n.typevar) }, false);
        break;
      case 'CreateExtensionStmt':
        create({ kind: 'extension', schema: '', name: n.extname }, Boolean(n.if_not_exists));
        break;
      case 'CreateTrigStmt': {
        const table = relation(n.relation);
        create({ kind: 'trigger', schema: table.schema, table: table.name, name: n.trigname }, Boolean(n.replace));
        break;
      }
      case 'CreatePolicyStmt': {
        const table = relation(n.table);
        create({ kind: 'policy', schema: table.schema, table: table.name, name: n.policy_name }, false);
        break;
      }
      case 'AlterTableStmt': {
        const table = relation(n.relation);
        for (const cmd of ((n.cmds as Obj[] | undefined) ?? []).map((c) => c.AlterTableCmd as Obj)) {
          if (cmd?.subtype === 'AT_AddColumn' && cmd.def?.ColumnDef?.colname) {
            create({ kind: 'column', schema: table.schema, table: table.name, name: cmd.def.ColumnDef.colname }, Boolean(cmd.missing_ok));
          }
          if (cmd?.subtype === 'AT_AddConstraint' && cmd.def?.Constraint?.conname) {
            create({ kind: 'constraint', schema: table.schema, table: table.name, name: cmd.def.Constraint.conname }, false);
          }
          const dropped = TABLE_PART_DROPS[cmd?.subtype as string];
          if (dropped) {
            ops.push({ kind: 'drop', object: { kind: dropped, schema: table.schema, table: table.name, name: cmd.name }, ifExists: Boolean(cmd.missing_ok), cascade: cmd.behavior === 'DROP_CASCADE', at });
          }
        }
        break;
      }
      case 'DropStmt':
        for (const object of droppedBy(n, split)) {
          ops.push({ kind: 'drop', object, ifExists: Boolean(n.missing_ok), cascade: n.behavior === 'DROP_CASCADE', at });
        }
        break;
      case 'RenameStmt': {
        const rename = renamedBy(n, schemaOf, split);
        if (rename) ops.push({ kind: 'rename', ...rename, at });
        break;
      }
      case 'AlterObjectSchemaStmt': {
        const refKind = RELATION_OBJECTS[n.objectType as string];
        const from = refKind
          ? { kind: refKind, ...relation(n.relation) }
          : n.objectType === 'OBJECT_FUNCTION' || n.objectType === 'OBJECT_PROCEDURE'
            ? { kind: (n.objectType === 'OBJECT_FUNCTION' ? 'function' : 'procedure') as RefKind, ...split(strings(n.object?.ObjectWithArgs?.objname)), args: argsOf(((n.object?.ObjectWithArgs?.objargs as Obj[] | undefined) ?? []).map((a) => a.TypeName)) }
            : n.objectType === 'OBJECT_TYPE' || n.objectType === 'OBJECT_DOMAIN'
              ? { kind: (n.objectType === 'OBJECT_TYPE' ? 'type' : 'domain') as RefKind, ...split(strings(n.object?.List?.items)) }
              : undefined;
        if (from) ops.push({ kind: 'move', from, to: { ...from, schema: n.newschema }, at });
        break;
      }
      default:
        break;
    }
  }
  return ops;
}

function droppedBy(n: Obj, split: (names: string[]) => { schema: string; name: string }): ObjectRef[] {
  const objects = (n.objects as Obj[] | undefined) ?? [];
  const relationKind = RELATION_OBJECTS[n.removeType as string];
  if (relationKind) return objects.map((o) => ({ kind: relationKind, ...split(strings(o.List?.items)) }));
  switch (n.removeType) {
    case 'OBJECT_SCHEMA':
      return objects.map((o) => ({ kind: 'schema', schema: '', name: o.String?.sval ?? '' }));
    case 'OBJECT_EXTENSION':
      return objects.map((o) => ({ kind: 'extension', schema: '', name: o.String?.sval ?? '' }));
    case 'OBJECT_FUNCTION':
    case 'OBJECT_PROCEDURE':
    case 'OBJECT_ROUTINE':
      return objects.map((o) => ({
        kind: n.removeType === 'OBJECT_PROCEDURE' ? 'procedure' : 'function',
        ...split(strings(o.ObjectWithArgs?.objname)),
        args: o.ObjectWithArgs?.args_unspecified ? undefined : argsOf(((o.ObjectWithArgs?.objargs as Obj[] | undefined) ?? []).map((a) => a.TypeName)),
      }));
    case 'OBJECT_TYPE':
    case 'OBJECT_DOMAIN':
      return objects.map((o) => ({ kind: n.removeType === 'OBJECT_TYPE' ? 'type' : 'domain', ...split(strings(o.TypeName?.names)) }));
    case 'OBJECT_TRIGGER':
    case 'OBJECT_POLICY':
      // [schema.]table.name
      return objects.map((o) => {
        const parts = strings(o.List?.items);
        const name = parts.pop() ?? '';
        return { kind: n.removeType === 'OBJECT_TRIGGER' ? 'trigger' : 'policy', ...split(parts), table: split(parts).name, name };
      });
    default:
      return [];
  }
}

function renamedBy(
  n: Obj,
  schemaOf: (s: string | undefined) => string,
  split: (names: string[]) => { schema: string; name: string },
): { from: ObjectRef; to: ObjectRef } | undefined {
  const rename = (from: ObjectRef) => ({ from, to: { ...from, name: n.newname as string } });
  const schema = schemaOf(n.relation?.schemaname);
  const table = n.relation?.relname as string | undefined;
  switch (n.renameType) {
    case 'OBJECT_SCHEMA':
      return rename({ kind: 'schema', schema: '', name: n.subname });
    case 'OBJECT_COLUMN':
      return table ? rename({ kind: 'column', schema, table, name: n.subname }) : undefined;
    case 'OBJECT_TABCONSTRAINT':
      return table ? rename({ kind: 'constraint', schema, table, name: n.subname }) : undefined;
    case 'OBJECT_TRIGGER':
      return table ? rename({ kind: 'trigger', schema, table, name: n.subname }) : undefined;
    case 'OBJECT_POLICY':
      return table ? rename({ kind: 'policy', schema, table, name: n.subname }) : undefined;
    case 'OBJECT_FUNCTION':
    case 'OBJECT_PROCEDURE':
      return rename({
        kind: n.renameType === 'OBJECT_FUNCTION' ? 'function' : 'procedure',
        ...split(strings(n.object?.ObjectWithArgs?.objname)),
        args: argsOf(((n.object?.ObjectWithArgs?.objargs as Obj[] | undefined) ?? []).map((a) => a.TypeName)),
      });
    case 'OBJECT_TYPE':
    case 'OBJECT_DOMAIN':
      return rename({ kind: n.renameType === 'OBJECT_TYPE' ? 'type' : 'domain', ...split(strings(n.object?.List?.items)) });
    default: {
      const kind = RELATION_OBJECTS[n.renameType as string];
      return kind && table ? rename({ kind, schema, name: table }) : undefined;
    }
  }
}
