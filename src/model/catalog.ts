import {
  type ForeignKeyAction,
  type ObjectRef,
  type Operation,
  refKey,
  type RowEvent,
} from '../sql/operations.js';

export { type RowEvent, triggerEvents } from '../sql/operations.js';

/*
 * One model of the catalog for the forecast (SPEC §5): what is there when the
 * run begins, and the rules PostgreSQL resolves names by. Drift, repair,
 * baseline and data protection ask it; catalog/model.ts fills it with one
 * query, for the schemas the run can reach. Identities are spelled as
 * catalog/listing.ts prints them (`workspace.items`,
 * `workspace.f(integer, public.citext)`), so one from the model and one from
 * a snapshot compare equal. Pure.
 */

export type RelationKind =
  | 'table'
  | 'materialized view'
  | 'view'
  | 'sequence'
  | 'index'
  /** Its rows live on another server, read and written by a session of the foreign data wrapper's own. */
  | 'foreign table'
  | 'other';

/** The event of a rule's pg_rewrite.ev_type ('2' UPDATE, '3' INSERT, '4' DELETE; '1' SELECT writes nothing). */
export function ruleEvents(evType: string): RowEvent[] {
  const events: Record<string, RowEvent> = { '2': 'UPDATE', '3': 'INSERT', '4': 'DELETE' };
  const event = events[evType];
  return event ? [event] : [];
}

/** What the gatherer reads: plain data, as object literals in the tests. */
export interface CatalogFacts {
  /** The session's search_path, parsed (`$user` as written): what unqualified names resolve through. */
  searchPath: string[];
  user: string;
  /** The schemas read (the system schemas among them when the path names them: they exist). */
  schemas: string[];
  relations: Array<{
    oid: number;
    schema: string;
    name: string;
    kind: RelationKind;
    /** `schema.name` as PostgreSQL prints it. */
    identity: string;
    /** An index's table (identity). */
    table?: string | undefined;
    /** Its parents in pg_inherits (identities): a partition's partitioned table, an inheritance child's parents. */
    parents?: string[] | undefined;
    /** A partition (not an inheritance child): its indexes, row triggers and foreign keys come from its parent. */
    partition?: boolean | undefined;
    /** Columns, constraints, triggers and policies by name. */
    columns?: string[] | undefined;
    constraints?: string[] | undefined;
    triggers?: string[] | undefined;
    policies?: string[] | undefined;
    /**
     * Its triggers of users (no constraint's, no partition's clone of its
     * parent's): the function each fires, on which events, per row or per
     * statement, and whether it fires for a migration (enabled, not REPLICA).
     */
    fires?:
      | Array<{
          trigger: string;
          events: RowEvent[];
          function: { schema: string; name: string };
          /** FOR EACH ROW: a partition's writes fire it too (absent: true). */
          row?: boolean | undefined;
          /** Absent: true. */
          enabled?: boolean | undefined;
        }>
      | undefined;
    /** Its foreign keys (a partition's clones of its parent's left out): what deleting or updating a referenced row does to its rows. */
    references?:
      | Array<{
          constraint: string;
          /** The referenced table (identity). */
          table: string;
          onDelete: ForeignKeyAction;
          onUpdate: ForeignKeyAction;
        }>
      | undefined;
    /** Its rules: on which event, their definition as pg_get_ruledef prints it, and whether it fires for a migration (enabled, not REPLICA; absent: it does). */
    rules?:
      | Array<{
          name: string;
          events: RowEvent[];
          definition: string;
          enabled?: boolean | undefined;
        }>
      | undefined;
    /** A view PostgreSQL can update or delete from: its query as pg_get_viewdef prints it. */
    view?: string | undefined;
  }>;
  /** Types that are no relation's row type, pg_catalog's among them; `rendering` is how a function's identity prints it (`integer`, `public.citext`). */
  types: Array<{ oid: number; schema: string; name: string; rendering: string }>;
  functions: Array<{
    schema: string;
    name: string;
    kind: 'function' | 'procedure';
    /** Its argument types as the identity prints them, joined with ', '. */
    args: string;
    identity: string;
    /** How many of its last arguments have defaults (a call may leave them out); absent: none. */
    defaults?: number | undefined;
    /** Its last argument is VARIADIC: a call may pass any number there. */
    variadic?: boolean | undefined;
    /** Its own `SET search_path`, parsed; undefined where it has none (it runs with the caller's). */
    searchPath?: string[] | undefined;
    /** What it runs, for SQL and PL/pgSQL (sql/operations.ts routineOperations reads it); undefined for other languages. */
    body?:
      | { language: 'sql' | 'plpgsql'; source: string; standardBody: boolean; trigger: boolean }
      | undefined;
  }>;
  extensions: string[];
}

