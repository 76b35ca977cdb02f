import { constraintName } from './add-constraint.js';
import { plainIdent, quoteIdent } from './quote.js';
import { type Location, nodeKind, type Parser, type Statement } from './statements.js';

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
  /** The statement left the schema out: the server resolves it through the search_path in force. */
  unqualified?: boolean;
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

/** The one table a simple view reads, which an UPDATE or DELETE of the view writes (PostgreSQL's auto-updatable views). */
export interface ViewBase {
  table: ObjectRef;
  /** The view has a WHERE: a write to all of its rows reaches only those of the table it shows. */
  filtered: boolean;
}

export type RuleChange =
  { made: { events: RowEvent[]; actions: Operation[] } } | { fires: boolean } | { renamed: string };

/** A column type as a statement writes it: `varchar(1024)` is `{ name: 'varchar', modifiers: [1024] }`. */
export interface ColumnType {
  name: string;
  /** The schema the statement names the type in (`public.citext`); undefined where it names none. */
  schema?: string | undefined;
  modifiers: number[];
  array: boolean;
  /** `USING` computes the new values (anything but the column's values handed on: usingKeepsValues): no widening, whatever the types. */
  computed?: boolean;
}

/** What a write does to a table's rows, as triggers and rules are fired by it. */
export type RowEvent = 'INSERT' | 'UPDATE' | 'DELETE' | 'TRUNCATE';

/** The events of a trigger's type bits (pg_trigger.tgtype, CreateTrigStmt.events): TRIGGER_TYPE_INSERT, _DELETE, _UPDATE, _TRUNCATE. */
export function triggerEvents(tgtype: number): RowEvent[] {
  const bits: Array<[number, RowEvent]> = [
    [4, 'INSERT'],
    [8, 'DELETE'],
    [16, 'UPDATE'],
    [32, 'TRUNCATE'],
  ];
  return bits.flatMap(([bit, event]) => ((tgtype & bit) !== 0 ? [event] : []));
}

/** What a foreign key does to the referencing rows when the referenced ones are deleted or their key updated. */
export type ForeignKeyAction = 'cascade' | 'set null' | 'set default' | 'none';

/** pg_constraint.confdeltype / confupdtype, and the parser's fk_del_action / fk_upd_action: the same letters. */
export function foreignKeyAction(letter: string | undefined): ForeignKeyAction {
  const actions: Record<string, ForeignKeyAction> = {
    c: 'cascade',
    n: 'set null',
    d: 'set default',
  };
  return actions[letter ?? ''] ?? 'none';
}

/**
 * An argument of a call as the text shows its type: a literal's or a cast's
 * (`"int4"`, `"text"`, as `args` of an ObjectRef), a quoted literal or NULL
 * whose type the server picks from the candidates (`unknown`), or an
 * expression the text cannot type (undefined).
 */
export type CallArgument = { type: string } | { unknown: true } | undefined;

/** What ALTER COLUMN changes of a column's definition, besides its type. */
export type ColumnChange = 'drop-not-null' | 'set-not-null' | 'set-default' | 'drop-default';

/**
 * What a file does, in file order. Unqualified names carry `unqualified` and,
 * for drift, the first schema of the file's own SET search_path (`search-path`
 * operations say when it changes, for what resolves names exactly). `via`
 * names the DO block or function whose body an operation comes from.
 */
export type Operation = (
  | {
      kind: 'create';
      object: ObjectRef;
      ifNotExists: boolean;
      /** A function's body, run where it is called. */ body?: Operation[];
      /** A partition or an inheritance child (PARTITION OF, INHERITS): made again, it takes its parent's parts along. */
      inherits?: boolean;
      /** CREATE TABLE ... (LIKE t INCLUDING ...): it makes indexes, constraints and columns it does not name. */
      copies?: boolean;
      /** CREATE VIEW of one table PostgreSQL may write through: that table, and whether the view's WHERE keeps some of its rows out. */
      view?: ViewBase;
      /** CREATE TRIGGER: the function it runs (argument-less, as PostgreSQL looks it up), on which events, per row or per statement. */
      trigger?: { function: ObjectRef; events: RowEvent[]; row: boolean };
      /** A function or procedure: how many of its last arguments have defaults, and whether the last is VARIADIC (a call may pass fewer, or more). */
      signature?: { defaults: number; variadic: boolean };
      /** CREATE FOREIGN TABLE, IMPORT FOREIGN SCHEMA ... LIMIT TO: a table whose rows live on another server. */
      foreign?: true;
    }
  /** `attribute`: the column is a composite type's (ALTER TYPE ... DROP ATTRIBUTE). */
  | { kind: 'drop'; object: ObjectRef; ifExists: boolean; cascade: boolean; attribute?: true }
  | { kind: 'rename' | 'move'; from: ObjectRef; to: ObjectRef }
  /**
   * Rows changed or added (`wholesale`: every row of the table, as UPDATE without a real WHERE;
   * `keepsExisting`: INSERT ... ON CONFLICT DO NOTHING, which changes no row that is there but
   * fires the table's INSERT triggers). COPY FROM is an INSERT. `only`: UPDATE ONLY, the
   * table's own rows, not those of its inheritance children or partitions.
   */
  | {
      kind: 'write-rows';
      table: ObjectRef;
      wholesale: boolean;
      verb: 'INSERT' | 'UPDATE' | 'MERGE';
      keepsExisting?: boolean;
      only?: boolean;
      /** INSERT ... ON CONFLICT DO UPDATE: a row that is there is updated, and its UPDATE triggers fire. */
      upserts?: boolean;
      /** The columns an UPDATE sets, by name (the DO UPDATE of an upsert, a MERGE's UPDATE): none for an INSERT. */
      sets?: string[];
    }
  /**
   * Rows removed: DELETE, TRUNCATE (`cascade`: the referencing tables too), MERGE ... THEN DELETE.
   * `only`: DELETE FROM ONLY, TRUNCATE ONLY, the table's own rows.
   */
  | {
      kind: 'delete-rows';
      table: ObjectRef;
      wholesale: boolean;
      cascade: boolean;
      verb: 'DELETE' | 'TRUNCATE' | 'MERGE';
      only?: boolean;
    }
  | { kind: 'alter-type'; column: ObjectRef; type: ColumnType }
  /** ALTER COLUMN ... SET / DROP NOT NULL, SET / DROP DEFAULT: the column's definition, no row changed. */
  | { kind: 'alter-column'; column: ObjectRef; change: ColumnChange }
  | { kind: 'drop-owned'; roles: string[] }
  /** DROP DATABASE: another database of the server, with every table in it. */
  | { kind: 'drop-database'; name: string; ifExists: boolean }
  /** ALTER TABLE ... ENABLE / DISABLE TRIGGER: a named one, or every trigger of users (ALL, USER). REPLICA triggers do not fire for a migration. */
  | { kind: 'trigger-state'; table: ObjectRef; trigger: string | undefined; fires: boolean }
  /**
   * A rule of a table as the run changes it: CREATE [OR REPLACE] RULE (`made`: its events and what its
   * actions do), DROP RULE and ALTER TABLE ... DISABLE RULE (`fires` false), ENABLE RULE (`fires` true),
   * ALTER RULE ... RENAME TO (`renamed`).
   */
  | { kind: 'rule'; table: ObjectRef; name: string; change: RuleChange }
  /**
   * A table made or attached as a partition or an inheritance child of another (PARTITION OF, INHERITS, ATTACH
   * PARTITION, INHERIT), or detached from it (`attached` false: DETACH PARTITION, NO INHERIT): whose triggers a
   * write to either fires.
   */
  | { kind: 'inherit'; table: ObjectRef; parent: ObjectRef; partition: boolean; attached: boolean }
  /** A foreign key made (CREATE TABLE, ADD CONSTRAINT): what deleting or updating a referenced row does to the table's rows. */
  | {
      kind: 'foreign-key';
      table: ObjectRef;
      references: ObjectRef;
      name: string;
      onDelete: ForeignKeyAction;
      onUpdate: ForeignKeyAction;
    }
  /**
   * SET search_path, SET LOCAL, RESET, set_config('search_path', ...): undefined is back to the session's.
   * `routine`: a function's own SET search_path, in force for its body wherever it is called. `local`: SET LOCAL
   * or set_config(..., true), which ends with its transaction.
   */
  | { kind: 'search-path'; path: string[] | undefined; routine?: true; local?: true }
  /**
   * ALTER FUNCTION / PROCEDURE / ROUTINE ... SET search_path (`current`: FROM CURRENT, the path in force here)
   * or RESET search_path / RESET ALL (`caller`: its body then reads names through its caller's path).
   */
  | { kind: 'routine-path'; routine: ObjectRef; path: string[] | 'current' | 'caller' }
  /** A function or procedure called, with its arguments as the text types them (overloads are told apart by them). */
  | { kind: 'call'; function: ObjectRef; arguments?: CallArgument[] }
  /** SET or RESET of a setting other than search_path (`SET ROLE`, `SET LOCAL lock_timeout`); `all` for RESET ALL. */
  | { kind: 'setting'; name: string }
  /**
   * What an object carries besides its definition, no row changed: GRANT / REVOKE on a table, COMMENT ON a
   * table or a column, ALTER TABLE ... OWNER TO, ... ROW LEVEL SECURITY. A table made again gets it again.
   */
  | {
      kind: 'annotate';
      object: ObjectRef;
      what: 'privileges' | 'comment' | 'owner' | 'row security';
    }
  /**
   * A type's definition changed in place, no row changed: ALTER TYPE ... ADD VALUE / RENAME VALUE of an enum,
   * ALTER DOMAIN ... SET / DROP DEFAULT, SET / DROP NOT NULL, DROP / VALIDATE CONSTRAINT. A type made again gets it again.
   */
  | { kind: 'redefine'; object: ObjectRef }
  /** IMPORT FOREIGN SCHEMA without LIMIT TO: foreign tables in `schema` that the text does not name. */
  | { kind: 'import-foreign'; schema: string }
  /**
   * What no reading of the text can tell: dynamic SQL. The server-side guard covers it. `elsewhere`: it runs in
   * another session or process (dblink, COPY ... PROGRAM), beyond the migration's transaction and so beyond
   * the measurement too.
   */
  | { kind: 'opaque'; why: string; elsewhere?: true }
) & { at: Location; via?: string };

