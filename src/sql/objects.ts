import { nodeKind, type Location, type Statement } from './statements.js';

/**
 * A database object as validation knows it. Relations (tables, views,
 * materialized views, sequences, indexes) share one name space per schema,
 * as in pg_class. `schema` is '' when the file left the name unqualified and
 * set no search_path: the catalog resolves it through the connection's.
 */
export type ObjectRef =
  | { type: 'schema'; name: string }
  | { type: 'relation'; kind: RelationKind; schema: string; name: string; /** an index's table */ table?: string }
  | { type: 'column'; schema: string; table: string; name: string }
  | { type: 'function'; schema: string; name: string }
  | { type: 'type'; schema: string; name: string }
  | { type: 'extension'; name: string };

export type RelationKind = 'table' | 'view' | 'materialized view' | 'sequence' | 'index';

/** What one migration does to the objects validation follows; stored with its tracking row. */
export interface Effects {
  creates: ObjectRef[];
  drops: ObjectRef[];
  renames: Array<{ from: ObjectRef; to: ObjectRef }>;
  /** It runs SQL the parser cannot follow (dynamic SQL, DROP in a DO block): what it removes is unknown. */
  opaque: boolean;
  /** A DROP ... CASCADE: views and columns that depended on what it dropped went with it, unnamed. */
  cascade?: boolean;
}

/** A CREATE without IF NOT EXISTS: fails if the object is already there. */
export interface StrictCreate {
  ref: ObjectRef;
  at: Location;
}

/** The schema an object lives in (a schema: itself; an extension: none). */
export function schemaOfObject(ref: ObjectRef): string {
  return ref.type === 'schema' ? ref.name : ref.type === 'extension' ? '' : ref.schema;
}

export function objectKey(ref: ObjectRef): string {
  switch (ref.type) {
    case 'schema':
    case 'extension':
      return `${ref.type}:${ref.name}`;
    case 'column':
      return `column:${ref.schema}.${ref.table}.${ref.name}`;
    default:
      return `${ref.type}:${ref.schema}.${ref.name}`;
  }
}

/** `table workspace.items`, `column workspace.items.title`, for messages. */
export function describeObject(ref: ObjectRef): string {
  switch (ref.type) {
    case 'schema':
      return `schema ${ref.name}`;
    case 'extension':
      return `extension ${ref.name}`;
    case 'column':
      return `column ${qualify(ref.schema, `${ref.table}.${ref.name}`)}`;
    case 'relation':
      return `${ref.kind} ${qualify(ref.schema, ref.name)}`;
    default:
      return `${ref.type} ${qualify(ref.schema, ref.name)}`;
  }
}

const qualify = (schema: string, name: string) => (schema ? `${schema}.${name}` : name);

type Obj = Record<string, any>;
const strings = (list: Obj[] | undefined): string[] => (list ?? []).map((n) => n.String?.sval ?? '');

const RELATION_DROPS: Record<string, RelationKind> = {
  OBJECT_TABLE: 'table',
  OBJECT_VIEW: 'view',
  OBJECT_MATVIEW: 'materialized view',
  OBJECT_SEQUENCE: 'sequence',
  OBJECT_INDEX: 'index',
};

/**
 * Reads what a migration creates, drops and renames, replaying its
 * `SET search_path` for unqualified names. Pure: statements in, effects out.
 * `opaque` comes from the classification (DO blocks and dynamic SQL).
 */