export type CatalogRelation = CatalogFacts['relations'][number];
export type CatalogFunction = CatalogFacts['functions'][number];

/** The facts, indexed by name once per run. */
export interface CatalogModel {
  facts: CatalogFacts;
  schemas: ReadonlySet<string>;
  relations: ReadonlyMap<string, CatalogRelation>;
  byIdentity: ReadonlyMap<string, CatalogRelation>;
  types: ReadonlyMap<string, CatalogFacts['types'][number]>;
  functions: ReadonlyMap<string, readonly CatalogFunction[]>;
  extensions: ReadonlySet<string>;
}

const at = (schema: string, name: string) => `${schema}\u0000${name}`;

export function catalogModel(facts: CatalogFacts): CatalogModel {
  const functions = new Map<string, CatalogFunction[]>();
  for (const f of facts.functions) {
    const key = at(f.schema, f.name);
    functions.set(key, [...(functions.get(key) ?? []), f]);
  }
  return {
    facts,
    schemas: new Set(facts.schemas),
    relations: new Map(facts.relations.map((r) => [at(r.schema, r.name), r])),
    byIdentity: new Map(facts.relations.map((r) => [r.identity, r])),
    types: new Map(facts.types.map((t) => [at(t.schema, t.name), t])),
    functions,
    extensions: new Set(facts.extensions),
  };
}

/**
 * The schemas an unqualified name is looked up in, in order, as PostgreSQL
 * does: pg_catalog first unless the path places it, `$user` as the role's
 * name. Schemas that do not exist are kept: the caller knows which do (the
 * run may create one).
 */
export function lookupOrder(path: readonly string[], user: string): string[] {
  const named = path.map((s) => (s === '$user' ? user : s));
  return named.includes('pg_catalog') ? named : ['pg_catalog', ...named];
}

/** Where an unqualified CREATE lands: the first schema of the path that exists (the implicit pg_catalog never). */
export function creationSchemaOf(
  path: readonly string[],
  user: string,
  exists: (schema: string) => boolean,
): string | undefined {
  return path.map((s) => (s === '$user' ? user : s)).find(exists);
}

/** The session's creation schema ('' where no schema of the path exists). */
export function creationSchema(
  model: CatalogModel,
  path: readonly string[] = model.facts.searchPath,
): string {
  return creationSchemaOf(path, model.facts.user, (s) => model.schemas.has(s)) ?? '';
}

/** The schemas a name is looked up in: its own, or the path's. */
function candidates(
  model: CatalogModel,
  schema: string,
  unqualified: boolean,
  path?: readonly string[],
) {
  return unqualified || schema === ''
    ? lookupOrder(path ?? model.facts.searchPath, model.facts.user)
    : [schema];
}

/** The relation a name reaches (`items`, `workspace.items`), as to_regclass would find it. */
export function resolveRelation(
  model: CatalogModel,
  name: { schema: string; name: string; unqualified?: boolean | undefined },
  path?: readonly string[],
): CatalogRelation | undefined {
  for (const schema of candidates(model, name.schema, name.unqualified ?? false, path)) {
    const found = model.relations.get(at(schema, name.name));
    if (found) return found;
  }
  return undefined;
}

/** Relations have a row type of their name: a type of that name cannot be made beside them. */
const HAS_ROW_TYPE: ReadonlySet<RelationKind> = new Set([
  'table',
  'view',
  'materialized view',
  'sequence',
  'foreign table',
  'other',
]);

function typeIn(model: CatalogModel, schema: string, name: string): string | undefined {
  const type = model.types.get(at(schema, name));
  if (type) return type.rendering;
  const relation = model.relations.get(at(schema, name));
  return relation && HAS_ROW_TYPE.has(relation.kind) ? relation.identity : undefined;
}

/** The names of a type as sql/operations.ts writes an argument (`"public"."citext"`, `"int4"[]`). */
function typeNameParts(text: string): { names: string[]; array: boolean } {
  const names: string[] = [];
  let i = 0;
  while (i < text.length && text[i] === '"') {
    let name = '';
    i += 1;
    while (i < text.length) {
      if (text[i] === '"' && text[i + 1] === '"') {
        name += '"';
        i += 2;
      } else if (text[i] === '"') {
        i += 1;
        break;
      } else {
        name += text.charAt(i);
        i += 1;
      }
    }
    names.push(name);
    if (text[i] === '.') i += 1;
  }
  return { names, array: text.slice(i).startsWith('[]') };
}

/**
 * A type as a function's identity prints it (`integer`, `public.citext`,
 * `workspace.mood[]`), resolved as to_regtype would: qualified in its
 * schema, unqualified through the path with pg_catalog first. Undefined when
 * no such type exists.
 */