const RELATIONS: ReadonlySet<RefKind> = new Set([
  'table',
  'view',
  'materialized view',
  'sequence',
  'index',
]);

/** The name space an object lives in: relations share one, functions and procedures share one. */
export function nameSpaceOf(kind: RefKind): string {
  if (RELATIONS.has(kind)) return 'relation';
  if (kind === 'procedure') return 'function';
  if (kind === 'domain') return 'type';
  return kind;
}

/** Two refs that PostgreSQL would call the same object have the same key (unqualified names through `creationSchema`). */
export function refKey(ref: ObjectRef, creationSchema = ''): string {
  const schema =
    ref.kind === 'schema' || ref.kind === 'extension' ? '' : ref.schema || creationSchema;
  const args = nameSpaceOf(ref.kind) === 'function' ? `(${ref.args?.join(',') ?? '*'})` : '';
  // An index is named in its schema; its table is information, not identity.
  const table =
    ref.kind === 'column' ||
    ref.kind === 'constraint' ||
    ref.kind === 'trigger' ||
    ref.kind === 'policy'
      ? (ref.table ?? '')
      : '';
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
const strings = (list: Obj[] | undefined): string[] =>
  (list ?? []).map((n) => n.String?.sval ?? '');

/**
 * `{ only: true }` where a statement names its table with ONLY: its own rows alone. The parser's
 * RangeVar says so by `inh`, which its JSON leaves out when false.
 */
const onlyOf = (range: Obj | undefined): { only?: true } =>
  range !== undefined && range.inh !== true ? { only: true } : {};

/** dblink's functions that run SQL they are given (dblink_connect and dblink_fetch run none of their own). */
const RUN_SQL_ELSEWHERE: ReadonlySet<string> = new Set([
  'dblink',
  'dblink_exec',
  'dblink_open',
  'dblink_send_query',
]);

/** The columns a SET list names (`SET a = 1, (b, c) = ...`, `SET f.sub = 1` sets f): each ResTarget's name. */
const columnsSet = (targets: Obj[] | undefined): string[] => [
  ...new Set(
    (targets ?? []).flatMap((t) =>
      typeof t.ResTarget?.name === 'string' ? [t.ResTarget.name as string] : [],
    ),
  ),
];

/** `"int4"[]`: a type name as to_regprocedure reads it; undefined for `%TYPE`. */
function typeText(type: Obj | undefined): string | undefined {
  if (!type || type.pct_type) return undefined;
  // `int` and `integer` both parse to pg_catalog.int4; pg_catalog is searched first anyway.
  const names = strings(type.names).filter(
    (n, i, all) => !(i === 0 && n === 'pg_catalog' && all.length > 1),
  );
  return (
    names.map((n) => `"${n.replace(/"/g, '""')}"`).join('.') +
    '[]'.repeat(((type.arrayBounds as Obj[] | undefined) ?? []).length)
  );
}

function argsOf(types: Array<Obj | undefined>): string[] | undefined {
  const texts = types.map(typeText);
  return texts.some((t) => t === undefined) ? undefined : (texts as string[]);
}

/**
 * A function or procedure an ALTER or DROP names (an ObjectWithArgs): its argument types, or none
 * where the statement gives no parentheses (`ALTER FUNCTION f RENAME ...`: whichever one the name has).
 */
function routineRef(
  kind: 'function' | 'procedure',
  owa: Obj | undefined,
  split: (names: string[]) => Place,
): ObjectRef {
  return {
    kind,
    ...split(strings(owa?.objname)),
    args: owa?.args_unspecified
      ? undefined
      : argsOf(((owa?.objargs as Obj[] | undefined) ?? []).map((a) => a.TypeName)),
  };
}

const INPUT_MODES = new Set([
  'FUNC_PARAM_DEFAULT',
  'FUNC_PARAM_IN',
  'FUNC_PARAM_INOUT',
  'FUNC_PARAM_VARIADIC',
  undefined,
]);

/** ALTER TABLE ... ENABLE / DISABLE TRIGGER: whether the trigger fires for a migration's session afterwards. */
const TRIGGER_STATES: Record<string, { named: boolean; fires: boolean }> = {
  AT_EnableTrig: { named: true, fires: true },
  AT_EnableAlwaysTrig: { named: true, fires: true },
  AT_EnableReplicaTrig: { named: true, fires: false },
  AT_DisableTrig: { named: true, fires: false },
  AT_EnableTrigAll: { named: false, fires: true },
  AT_EnableTrigUser: { named: false, fires: true },
  AT_DisableTrigAll: { named: false, fires: false },
  AT_DisableTrigUser: { named: false, fires: false },
};

/** ALTER TABLE ... ATTACH / DETACH PARTITION, INHERIT / NO INHERIT. */
const TREE_CHANGES: Record<string, { partition: boolean; attached: boolean }> = {
  AT_AttachPartition: { partition: true, attached: true },
  AT_DetachPartition: { partition: true, attached: false },
  AT_AddInherit: { partition: false, attached: true },
  AT_DropInherit: { partition: false, attached: false },
};

/** ALTER TABLE ... ENABLE / DISABLE RULE: whether the rule fires for a migration's session afterwards (REPLICA rules do not). */
const RULE_STATES: Record<string, boolean> = {
  AT_EnableRule: true,
  AT_EnableAlwaysRule: true,
  AT_EnableReplicaRule: false,
  AT_DisableRule: false,
};

/** RuleStmt.event: the write a rule fires on (a SELECT rule makes a view, and writes nothing). */
const RULE_EVENTS: Record<string, RowEvent[]> = {
  CMD_INSERT: ['INSERT'],
  CMD_UPDATE: ['UPDATE'],
  CMD_DELETE: ['DELETE'],
};

const ROUTINE_OBJECTS = new Set(['OBJECT_FUNCTION', 'OBJECT_PROCEDURE', 'OBJECT_ROUTINE']);

const TABLE_PART_DROPS: Record<string, RefKind> = {
  AT_DropColumn: 'column',
  AT_DropConstraint: 'constraint',
};

/** ALTER TABLE subcommands that change what a table carries, not its rows or definition. */
const TABLE_ANNOTATIONS: Record<string, 'owner' | 'row security'> = {
  AT_ChangeOwner: 'owner',
  AT_EnableRowSecurity: 'row security',
  AT_DisableRowSecurity: 'row security',
  AT_ForceRowSecurity: 'row security',
  AT_NoForceRowSecurity: 'row security',
};

/** SET DEFAULT carries the expression; DROP DEFAULT is the same subtype without one. */
function columnChangeOf(cmd: Obj): ColumnChange | undefined {
  switch (cmd.subtype) {
    case 'AT_DropNotNull':
      return 'drop-not-null';
    case 'AT_SetNotNull':
      return 'set-not-null';
    case 'AT_ColumnDefault':
      return cmd.def ? 'set-default' : 'drop-default';
    default:
      return undefined;
  }
}

const RELATION_OBJECTS: Record<string, RefKind> = {
  OBJECT_TABLE: 'table',
  OBJECT_FOREIGN_TABLE: 'table',
  OBJECT_VIEW: 'view',
  OBJECT_MATVIEW: 'materialized view',
  OBJECT_SEQUENCE: 'sequence',
  OBJECT_INDEX: 'index',
};

type Place = { schema: string; name: string; unqualified?: boolean };

/** Statements of a body, located at the statement that holds them. */
interface Nested {
  statements: Statement[];
  via: string;
}

/**
 * Reads what a file does, statement by statement, in order. Pure. With the
 * parser, the SQL of DO blocks (through PostgreSQL's own PL/pgSQL parser)
 * and of functions the file creates counts as written: a DO block's where it
 * stands, a function's where it is called. Dynamic SQL (EXECUTE) is
 * `opaque`: what it made is read from the catalog when the migration runs,
 * and the server-side guard judges what it destroyed.
 */
export function operationsOf(statements: readonly Statement[], parser?: BodyParser): Operation[] {
  return operationsReader(parser)(statements);
}

/** operationsOf for a file read in pieces: each call reads the next statements, with what earlier ones set (the search_path). */
export function operationsReader(
  parser?: BodyParser,
  options: { outsideTransaction?: boolean } = {},
): ((statements: readonly Statement[]) => Operation[]) & {
  /** Whether a SET LOCAL (or a local set_config) stood outside the file's own blocks: what it does depends on how the file runs. */
  dependsOnTransaction: () => boolean;
} {
  const state: WalkState = { path: undefined, outside: options.outsideTransaction === true };
  const read = (statements: readonly Statement[]) => {
    const ops: Operation[] = [];
    for (const statement of statements) walkStatement(statement, ops, state, parser, undefined);
    return ops;
  };
  return Object.assign(read, { dependsOnTransaction: () => state.localOutsideBlock === true });
}

/** What reading bodies needs of the parser: PL/pgSQL for DO blocks and functions, SQL for their statements. */
export type BodyParser = Pick<Parser, 'parseSync'> & { parsePlPgSQLSync(sql: string): unknown };

interface WalkState {
  /** The search_path in force (undefined: the connection's own). */
  path: string[] | undefined;
  /**
   * The search_path a plain SET left, which outlives the transaction (a SET LOCAL's, or set_config's with
   * is_local, ends at its COMMIT or ROLLBACK), and that at the file's own BEGIN, to which ROLLBACK returns.
   */
  session?: string[] | undefined;
  begun?: string[] | undefined;
  /** The file's prepared statements so far (PREPARE), by name: what each runs when executed. */
  prepared?: Map<string, { node: Statement['node']; line: number }>;
  /** The file runs outside schemata's transaction (sql/classify.ts runsInTransaction): each statement outside its own blocks commits alone. */
  outside?: boolean;
  /** Inside one of the file's own BEGIN ... COMMIT blocks. */
  inBlock?: boolean;
  /** A SET LOCAL or local set_config stood outside the file's own blocks. */
  localOutsideBlock?: boolean;
}

function walkStatement(
  statement: Statement,
  ops: Operation[],
  state: WalkState,
  parser: BodyParser | undefined,
  via: string | undefined,
): void {
  const at = statement.at;
  // The added keys first: on Node 20, a literal that spreads an object and then adds a key
  // makes a hidden class of its own for every object (a statement of a seed file each).
  const push = (op: DistributiveOmit<Operation, 'at' | 'via'>) =>
    ops.push(via ? { at, via, ...op } : { at, ...op });
  // For drift, the first schema named; data protection resolves the whole path against the catalog.
  const schemaOf = (schema: string | undefined): Place['schema'] =>
    schema ?? state.path?.find((s) => s !== '$user') ?? '';
  const place = (schema: string | undefined, name: string): Place =>
    schema === undefined
      ? { schema: schemaOf(undefined), name, unqualified: true }
      : { schema, name };
  const split = (names: string[]) =>
    place(names.length > 1 ? names[names.length - 2] : undefined, names[names.length - 1] ?? '');
  const relation = (r: Obj | undefined) =>
    place(r?.schemaname as string | undefined, (r?.relname as string | undefined) ?? '');
  const partOf = (table: Place, kind: RefKind, name: string): ObjectRef => ({
    kind,
    schema: table.schema,
    table: table.name,
    name,
    ...(table.unqualified ? { unqualified: true } : {}),
  });
  // Inside a body, what a statement creates may be guarded by a condition: never drift.
  const create = (
    object: ObjectRef,
    ifNotExists: boolean,
    body?: Operation[],
    inherits?: boolean,
    trigger?: Extract<Operation, { kind: 'create' }>['trigger'],
    signature?: Extract<Operation, { kind: 'create' }>['signature'],
    copies?: boolean,
  ) =>
    push({
      kind: 'create',
      object,
      ifNotExists: ifNotExists || via !== undefined,
      ...(body ? { body } : {}),
      ...(inherits ? { inherits } : {}),
      ...(trigger ? { trigger } : {}),
      ...(signature ? { signature } : {}),
      ...(copies ? { copies } : {}),
    });
  // A foreign key PostgreSQL names itself is `<table>_<columns>_fkey`: DROP CONSTRAINT names it so.
  const foreignKey = (table: Place, constraint: Obj, columns: string[]) => {
    if (constraint.contype !== 'CONSTR_FOREIGN') return;
    push({
      kind: 'foreign-key',
      table: { kind: 'table', ...table },
      references: { kind: 'table', ...relation(constraint.pktable as Obj | undefined) },
      name: (constraint.conname as string | undefined) ?? `${table.name}_${columns.join('_')}_fkey`,
      onDelete: foreignKeyAction(constraint.fk_del_action as string | undefined),
      onUpdate: foreignKeyAction(constraint.fk_upd_action as string | undefined),
    });
  };
  const foreignKeysOf = (table: Place, element: Obj | undefined) => {
    if (element?.Constraint) {
      const constraint = element.Constraint as Obj;
      foreignKey(table, constraint, strings(constraint.fk_attrs as Obj[] | undefined));
    }
    const column = element?.ColumnDef as Obj | undefined;
    for (const c of (column?.constraints as Obj[] | undefined) ?? [])
      if (c.Constraint) foreignKey(table, c.Constraint as Obj, [column?.colname as string]);
  };
  const kind = nodeKind(statement.node);
  const n = (statement.node as Obj)[kind] as Obj;

  // What a view, rule, policy or function holds runs later, not here (a function's body where it is called).
  if (!DEFINES_LATER.has(kind)) rowsAndCalls(statement.node, push, relation, split, state, parser);
  switch (kind) {
    case 'VariableSetStmt':
      if (n.name === 'search_path') {
        setPath(
          state,
          n.kind === 'VAR_SET_VALUE' ? pathOf(n.args as Obj[] | undefined) : undefined,
          n.is_local === true,
        );
        push({
          kind: 'search-path',
          path: state.path,
          ...(n.is_local === true ? { local: true } : {}),
        });
      } else if (n.kind !== 'VAR_SET_MULTI')
        // SET TRANSACTION / SESSION CHARACTERISTICS / TRANSACTION SNAPSHOT (VAR_SET_MULTI) set the transaction's
        // mode, not a session setting: run before a part, after schemata's own statements, it fails.
        push({ kind: 'setting', name: typeof n.name === 'string' ? n.name : 'all' });
      break;
    case 'GrantStmt':
      if (n.targtype === 'ACL_TARGET_OBJECT' && n.objtype === 'OBJECT_TABLE')
        for (const r of (n.objects as Obj[] | undefined) ?? [])
          push({
            kind: 'annotate',
            object: { kind: 'table', ...relation(r.RangeVar) },
            what: 'privileges',
          });
      break;
    case 'CommentStmt': {
      const names = strings(n.object?.List?.items);
      if (n.objtype === 'OBJECT_TABLE')
        push({ kind: 'annotate', object: { kind: 'table', ...split(names) }, what: 'comment' });
      if (n.objtype === 'OBJECT_COLUMN' && names.length > 1)
        push({
          kind: 'annotate',
          object: partOf(split(names.slice(0, -1)), 'column', names[names.length - 1] ?? ''),
          what: 'comment',
        });
      break;
    }
    case 'CreateSchemaStmt':
      create({ kind: 'schema', schema: '', name: n.schemaname }, Boolean(n.if_not_exists));
      break;
    // A temporary relation lives in the session's own schema: it never clashes with, and is never, a tracked object.
    case 'CreateStmt': {
      if (isTemporary(n.relation)) break;
      const table = relation(n.relation);
      create(
        { kind: 'table', ...table },
        Boolean(n.if_not_exists),
        undefined,
        ((n.inhRelations as Obj[] | undefined) ?? []).length > 0,
        undefined,
        undefined,
        ((n.tableElts as Obj[] | undefined) ?? []).some((e) => e.TableLikeClause !== undefined),
      );
      for (const parent of (n.inhRelations as Obj[] | undefined) ?? [])
        push({
          kind: 'inherit',
          table: { kind: 'table', ...table },
          parent: { kind: 'table', ...relation(parent.RangeVar) },
          partition: n.partbound !== undefined,
          attached: true,
        });
      for (const element of (n.tableElts as Obj[] | undefined) ?? []) {
        if (element.ColumnDef?.colname)
          create(partOf(table, 'column', element.ColumnDef.colname), true);
        if (element.Constraint?.conname)
          create(partOf(table, 'constraint', element.Constraint.conname), true);
        foreignKeysOf(table, element);
      }
      break;
    }
    case 'CreateForeignTableStmt': {
      const table = relation((n.base as Obj).relation);
      push({
        kind: 'create',
        object: { kind: 'table', ...table },
        ifNotExists: Boolean((n.base as Obj).if_not_exists) || via !== undefined,
        foreign: true,
      });
      for (const element of ((n.base as Obj).tableElts as Obj[] | undefined) ?? [])
        if (element.ColumnDef?.colname)
          create(partOf(table, 'column', element.ColumnDef.colname), true);
      break;
    }
    // Only the tables it names are known (LIMIT TO); EXCEPT, or none, imports whatever the other server has.
    case 'ImportForeignSchemaStmt':
      if (n.list_type !== 'FDW_IMPORT_SCHEMA_LIMIT_TO')
        push({ kind: 'import-foreign', schema: n.local_schema as string });
      else
        for (const range of (n.table_list as Obj[] | undefined) ?? [])
          push({
            kind: 'create',
            object: {
              kind: 'table',
              schema: n.local_schema as string,
              name: range.RangeVar.relname as string,
            },
            ifNotExists: via !== undefined,
            foreign: true,
          });
      break;
    case 'CreateTableAsStmt':
      if (isTemporary(n.into?.rel)) break;
      create(
        {
          kind: n.objtype === 'OBJECT_MATVIEW' ? 'materialized view' : 'table',
          ...relation(n.into?.rel),
        },
        Boolean(n.if_not_exists),
      );
      break;
    case 'ViewStmt': {
      if (isTemporary(n.view)) break;
      const base = viewBaseOfQuery(n.query as Obj | undefined, relation);
      push({
        kind: 'create',
        object: { kind: 'view', ...relation(n.view) },
        ifNotExists: Boolean(n.replace) || via !== undefined,
        ...(base ? { view: base } : {}),
      });
      break;
    }
    case 'CreateSeqStmt':
      if (isTemporary(n.sequence)) break;
      create({ kind: 'sequence', ...relation(n.sequence) }, Boolean(n.if_not_exists));
      break;
    case 'IndexStmt': {
      const table = relation(n.relation);
      // An index without a name gets one from PostgreSQL (`t_a_b_idx`), which never collides: never drift,
      // but the statement that makes it, for --repair to run again with its table (a guess PostgreSQL
      // numbered, `t_a_idx1`, makes nothing).
      const name = (n.idxname as string | undefined) ?? chosenIndexName(table.name, n);
      create(
        {
          kind: 'index',
          ...place(table.unqualified ? undefined : table.schema, name),
          table: table.name,
        },
        Boolean(n.if_not_exists) || !n.idxname,
      );
      break;
    }
    case 'CreateFunctionStmt': {
      const params = ((n.parameters as Obj[] | undefined) ?? [])
        .map((p) => p.FunctionParameter as Obj)
        .filter((p) => INPUT_MODES.has(p.mode));
      const object: ObjectRef = {
        kind: n.is_procedure ? 'procedure' : 'function',
        ...split(strings(n.funcname)),
        args: argsOf(params.map((p) => p.argType)),
      };
      const body = parser ? functionBody(statement, n, parser, state) : undefined;
      create(object, Boolean(n.replace), body, undefined, undefined, {
        defaults: params.filter((p) => p.defexpr).length,
        variadic: params.some((p) => p.mode === 'FUNC_PARAM_VARIADIC'),
      });
      break;
    }
    // The file's own transactions: a SET LOCAL ends with them, and ROLLBACK undoes a SET too.
    case 'TransactionStmt': {
      const before = state.path;
      if (n.kind === 'TRANS_STMT_BEGIN' || n.kind === 'TRANS_STMT_START') {
        state.begun = state.session;
        state.inBlock = true;
      } else if (n.kind === 'TRANS_STMT_COMMIT') {
        state.path = state.session;
        // COMMIT AND CHAIN opens the next transaction at once.
        state.inBlock = n.chain === true;
      } else if (n.kind === 'TRANS_STMT_ROLLBACK') {
        state.session = state.begun;
        state.path = state.session;
        state.inBlock = n.chain === true;
      }
      if (state.path !== before) push({ kind: 'search-path', path: state.path });
      break;
    }
    case 'PrepareStmt':
      (state.prepared ??= new Map()).set(String(n.name), {
        node: n.query as Statement['node'],
        line: at.line,
      });
      break;
    case 'ExecuteStmt': {
      const prepared = state.prepared?.get(String(n.name));
      if (prepared)
        walkStatement(
          { ...statement, node: prepared.node },
          ops,
          state,
          parser,
          via ?? `the statement prepared as ${String(n.name)} at line ${prepared.line}`,
        );
      break;
    }
    case 'DeallocateStmt':
      if (n.name === undefined) state.prepared?.clear();
      else state.prepared?.delete(String(n.name));
      break;
    case 'ExplainStmt':
      if (explainRuns(n))
        walkStatement(
          { ...statement, node: n.query as Statement['node'] },
          ops,
          state,
          parser,
          via,
        );
      break;
    case 'DoStmt': {
      if (!parser) break;
      const nested = plpgsqlStatements(statement, parser, `the DO block at line ${at.line}`);
      if ('opaque' in nested) push({ kind: 'opaque', why: nested.opaque });
      else
        for (const inner of nested.statements) walkStatement(inner, ops, state, parser, nested.via);
      for (const why of 'opaque' in nested ? [] : nested.dynamic) push({ kind: 'opaque', why });
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
    case 'AlterEnumStmt':
      push({ kind: 'redefine', object: { kind: 'type', ...split(strings(n.typeName)) } });
      break;
    case 'AlterDomainStmt': {
      const domain = split(strings(n.typeName));
      // ADD CONSTRAINT c makes a constraint of the domain (an unnamed one's name, `<domain>_check` or
      // `<domain>_check1`, depends on what the domain has: not guessed).
      const named =
        n.subtype === 'C' ? (n.def?.Constraint?.conname as string | undefined) : undefined;
      if (named) create(partOf(domain, 'constraint', named), false);
      else push({ kind: 'redefine', object: { kind: 'domain', ...domain } });
      break;
    }
    case 'CreateExtensionStmt':
      create({ kind: 'extension', schema: '', name: n.extname }, Boolean(n.if_not_exists));
      break;
    case 'RuleStmt': {
      // What its actions do runs when a write to the table fires it, as a trigger's function does; their
      // names resolve as they did where the rule was made (PostgreSQL binds them then).
      const actions: Operation[] = [
        {
          kind: 'search-path',
          path: state.path,
          routine: true,
          at,
          via: `rule ${n.rulename as string}`,
        },
      ];
      for (const action of (n.actions as Obj[] | undefined) ?? [])
        walkStatement(
          { ...statement, node: action as Statement['node'] },
          actions,
          { path: state.path, session: state.path },
          parser,
          `rule ${n.rulename as string}`,
        );
      push({
        kind: 'rule',
        table: { kind: 'table', ...relation(n.relation) },
        name: String(n.rulename),
        change: { made: { events: RULE_EVENTS[n.event as string] ?? [], actions } },
      });
      break;
    }
    case 'CreateTrigStmt':
      create(
        partOf(relation(n.relation), 'trigger', n.trigname),
        Boolean(n.replace),
        undefined,
        undefined,
        {
          // Its function is looked up without arguments (those of the trigger are TG_ARGV).
          function: { kind: 'function', ...split(strings(n.funcname)), args: [] },
          events: triggerEvents(Number(n.events ?? 0)),
          row: Boolean(n.row),
        },
      );
      break;
    case 'CreatePolicyStmt':
      create(partOf(relation(n.table), 'policy', n.policy_name), false);
      break;
    case 'AlterTableStmt': {
      const table = relation(n.relation);
      for (const cmd of ((n.cmds as Obj[] | undefined) ?? []).map(
        (c) => c.AlterTableCmd as Obj | undefined,
      )) {
        if (!cmd) continue;
        if (cmd.subtype === 'AT_AddColumn' && cmd.def?.ColumnDef?.colname)
          create(partOf(table, 'column', cmd.def.ColumnDef.colname), Boolean(cmd.missing_ok));
        if (cmd.subtype === 'AT_AddConstraint' && cmd.def?.Constraint?.conname)
          create(partOf(table, 'constraint', cmd.def.Constraint.conname), false);
        if (cmd.subtype === 'AT_AddConstraint' || cmd.subtype === 'AT_AddColumn')
          foreignKeysOf(table, cmd.def as Obj | undefined);
        const tree = TREE_CHANGES[cmd.subtype as string];
        const other = (cmd.def?.PartitionCmd?.name ?? cmd.def?.RangeVar) as Obj | undefined;
        if (tree && other)
          push({
            kind: 'inherit',
            // ATTACH / DETACH PARTITION name the partition; INHERIT / NO INHERIT the parent.
            table: { kind: 'table', ...(tree.partition ? relation(other) : table) },
            parent: { kind: 'table', ...(tree.partition ? table : relation(other)) },
            partition: tree.partition,
            attached: tree.attached,
          });
        const ruleFires = RULE_STATES[cmd.subtype as string];
        if (ruleFires !== undefined)
          push({
            kind: 'rule',
            table: { kind: 'table', ...table },
            name: String(cmd.name),
            change: { fires: ruleFires },
          });
        const triggerState = TRIGGER_STATES[cmd.subtype as string];
        if (triggerState)
          push({
            kind: 'trigger-state',
            table: { kind: 'table', ...table },
            trigger: triggerState.named ? (cmd.name as string) : undefined,
            fires: triggerState.fires,
          });
        // ADD CONSTRAINT c PRIMARY KEY (or UNIQUE) USING INDEX i: PostgreSQL renames the index i to c.
        if (
          cmd.subtype === 'AT_AddConstraint' &&
          cmd.def?.Constraint?.conname &&
          cmd.def.Constraint.indexname &&
          cmd.def.Constraint.indexname !== cmd.def.Constraint.conname
        )
          push({
            kind: 'rename',
            from: partOf(table, 'index', cmd.def.Constraint.indexname),
            to: partOf(table, 'index', cmd.def.Constraint.conname),
          });
        if (cmd.subtype === 'AT_AlterColumnType' && cmd.def?.ColumnDef?.typeName) {
          const using = cmd.def.ColumnDef.raw_default as Obj | undefined;
          const type = columnTypeOf(cmd.def.ColumnDef.typeName);
          push({
            kind: 'alter-type',
            column: partOf(table, 'column', cmd.name),
            type:
              using && !usingKeepsValues(using, cmd.name as string, type)
                ? { ...type, computed: true }
                : type,
          });
        }
        const change = columnChangeOf(cmd);
        if (change && typeof cmd.name === 'string')
          push({ kind: 'alter-column', column: partOf(table, 'column', cmd.name), change });
        const carried = TABLE_ANNOTATIONS[cmd.subtype as string];
        if (carried) push({ kind: 'annotate', object: { kind: 'table', ...table }, what: carried });
        const dropped = TABLE_PART_DROPS[cmd.subtype as string];
        if (dropped)
          push({
            kind: 'drop',
            object: partOf(table, dropped, cmd.name),
            ifExists: Boolean(cmd.missing_ok),
            cascade: cmd.behavior === 'DROP_CASCADE',
            ...(n.objtype === 'OBJECT_TYPE' ? { attribute: true as const } : {}),
          });
      }
      break;
    }
    case 'DropStmt':
      // DROP RULE r ON t: the rule no longer fires (a rule is no object the expected state follows).
      if (n.removeType === 'OBJECT_RULE') {
        for (const o of (n.objects as Obj[] | undefined) ?? []) {
          const names = strings(o.List?.items);
          push({
            kind: 'rule',
            table: { kind: 'table', ...split(names.slice(0, -1)) },
            name: names.at(-1) ?? '',
            change: { fires: false },
          });
        }
        break;
      }
      for (const object of droppedBy(n, split))
        push({
          kind: 'drop',
          object,
          ifExists: Boolean(n.missing_ok),
          cascade: n.behavior === 'DROP_CASCADE',
        });
      break;
    case 'DropOwnedStmt':
      push({
        kind: 'drop-owned',
        roles: ((n.roles as Obj[] | undefined) ?? []).map((r) => roleName(r.RoleSpec)),
      });
      break;
    case 'DropdbStmt':
      push({ kind: 'drop-database', name: String(n.dbname), ifExists: Boolean(n.missing_ok) });
      break;
    case 'TruncateStmt':
      for (const r of (n.relations as Obj[] | undefined) ?? []) {
        push({
          kind: 'delete-rows',
          table: { kind: 'table', ...relation(r.RangeVar) },
          wholesale: true,
          cascade: n.behavior === 'DROP_CASCADE',
          verb: 'TRUNCATE',
          ...onlyOf(r.RangeVar),
        });
      }
      break;
    case 'RenameStmt': {
      if (n.renameType === 'OBJECT_RULE') {
        push({
          kind: 'rule',
          table: { kind: 'table', ...relation(n.relation) },
          name: String(n.subname),
          change: { renamed: String(n.newname) },
        });
        break;
      }
      const rename = renamedBy(n, relation, split, partOf);
      if (rename) push({ kind: 'rename', ...rename });
      break;
    }
    case 'AlterFunctionStmt': {
      const set = ((n.actions as Obj[] | undefined) ?? [])
        .map((a) => a.DefElem as Obj | undefined)
        .filter((d) => d?.defname === 'set')
        .map((d) => d!.arg?.VariableSetStmt as Obj | undefined)
        .filter((v) => v?.name === 'search_path' || v?.kind === 'VAR_RESET_ALL')
        .at(-1);
      if (!set) break;
      push({
        kind: 'routine-path',
        routine: routineRef(
          n.objtype === 'OBJECT_PROCEDURE' ? 'procedure' : 'function',
          n.func as Obj | undefined,
          split,
        ),
        path:
          set.kind === 'VAR_SET_VALUE'
            ? pathOf(set.args as Obj[] | undefined)
            : set.kind === 'VAR_SET_CURRENT'
              ? 'current'
              : 'caller',
      });
      break;
    }
    case 'AlterObjectSchemaStmt': {
      const refKind = RELATION_OBJECTS[n.objectType as string];
      const from: ObjectRef | undefined = refKind
        ? { kind: refKind, ...relation(n.relation) }
        : ROUTINE_OBJECTS.has(n.objectType as string)
          ? routineRef(
              n.objectType === 'OBJECT_PROCEDURE' ? 'procedure' : 'function',
              n.object?.ObjectWithArgs as Obj | undefined,
              split,
            )
          : n.objectType === 'OBJECT_TYPE' || n.objectType === 'OBJECT_DOMAIN'
            ? {
                kind: n.objectType === 'OBJECT_TYPE' ? 'type' : 'domain',
                ...split(strings(n.object?.List?.items)),
              }
            : undefined;
      if (from) {
        const { unqualified: _, ...to } = from;
        push({ kind: 'move', from, to: { ...to, schema: n.newschema } });
      }
      break;
    }
    default:
      break;
  }
}

/** EXPLAIN ANALYZE runs its statement; EXPLAIN alone plans it. Pure. */
function explainRuns(explain: Obj): boolean {
  const analyze = ((explain.options as Obj[] | undefined) ?? [])
    .map((o) => o.DefElem as Obj | undefined)
    .find((d) => d?.defname === 'analyze');
  if (!analyze) return false;
  // `ANALYZE`, `ANALYZE true`, `ANALYZE on`, `ANALYZE 1` run it; the parser leaves out a zero or a false.
  const arg = analyze.arg as Obj | undefined;
  const value = !arg
    ? 'true'
    : arg.Integer
      ? String(arg.Integer.ival ?? 0)
      : arg.Boolean
        ? String(arg.Boolean.boolval ?? false)
        : String(arg.String?.sval ?? '').toLowerCase();
  return !['false', 'off', '0', 'no'].includes(value);
}

/**
 * The name PostgreSQL gives an unnamed index (ChooseIndexName): the table's,
 * its columns' (a function call's function, another expression's `expr`, a repeated one numbered) and `idx`,
 * cut to 63 bytes as constraint names are. Pure.
 */
function chosenIndexName(table: string, index: Obj): string {
  const used: string[] = [];
  const elements = [
    ...((index.indexParams as Obj[] | undefined) ?? []),
    ...((index.indexIncludingParams as Obj[] | undefined) ?? []),
  ];
  for (const element of elements) {
    const elem = element.IndexElem as Obj | undefined;
    // An expression that is a function call is named after the function (FigureIndexColname).
    const called = strings(elem?.expr?.FuncCall?.funcname as Obj[] | undefined).pop();
    const base = (elem?.name as string | undefined) ?? called ?? 'expr';
    let name = base;
    for (let i = 1; used.includes(name); i++) name = `${base}${String(i)}`;
    used.push(name);
  }
  return constraintName(table, used.join('_'), 'idx');
}

/**
 * The table a top-level INSERT (with ON CONFLICT DO NOTHING too, which no
 * operation shows) adds its rows to: --repair runs it again into a table it
 * makes again, whose rows went with it. Pure.
 */
export function insertTargetOf(node: Statement['node']): ObjectRef | undefined {
  if (nodeKind(node) !== 'InsertStmt') return undefined;
  const insert = (node as Obj).InsertStmt as Obj;
  if (insert.withClause || insert.returningList) return undefined;
  const r = insert.relation as Obj | undefined;
  if (!r?.relname) return undefined;
  return r.schemaname
    ? { kind: 'table', schema: r.schemaname as string, name: r.relname as string }
    : { kind: 'table', schema: '', name: r.relname as string, unqualified: true };
}

const isTemporary = (rangeVar: Obj | undefined): boolean => rangeVar?.relpersistence === 't';

// A prepared statement's runs where it is executed (with the search_path then: PostgreSQL parses it again when
// the path changed), an EXPLAIN's only with ANALYZE.
const DEFINES_LATER = new Set([
  'PrepareStmt',
  'ExplainStmt',
  'ViewStmt',
  'RuleStmt',
  'CreatePolicyStmt',
  'CreateFunctionStmt',
  'AlterPolicyStmt',
]);

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A search_path set: for the rest of the transaction only (`local`), or for the session. */
function setPath(state: WalkState, path: string[] | undefined, local: boolean): void {
  if (local && !state.inBlock) {
    state.localOutsideBlock = true;
    // Outside schemata's transaction and the file's blocks, the statement's own transaction ends with it, and the
    // setting with that (PostgreSQL warns of a SET LOCAL there): the next statement reads names as before.
    if (state.outside) return;
  }
  state.path = path;
  if (!local) state.session = path;
}

const pathOf = (args: Obj[] | undefined): string[] =>
  (args ?? []).map((a) => a.A_Const?.sval?.sval ?? '').filter(Boolean);

function roleName(spec: Obj | undefined): string {
  switch (spec?.roletype) {
    case 'ROLESPEC_CURRENT_USER':
    case 'ROLESPEC_CURRENT_ROLE':
      return 'CURRENT_USER';
    case 'ROLESPEC_SESSION_USER':
      return 'SESSION_USER';
    default:
      return (spec?.rolename as string | undefined) ?? '';
  }
}

/**
 * Whether the USING of a type change hands the column's values on as they
 * are, so that the change is judged on its types alone: the column itself,
 * cast on the way to unbounded text (`role::text::"Role_new"`, as Prisma
 * changes an enum), and at last to the new type itself. Any other cast can
 * cut a value on its own (`::varchar(1)`, `::numeric(4,0)`, `::boolean`),
 * whatever the types at either end: such a USING computes. Pure.
 */
export function usingKeepsValues(using: Obj, column: string, to: ColumnType): boolean {
  const casts: ColumnType[] = [];
  let expression = using;
  while (expression.TypeCast) {
    casts.unshift(columnTypeOf(expression.TypeCast.typeName as Obj));
    expression = expression.TypeCast.arg as Obj;
  }
  const fields = (expression.ColumnRef?.fields as Obj[] | undefined)?.map(
    (f) => f.String?.sval as string | undefined,
  );
  if (fields?.[fields.length - 1] !== column) return false;
  const last = casts[casts.length - 1];
  const through = last && sameType(last, to) ? casts.slice(0, -1) : casts;
  return through.every(
    (t) => (t.name === 'text' || t.name === 'varchar') && t.modifiers.length === 0 && !t.array,
  );
}

/** The same type, as two statements write it (a schema written on one side only is taken for the same). */
function sameType(a: ColumnType, b: ColumnType): boolean {
  return (
    a.name === b.name &&
    a.array === b.array &&
    a.modifiers.join() === b.modifiers.join() &&
    (a.schema === undefined || b.schema === undefined || a.schema === b.schema)
  );
}

export function columnTypeOf(type: Obj): ColumnType {
  const names = strings(type.names);
  return {
    name: names[names.length - 1] ?? '',
    schema: names.length > 1 ? names[names.length - 2] : undefined,
    modifiers: ((type.typmods as Obj[] | undefined) ?? []).map((m) =>
      Number(m.A_Const?.ival?.ival ?? 0),
    ),
    array: ((type.arrayBounds as Obj[] | undefined) ?? []).length > 0,
  };
}

/** `WHERE true`, `WHERE 1 = 1`, `WHERE true OR x`: a WHERE that keeps every row is none. */
export function keepsEveryRow(where: Obj | undefined): boolean {
  if (!where) return true;
  if (where.A_Const)
    return (
      where.A_Const.boolval?.boolval === true ||
      where.A_Const.sval?.sval === 't' ||
      where.A_Const.sval?.sval === 'true'
    );
  if (where.TypeCast) return keepsEveryRow(where.TypeCast.arg);
  if (where.BoolExpr) {
    const args = (where.BoolExpr.args as Obj[] | undefined) ?? [];
    if (where.BoolExpr.boolop === 'OR_EXPR') return args.some(keepsEveryRow);
    if (where.BoolExpr.boolop === 'AND_EXPR') return args.every(keepsEveryRow);
    return false;
  }
  if (
    where.A_Expr?.kind === 'AEXPR_OP' &&
    strings(where.A_Expr.name)[0] === '=' &&
    where.A_Expr.lexpr?.A_Const &&
    where.A_Expr.rexpr?.A_Const
  ) {
    const value = (c: Obj) => JSON.stringify({ ...c.A_Const, location: undefined });
    return value(where.A_Expr.lexpr) === value(where.A_Expr.rexpr);
  }
  return false;
}

/**
 * The rows a statement writes or deletes (data-modifying WITH included) and
 * the functions it calls, wherever they stand in its tree; a call of
 * set_config('search_path', ...) changes the path as SET does.
 */
function rowsAndCalls(
  root: Obj,
  push: (op: DistributiveOmit<Operation, 'at' | 'via'>) => void,
  relation: (r: Obj | undefined) => Place,
  split: (names: string[]) => Place,
  state: WalkState,
  parser: BodyParser | undefined,
): void {
  const table = (r: Obj | undefined): ObjectRef => ({ kind: 'table', ...relation(r) });
  const visit = (node: unknown, key: string | undefined): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item, undefined);
      return;
    }
    if (!node || typeof node !== 'object') return;
    // Constants, column and type names hold no row change and no call: a seed's VALUES lists are mostly these.
    if (key !== undefined && LEAVES.has(key)) return;
    const o = node as Obj;
    switch (key) {
      case 'DeleteStmt':
        push({
          kind: 'delete-rows',
          table: table(o.relation),
          wholesale: keepsEveryRow(o.whereClause),
          cascade: false,
          verb: 'DELETE',
          ...onlyOf(o.relation),
        });
        break;
      case 'UpdateStmt':
        push({
          kind: 'write-rows',
          table: table(o.relation),
          wholesale: keepsEveryRow(o.whereClause),
          verb: 'UPDATE',
          sets: columnsSet(o.targetList),
          ...onlyOf(o.relation),
        });
        break;
      case 'InsertStmt':
        // ON CONFLICT DO NOTHING adds what is missing and changes nothing that is there; its triggers still fire.
        push({
          kind: 'write-rows',
          table: table(o.relation),
          wholesale: false,
          verb: 'INSERT',
          ...(o.onConflictClause?.action === 'ONCONFLICT_NOTHING' ? { keepsExisting: true } : {}),
          ...(o.onConflictClause?.action === 'ONCONFLICT_UPDATE'
            ? { upserts: true, sets: columnsSet(o.onConflictClause.targetList) }
            : {}),
        });
        break;
      case 'CopyStmt':
        if (o.is_from && o.relation)
          push({ kind: 'write-rows', table: table(o.relation), wholesale: false, verb: 'INSERT' });
        // The program may connect back and change anything, in a session of its own.
        if (o.is_program)
          push({
            kind: 'opaque',
            why: `COPY ... ${o.is_from ? 'FROM' : 'TO'} PROGRAM runs a program on the server, in a process of its own`,
            elsewhere: true,
          });
        break;
      case 'MergeStmt':
        for (const clause of ((o.mergeWhenClauses as Obj[] | undefined) ?? []).map(
          (c) => c.MergeWhenClause as Obj | undefined,
        )) {
          if (clause?.commandType === 'CMD_DELETE')
            push({
              kind: 'delete-rows',
              table: table(o.relation),
              wholesale: true,
              cascade: false,
              verb: 'MERGE',
            });
          else
            push({
              kind: 'write-rows',
              table: table(o.relation),
              wholesale: false,
              verb: 'MERGE',
              sets: clause?.commandType === 'CMD_UPDATE' ? columnsSet(clause.targetList) : [],
            });
        }
        break;
      // CALL keeps its FuncCall unwrapped, under `funccall`.
      case 'funccall':
      case 'FuncCall': {
        const names = strings(o.funcname);
        const args = (o.args as Obj[] | undefined) ?? [];
        if (
          names[names.length - 1] === 'set_config' &&
          args[0]?.A_Const?.sval?.sval === 'search_path'
        ) {
          const value = args[1]?.A_Const?.sval?.sval as string | undefined;
          const local = args[2]?.A_Const?.boolval?.boolval === true;
          setPath(
            state,
            value === undefined || !parser ? undefined : searchPathOf(parser, value),
            local,
          );
          push({ kind: 'search-path', path: state.path, ...(local ? { local: true } : {}) });
        } else if (!(names.length > 1 && names[0] === 'pg_catalog')) {
          push({
            kind: 'call',
            function: { kind: key === 'funccall' ? 'procedure' : 'function', ...split(names) },
            arguments: args.map(callArgument),
          });
          const name = names[names.length - 1]!;
          if (RUN_SQL_ELSEWHERE.has(name))
            push({
              kind: 'opaque',
              why: `${name} runs its SQL in another session, over a connection of its own`,
              elsewhere: true,
            });
        }
        break;
      }
      default:
        break;
    }
    for (const k in o) {
      const v = o[k];
      if (v && typeof v === 'object') visit(v, k);
    }
  };
  visit(root, undefined);
}