export function effectsOf(statements: readonly Statement[], opaque: boolean): { effects: Effects; strictCreates: StrictCreate[] } {
  const effects: Effects = { creates: [], drops: [], renames: [], opaque };
  const strictCreates: StrictCreate[] = [];
  let path: string[] | undefined;
  const schemaOf = (schema: string | undefined) => schema ?? path?.[0] ?? '';
  const split = (names: string[]) => ({ schema: schemaOf(names.length > 1 ? names[names.length - 2] : undefined), name: names[names.length - 1] ?? '' });
  const create = (statement: Statement, ref: ObjectRef, ifNotExists: boolean) => {
    effects.creates.push(ref);
    if (!ifNotExists) strictCreates.push({ ref, at: statement.at });
  };

  for (const statement of statements) {
    const kind = nodeKind(statement.node);
    const n = (statement.node as Obj)[kind] as Obj;
    switch (kind) {
      case 'VariableSetStmt':
        if (n.name === 'search_path') {
          path = n.kind === 'VAR_SET_VALUE' ? (n.args as Obj[] | undefined)?.map((a) => a.A_Const?.sval?.sval ?? '').filter(Boolean) : undefined;
        }
        break;
      case 'CreateSchemaStmt':
        create(statement, { type: 'schema', name: n.schemaname }, Boolean(n.if_not_exists));
        break;
      case 'CreateStmt': {
        const schema = schemaOf(n.relation?.schemaname);
        const table = n.relation?.relname as string;
        create(statement, { type: 'relation', kind: 'table', schema, name: table }, Boolean(n.if_not_exists));
        for (const element of (n.tableElts as Obj[] | undefined) ?? []) {
          const column = element.ColumnDef?.colname;
          if (column) effects.creates.push({ type: 'column', schema, table, name: column });
        }
        break;
      }
      case 'CreateTableAsStmt': {
        const kind_ = n.objtype === 'OBJECT_MATVIEW' ? 'materialized view' : 'table';
        create(statement, { type: 'relation', kind: kind_, schema: schemaOf(n.into?.rel?.schemaname), name: n.into?.rel?.relname }, Boolean(n.if_not_exists));
        break;
      }
      case 'ViewStmt':
        create(statement, { type: 'relation', kind: 'view', schema: schemaOf(n.view?.schemaname), name: n.view?.relname }, Boolean(n.replace));
        break;
      case 'CreateSeqStmt':
        create(statement, { type: 'relation', kind: 'sequence', schema: schemaOf(n.sequence?.schemaname), name: n.sequence?.relname }, Boolean(n.if_not_exists));
        break;
      case 'IndexStmt':
        // An index without a name gets one from PostgreSQL: nothing to expect by name.
        if (n.idxname) {
          create(statement, { type: 'relation', kind: 'index', schema: schemaOf(n.relation?.schemaname), name: n.idxname, table: n.relation?.relname }, Boolean(n.if_not_exists));
        }
        break;
      case 'CreateFunctionStmt': {
        const { schema, name } = split(strings(n.funcname));
        create(statement, { type: 'function', schema, name }, Boolean(n.replace));
        break;
      }
      case 'CreateEnumStmt':
      case 'CreateRangeStmt': {
        const { schema, name } = split(strings(n.typeName));
        create(statement, { type: 'type', schema, name }, false);
        break;
      }
      case 'CreateDomainStmt': {
        const { schema, name } = split(strings(n.domainname));
        create(statement, { type: 'type', schema, name }, false);
        break;
      }
      case 'CompositeTypeStmt':
        create(statement, { type: 'type', schema: schemaOf(n.typevar?.schemaname), name: n.typevar?.relname }, false);
        break;
      case 'CreateExtensionStmt':
        create(statement, { type: 'extension', name: n.extname }, Boolean(n.if_not_exists));
        break;
      case 'AlterTableStmt': {
        const schema = schemaOf(n.relation?.schemaname);
        const table = n.relation?.relname as string;
        for (const cmd of ((n.cmds as Obj[] | undefined) ?? []).map((c) => c.AlterTableCmd as Obj)) {
          if (cmd?.subtype === 'AT_AddColumn' && cmd.def?.ColumnDef?.colname) {
            create(statement, { type: 'column', schema, table, name: cmd.def.ColumnDef.colname }, Boolean(cmd.missing_ok));
          }
          if (cmd?.subtype === 'AT_DropColumn') effects.drops.push({ type: 'column', schema, table, name: cmd.name });
        }
        break;
      }
      case 'DropStmt':
        effects.drops.push(...droppedBy(n, split));
        if (n.behavior === 'DROP_CASCADE') effects.cascade = true;
        break;
      case 'RenameStmt': {
        const rename = renamedBy(n, schemaOf);
        if (rename) effects.renames.push(rename);
        break;
      }
      default:
        break;
    }
  }
  return { effects, strictCreates };
}

function droppedBy(n: Obj, split: (names: string[]) => { schema: string; name: string }): ObjectRef[] {
  const objects = (n.objects as Obj[] | undefined) ?? [];
  const relationKind = RELATION_DROPS[n.removeType as string];
  if (relationKind) {
    return objects.map((o) => ({ type: 'relation', kind: relationKind, ...split(strings(o.List?.items)) }));
  }
  switch (n.removeType) {
    case 'OBJECT_SCHEMA':
      return objects.map((o) => ({ type: 'schema', name: o.String?.sval ?? '' }));
    case 'OBJECT_EXTENSION':
      return objects.map((o) => ({ type: 'extension', name: o.String?.sval ?? '' }));
    case 'OBJECT_FUNCTION':
    case 'OBJECT_PROCEDURE':
      return objects.map((o) => ({ type: 'function', ...split(strings(o.ObjectWithArgs?.objname)) }));
    case 'OBJECT_TYPE':
    case 'OBJECT_DOMAIN':
      return objects.map((o) => ({ type: 'type', ...split(strings(o.TypeName?.names)) }));
    default:
      return [];
  }
}

function renamedBy(n: Obj, schemaOf: (s: string | undefined) => string): Effects['renames'][number] | undefined {
  if (n.renameType === 'OBJECT_SCHEMA') return { from: { type: 'schema', name: n.subname }, to: { type: 'schema', name: n.newname } };
  const schema = schemaOf(n.relation?.schemaname);
  const table = n.relation?.relname as string | undefined;
  if (!table) return undefined;
  if (n.renameType === 'OBJECT_COLUMN') {
    return { from: { type: 'column', schema, table, name: n.subname }, to: { type: 'column', schema, table, name: n.newname } };
  }
  const kind = RELATION_DROPS[n.renameType as string];
  if (!kind) return undefined;
  return { from: { type: 'relation', kind, schema, name: table }, to: { type: 'relation', kind, schema, name: n.newname } };
}