export function resolveType(
  model: CatalogModel,
  text: string,
  path?: readonly string[],
): string | undefined {
  const { names, array } = typeNameParts(text);
  const name = names.at(-1);
  if (name === undefined) return undefined;
  const schemas = names.length > 1 ? [names.at(-2)!] : candidates(model, '', true, path);
  for (const schema of schemas) {
    const rendering = typeIn(model, schema, name);
    // Arrays have no dimensions: int4[][] is int4[].
    if (rendering !== undefined) return array ? `${rendering}[]` : rendering;
  }
  return undefined;
}

/**
 * The functions and procedures a name reaches: in its schema (or the
 * creation schema, for an unqualified one), by argument types where the ref
 * gives them (an overload is another function), every one of the name where
 * it does not (`DROP FUNCTION f`).
 */
export function resolveFunctions(
  model: CatalogModel,
  ref: ObjectRef,
  path?: readonly string[],
): readonly CatalogFunction[] {
  const schema = ref.schema || creationSchema(model, path);
  const named = model.functions.get(at(schema, ref.name)) ?? [];
  if (ref.args === undefined) return named;
  const args = ref.args.map((a) => resolveType(model, a, path));
  if (args.some((a) => a === undefined)) return [];
  const text = args.join(', ');
  return named.filter((f) => f.args === text);
}

/** The functions and procedures of a name in a schema (overloads are several). */
export function functionsNamed(
  model: CatalogModel,
  schema: string,
  name: string,
): readonly CatalogFunction[] {
  return model.functions.get(at(schema, name)) ?? [];
}

/** A function or procedure by its identity (`workspace.f(integer, public.citext)`), as a snapshot names it. */
export function functionByIdentity(
  model: CatalogModel,
  identity: string,
): CatalogFunction | undefined {
  for (const list of model.functions.values())
    for (const f of list) if (f.identity === identity) return f;
  return undefined;
}

/** Whether a function or procedure of this name exists in the schemas read: a call of any other is a built-in one. */
export function functionNames(model: CatalogModel): Set<string> {
  return new Set(model.facts.functions.map((f) => f.name));
}

/**
 * Whether the object a statement names exists, as the server would answer
 * for the statement: a schema or extension by name; a relation, type or
 * function in its schema or, unqualified, in the creation schema (where a
 * CREATE of it lands); a column, constraint, trigger or policy of the table
 * its name reaches through the path.
 */
export function refExists(model: CatalogModel, ref: ObjectRef): boolean {
  const schema = ref.schema || creationSchema(model);
  switch (ref.kind) {
    case 'schema':
      return model.schemas.has(ref.name);
    case 'extension':
      return model.extensions.has(ref.name);
    case 'table':
    case 'view':
    case 'materialized view':
    case 'sequence':
    case 'index':
      return model.relations.has(at(schema, ref.name));
    case 'type':
    case 'domain':
      return typeIn(model, schema, ref.name) !== undefined;
    case 'function':
    case 'procedure':
      return resolveFunctions(model, ref).length > 0;
    case 'column':
    case 'constraint':
    case 'trigger':
    case 'policy': {
      if (ref.table === undefined) return false;
      const table = resolveRelation(model, {
        schema: ref.schema,
        name: ref.table,
        unqualified: ref.schema === '',
      });
      const parts = {
        column: table?.columns,
        constraint: table?.constraints,
        trigger: table?.triggers,
        policy: table?.policies,
      }[ref.kind];
      return parts?.includes(ref.name) ?? false;
    }
  }
}

/** The table of an index a statement names (in its schema, or the creation schema): its name, in the index's schema. */
export function indexTable(model: CatalogModel, ref: ObjectRef): string | undefined {
  const index = model.relations.get(at(ref.schema || creationSchema(model), ref.name));
  if (index?.kind !== 'index' || index.table === undefined) return undefined;
  return model.byIdentity.get(index.table)?.name;
}

/** What drift and repair ask of a list of refs: which exist (by refKey), where a CREATE lands, the tables of indexes. */
export interface Existence {
  existing: Set<string>;
  creationSchema: string;
  /** refKey of an index that exists -> the name of its table. */
  indexTables: Map<string, string>;
}

/**
 * The names a model must hold for existenceOf to answer for `refs` as the
 * whole model would: each object's name, the table of a column, constraint,
 * trigger or policy, and the type names of a function's arguments (a type,
 * or a table's row type). An index's table comes with the index (catalog/model.ts). Pure.
 */