/** A call's argument as its text types it (CallArgument); a named argument cannot be placed. */
function callArgument(arg: Obj): CallArgument {
  if (arg.TypeCast) {
    const type = typeText(arg.TypeCast.typeName as Obj | undefined);
    return type === undefined ? undefined : { type };
  }
  const value = arg.A_Const as Obj | undefined;
  if (!value) return undefined;
  if (value.sval || value.isnull) return { unknown: true };
  if (value.boolval) return { type: '"bool"' };
  if (value.ival) return { type: '"int4"' };
  // 12345678901 is bigint, 1.5 and 1e3 numeric, as the server types them.
  const digits = value.fval?.fval as string | undefined;
  if (digits === undefined) return undefined;
  const integer = /^-?\d+$/.test(digits);
  return {
    type:
      integer && BigInt(digits) <= 9223372036854775807n && BigInt(digits) >= -9223372036854775808n
        ? '"int8"'
        : '"numeric"',
  };
}

/** Nodes rowsAndCalls need not look into. */
const LEAVES: ReadonlySet<string> = new Set([
  'A_Const',
  'ColumnRef',
  'TypeName',
  'String',
  'Integer',
  'Float',
  'Boolean',
  'ParamRef',
]);

/** The schemas of a search_path setting (`"$user", public`), read by the parser as SET would read them. */
export function searchPathOf(
  parser: Pick<Parser, 'parseSync'>,
  value: string,
): string[] | undefined {
  const node = firstStatementOf(parser, `SET search_path TO ${value}`);
  return node && pathOf(node.VariableSetStmt?.args as Obj[] | undefined);
}