export function namesOf(refs: readonly ObjectRef[]): string[] {
  const names = new Set<string>();
  for (const ref of refs) {
    names.add(ref.name);
    if (ref.table !== undefined) names.add(ref.table);
    for (const arg of ref.args ?? []) {
      const name = typeNameParts(arg).names.at(-1);
      if (name !== undefined) names.add(name);
    }
  }
  return [...names].sort();
}

export function existenceOf(model: CatalogModel, refs: readonly ObjectRef[]): Existence {
  const existing = new Set<string>();
  const indexTables = new Map<string, string>();
  for (const ref of refs) {
    if (refExists(model, ref)) existing.add(refKey(ref));
    const table = ref.kind === 'index' ? indexTable(model, ref) : undefined;
    if (table !== undefined) indexTables.set(refKey(ref), table);
  }
  return { existing, creationSchema: creationSchema(model), indexTables };
}

/** The partitioned tables a partition (identity) belongs to, nearest first, at any depth; [] for any other table. */
export function partitionAncestors(model: CatalogModel, identity: string): string[] {
  const ancestors: string[] = [];
  let relation = model.byIdentity.get(identity);
  while (relation?.partition && relation.parents?.[0] !== undefined) {
    const parent = relation.parents[0];
    if (ancestors.includes(parent)) break;
    ancestors.push(parent);
    relation = model.byIdentity.get(parent);
  }
  return ancestors;
}

/** The tables a table (identity) inherits from or is a partition of, directly. */
export function parentsOf(model: CatalogModel, identity: string): string[] {
  return model.byIdentity.get(identity)?.parents ?? [];
}

/** The partitions and inheritance children of a table (identity), at any depth. */
export function descendantsOf(model: CatalogModel, identity: string): string[] {
  const found: string[] = [];
  const walk = (parent: string) => {
    for (const r of model.facts.relations)
      if (r.parents?.includes(parent) && !found.includes(r.identity)) {
        found.push(r.identity);
        walk(r.identity);
      }
  };
  walk(identity);
  return found;
}

/**
 * The schemas the model must read for these operations: those they name
 * (objects, a file's own search_path, qualified argument types) besides the
 * set's and the session path's; every schema where a file's SQL is dynamic,
 * since what it names is not in its text.
 */
export function schemasNamed(
  setSchemas: readonly string[],
  operations: ReadonlyArray<readonly Operation[]>,
): 'all' | { schemas: string[] } {
  const schemas = new Set(setSchemas);
  const addRef = (ref: ObjectRef) => {
    if (ref.kind === 'schema') schemas.add(ref.name);
    else if (ref.schema !== '') schemas.add(ref.schema);
    for (const arg of ref.args ?? []) {
      const { names } = typeNameParts(arg);
      if (names.length > 1) schemas.add(names.at(-2)!);
    }
  };
  const visit = (ops: readonly Operation[]): boolean => {
    for (const op of ops) {
      switch (op.kind) {
        case 'opaque':
          return false;
        case 'create':
          addRef(op.object);
          if (op.trigger) addRef(op.trigger.function);
          if (op.view) addRef(op.view.table);
          if (op.body && !visit(op.body)) return false;
          break;
        case 'drop':
          addRef(op.object);
          break;
        case 'rename':
        case 'move':
          addRef(op.from);
          addRef(op.to);
          break;
        case 'write-rows':
        case 'delete-rows':
          addRef(op.table);
          break;
        case 'alter-type':
        case 'alter-column':
          addRef(op.column);
          break;
        case 'annotate':
        case 'redefine':
          addRef(op.object);
          break;
        case 'setting':
          break;
        case 'call':
          addRef(op.function);
          // A cast to a qualified type (`p('x'::workspace.mood)`) tells the overload.
          addRef({
            ...op.function,
            args: op.arguments?.flatMap((a) => (a && 'type' in a ? [a.type] : [])),
          });
          break;
        case 'trigger-state':
          addRef(op.table);
          break;
        case 'inherit':
          addRef(op.table);
          addRef(op.parent);
          break;
        case 'routine-path':
          addRef(op.routine);
          if (Array.isArray(op.path)) for (const s of op.path) if (s !== '$user') schemas.add(s);
          break;
        case 'rule':
          addRef(op.table);
          if ('made' in op.change && !visit(op.change.made.actions)) return false;
          break;
        case 'foreign-key':
          addRef(op.table);
          addRef(op.references);
          break;
        case 'search-path':
          // `$user` is read with the session's path.
          for (const s of op.path ?? []) if (s !== '$user') schemas.add(s);
          break;
        case 'drop-owned':
          break;
      }
    }
    return true;
  };
  for (const ops of operations) if (!visit(ops)) return 'all';
  return { schemas: [...schemas].sort() };
}