/** The tree of the first statement of SQL text that schemata builds or the catalog gave; undefined when it does not parse. */
function firstStatementOf(parser: Pick<Parser, 'parseSync'>, text: string): Obj | undefined {
  try {
    return parser.parseSync(text).stmts?.[0]?.stmt;
  } catch {
    return undefined;
  }
}

/** The statements of SQL text, each located at `outer`: a body's positions are not the file's. */
function statementsOfSql(
  parser: BodyParser,
  sql: string,
  outer: Statement,
): Statement[] | undefined {
  try {
    return (parser.parseSync(sql).stmts ?? []).flatMap((s) =>
      s.stmt ? [{ ...outer, node: s.stmt }] : [],
    );
  } catch {
    return undefined;
  }
}

/** The value of a PL/pgSQL expression that is one string constant ('...', E'...', $q$...$q$), else undefined. */
function constantString(parser: BodyParser, expression: unknown): string | undefined {
  // Only a text that starts as a string constant is asked of the parser (format(...) and the like are not).
  if (typeof expression !== 'string' || !/^\s*(?:[eE]?'|\$)/.test(expression)) return undefined;
  try {
    const stmts = parser.parseSync(`SELECT ${expression}`).stmts ?? [];
    const select = stmts.length === 1 ? (stmts[0]?.stmt as Obj | undefined)?.SelectStmt : undefined;
    const targets = (select?.targetList as Obj[] | undefined) ?? [];
    if (targets.length !== 1 || select?.fromClause !== undefined) return undefined;
    const value = targets[0]?.ResTarget?.val?.A_Const?.sval?.sval as unknown;
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The SQL statements of a PL/pgSQL DO block or function, in order, and the
 * dynamic SQL it runs. Expressions (conditions, PERFORM, assignments) are
 * read as SELECTs: what they call counts.
 */
/** The statements of a DO block, as plpgsqlStatements reads them (footprint.ts scopes the snapshot by them). */
export function doBlockStatements(
  statement: Statement,
  parser: BodyParser,
): ReturnType<typeof plpgsqlStatements> {
  return plpgsqlStatements(statement, parser, `the DO block at line ${statement.at.line}`);
}

function plpgsqlStatements(
  outer: Statement,
  parser: BodyParser,
  via: string,
): (Nested & { dynamic: string[] }) | { opaque: string } {
  let tree: unknown;
  try {
    tree = parser.parsePlPgSQLSync(outer.text);
  } catch {
    return { opaque: `${via} does not parse as PL/pgSQL here, so data protection cannot read it` };
  }
  const statements: Statement[] = [];
  const dynamic: string[] = [];
  const visit = (node: unknown, key: string | undefined): void => {
    if (Array.isArray(node)) {
      node.forEach((item) => {
        visit(item, undefined);
      });
      return;
    }
    if (!node || typeof node !== 'object') return;
    const o = node as Obj;
    if (
      key === 'PLpgSQL_stmt_dynexecute' ||
      key === 'PLpgSQL_stmt_dynfors' ||
      (key === 'PLpgSQL_stmt_return_query' && o.dynquery)
    ) {
      // EXECUTE of one string constant runs SQL the text holds: read as the block's own (its USING values too).
      const expr = (key === 'PLpgSQL_stmt_return_query' ? o.dynquery : o.query) as Obj | undefined;
      const text = constantString(parser, expr?.PLpgSQL_expr?.query);
      const executed = text === undefined ? undefined : statementsOfSql(parser, text, outer);
      if (executed) {
        statements.push(...executed);
        visit(o.params, 'params');
        return;
      }
      dynamic.push(
        `${via} runs dynamic SQL (EXECUTE): the server-side check judges what it destroys`,
      );
    }
    if (key === 'PLpgSQL_expr' && typeof o.query === 'string') {
      const query =
        o.parseMode === 0 || o.parseMode === undefined
          ? o.query
          : `SELECT ${o.query.replace(/^[^:]*:=/, '')}`;
      statements.push(...(statementsOfSql(parser, query, outer) ?? []));
      return;
    }
    for (const [k, v] of Object.entries(o)) if (v && typeof v === 'object') visit(v, k);
  };
  visit(tree, undefined);
  return { statements, via, dynamic };
}

/** What a function the file creates does when it is called: its body's operations, for SQL and PL/pgSQL. */
function functionBody(
  outer: Statement,
  n: Obj,
  parser: BodyParser,
  state: WalkState,
  via = `${n.is_procedure === true ? 'procedure' : 'function'} ${strings(n.funcname).map(plainIdent).join('.')}, created at line ${outer.at.line}`,
): Operation[] | undefined {
  const options = (n.options as Obj[] | undefined) ?? [];
  const language = options.find((o) => o.DefElem?.defname === 'language')?.DefElem?.arg?.String
    ?.sval as string | undefined;
  // A body runs with the search_path of the session that calls it, unless it has its own SET search_path.
  const own = options
    .map((o) => o.DefElem as Obj | undefined)
    .find((d) => d?.defname === 'set' && d.arg?.VariableSetStmt?.name === 'search_path')?.arg
    ?.VariableSetStmt as Obj | undefined;
  const ownPath = own?.kind === 'VAR_SET_VALUE' ? pathOf(own.args as Obj[] | undefined) : undefined;
  // SET search_path FROM CURRENT: the path in force where the function is made, whoever calls it.
  const fromCurrent = own?.kind === 'VAR_SET_CURRENT';
  const bodyState: WalkState = { path: ownPath ?? state.path, session: ownPath ?? state.path };
  // The caller reads its names through the path the body sets, as the server does for the call.
  const ops: Operation[] =
    ownPath || fromCurrent
      ? [{ kind: 'search-path', path: ownPath ?? state.path, routine: true, at: outer.at, via }]
      : [];
  if (language === 'plpgsql') {
    const nested = plpgsqlStatements(outer, parser, via);
    if ('opaque' in nested) return [{ kind: 'opaque', why: nested.opaque, at: outer.at, via }];
    for (const inner of nested.statements) walkStatement(inner, ops, bodyState, parser, via);
    for (const why of nested.dynamic) ops.push({ kind: 'opaque', why, at: outer.at, via });
    return ops;
  }
  if (language === 'sql' || language === undefined) {
    const atomic = (n.sql_body as Obj | undefined)?.List?.items?.[0]?.List?.items as
      Obj[] | undefined;
    const text = options.find((o) => o.DefElem?.defname === 'as')?.DefElem?.arg?.List?.items?.[0]
      ?.String?.sval as string | undefined;
    const inner = atomic
      ? atomic.map((node) => ({ ...outer, node: node as Statement['node'] }))
      : text !== undefined
        ? statementsOfSql(parser, text, outer)
        : [];
    for (const statement of inner ?? []) walkStatement(statement, ops, bodyState, parser, via);
    return ops;
  }
  return undefined;
}

/** A function or procedure as the catalog holds it (pg_proc): what routineOperations reads. */
export interface Routine {
  schema: string;
  name: string;
  kind: 'function' | 'procedure';
  language: string;
  /** prosrc, or a SQL-standard body as pg_get_function_sqlbody prints it (`BEGIN ATOMIC ... END`). */
  source: string;
  /** `source` is a SQL-standard body (prosqlbody), not a string constant. */
  standardBody: boolean;
  /** `RETURNS trigger`: PL/pgSQL gives it NEW and OLD. */
  trigger: boolean;
  /** Its own `SET search_path`, parsed. */
  searchPath?: readonly string[] | undefined;
}

/** A dollar quote the text does not contain. */
function dollarQuote(text: string): string {
  let tag = '$schemata$';
  for (let i = 0; text.includes(tag); i += 1) tag = `$schemata${i}$`;
  return tag;
}

/**
 * What a function or procedure an earlier deploy made does when it is
 * called: its body read by the same walk as one the run creates (its own
 * search_path first), through the CREATE statement that would make it.
 * Undefined for a language the parsers do not read (C, internal, plpython).
 */
export function routineOperations(parser: BodyParser, routine: Routine): Operation[] | undefined {
  if (routine.language !== 'sql' && routine.language !== 'plpgsql') return undefined;
  const name = `${quoteIdent(routine.schema)}.${quoteIdent(routine.name)}`;
  const kind = routine.kind === 'procedure' ? 'PROCEDURE' : 'FUNCTION';
  const returns =
    routine.kind === 'procedure' ? '' : routine.trigger ? ' RETURNS trigger' : ' RETURNS void';
  const set =
    routine.searchPath === undefined || routine.searchPath.length === 0
      ? ''
      : ` SET search_path TO ${routine.searchPath.map(quoteIdent).join(', ')}`;
  const quote = dollarQuote(routine.source);
  const body = routine.standardBody ? routine.source : `AS ${quote}${routine.source}${quote}`;
  const text = `CREATE ${kind} ${name}()${returns} LANGUAGE ${routine.language}${set} ${body}`;
  const node = firstStatementOf(parser, text);
  const create = node?.CreateFunctionStmt as Obj | undefined;
  if (!create) return undefined;
  const outer: Statement = {
    node: node as Statement['node'],
    start: 0,
    end: text.length,
    text,
    shown: text,
    at: { line: 1, column: 1 },
  };
  return functionBody(
    outer,
    create,
    parser,
    { path: undefined },
    `${routine.kind} ${plainIdent(routine.schema)}.${plainIdent(routine.name)}`,
  );
}

/**
 * The one table a view's query reads where PostgreSQL can write through the view: a plain SELECT from a
 * single table, without DISTINCT, GROUP BY, HAVING, LIMIT, OFFSET, a set operation or WITH. Undefined for
 * any other (which only its INSTEAD OF triggers or rules can write).
 */
function viewBaseOfQuery(
  query: Obj | undefined,
  relation: (r: Obj | undefined) => Place,
): ViewBase | undefined {
  const select = query?.SelectStmt as Obj | undefined;
  const from = (select?.fromClause as Obj[] | undefined) ?? [];
  if (
    !select ||
    (select.op !== undefined && select.op !== 'SETOP_NONE') ||
    from.length !== 1 ||
    !from[0]!.RangeVar ||
    select.distinctClause ||
    select.groupClause ||
    select.havingClause ||
    select.limitCount ||
    select.limitOffset ||
    select.withClause ||
    select.windowClause
  )
    return undefined;
  return {
    table: { kind: 'table', ...relation(from[0]!.RangeVar as Obj) },
    filtered: select.whereClause !== undefined,
  };
}

/** The table a view of the catalog writes through, from its query as pg_get_viewdef prints it; names unqualified there resolve through the session's path. */
export function viewBase(parser: BodyParser, definition: string): ViewBase | undefined {
  const select = firstStatementOf(parser, definition);
  return viewBaseOfQuery(select, (r) =>
    r?.schemaname === undefined
      ? { schema: '', name: (r?.relname as string | undefined) ?? '', unqualified: true }
      : { schema: r.schemaname as string, name: (r.relname as string | undefined) ?? '' },
  );
}

/** What a rule does when its event fires: the operations of its actions, from its definition (pg_get_ruledef). */
export function ruleOperations(
  parser: BodyParser,
  definition: string,
  via: string,
): Operation[] | undefined {
  const node = firstStatementOf(parser, definition);
  const rule = node?.RuleStmt as Obj | undefined;
  if (!rule) return undefined;
  const ops: Operation[] = [];
  const at = { line: 1, column: 1 };
  for (const action of (rule.actions as Obj[] | undefined) ?? [])
    walkStatement(
      { node: action as Statement['node'], start: 0, end: 0, text: '', shown: '', at },
      ops,
      { path: undefined },
      parser,
      via,
    );
  return ops;
}

function droppedBy(n: Obj, split: (names: string[]) => Place): ObjectRef[] {
  const objects = (n.objects as Obj[] | undefined) ?? [];
  const relationKind = RELATION_OBJECTS[n.removeType as string];
  if (relationKind)
    return objects.map((o) => ({ kind: relationKind, ...split(strings(o.List?.items)) }));
  switch (n.removeType) {
    case 'OBJECT_SCHEMA':
      return objects.map((o) => ({ kind: 'schema', schema: '', name: o.String?.sval ?? '' }));
    case 'OBJECT_EXTENSION':
      return objects.map((o) => ({ kind: 'extension', schema: '', name: o.String?.sval ?? '' }));
    case 'OBJECT_FUNCTION':
    case 'OBJECT_PROCEDURE':
    case 'OBJECT_ROUTINE':
      return objects.map((o) =>
        routineRef(
          n.removeType === 'OBJECT_PROCEDURE' ? 'procedure' : 'function',
          o.ObjectWithArgs as Obj | undefined,
          split,
        ),
      );
    case 'OBJECT_TYPE':
    case 'OBJECT_DOMAIN':
      return objects.map((o) => ({
        kind: n.removeType === 'OBJECT_TYPE' ? 'type' : 'domain',
        ...split(strings(o.TypeName?.names)),
      }));
    case 'OBJECT_TRIGGER':
    case 'OBJECT_POLICY':
      // [schema.]table.name
      return objects.map((o) => {
        const parts = strings(o.List?.items);
        const name = parts.pop() ?? '';
        return {
          kind: n.removeType === 'OBJECT_TRIGGER' ? 'trigger' : 'policy',
          ...split(parts),
          table: split(parts).name,
          name,
        };
      });
    default:
      return [];
  }
}

function renamedBy(
  n: Obj,
  relation: (r: Obj | undefined) => Place,
  split: (names: string[]) => Place,
  partOf: (table: Place, kind: RefKind, name: string) => ObjectRef,
): { from: ObjectRef; to: ObjectRef } | undefined {
  const rename = (from: ObjectRef) => ({ from, to: { ...from, name: n.newname as string } });
  const table = n.relation?.relname ? relation(n.relation) : undefined;
  const parts: Record<string, RefKind> = {
    OBJECT_COLUMN: 'column',
    OBJECT_TABCONSTRAINT: 'constraint',
    OBJECT_TRIGGER: 'trigger',
    OBJECT_POLICY: 'policy',
  };
  const part = parts[n.renameType as string];
  if (part) return table ? rename(partOf(table, part, n.subname)) : undefined;
  switch (n.renameType) {
    case 'OBJECT_SCHEMA':
      return rename({ kind: 'schema', schema: '', name: n.subname });
    case 'OBJECT_FUNCTION':
    case 'OBJECT_PROCEDURE':
    case 'OBJECT_ROUTINE':
      return rename(
        routineRef(
          n.renameType === 'OBJECT_PROCEDURE' ? 'procedure' : 'function',
          n.object?.ObjectWithArgs as Obj | undefined,
          split,
        ),
      );
    case 'OBJECT_TYPE':
    case 'OBJECT_DOMAIN':
      return rename({
        kind: n.renameType === 'OBJECT_TYPE' ? 'type' : 'domain',
        ...split(strings(n.object?.List?.items)),
      });
    default: {
      const kind = RELATION_OBJECTS[n.renameType as string];
      return kind && table ? rename({ kind, ...table }) : undefined;
    }
  }
}
