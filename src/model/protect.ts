import { groupedDigits, type Probe, type ProbeFacts } from '../catalog/rows.js';
import {
  type CatalogFunction,
  type CatalogModel,
  type CatalogRelation,
  creationSchemaOf,
  functionsNamed,
  lookupOrder,
  type RelationKind,
  resolveType,
  type RowEvent,
} from './catalog.js';
import { destructiveStep } from '../sql/destructive.js';
import { ELSEWHERE_REASON } from '../sql/rules/work-in-another-session.js';
import { plainIdent, quoteIdent } from '../sql/quote.js';
import {
  type BodyParser,
  type CallArgument,
  type ColumnType,
  type ForeignKeyAction,
  type ObjectRef,
  type Operation,
  routineOperations,
  ruleOperations,
  viewBase,
  type ViewBase,
} from '../sql/operations.js';
import type { Location } from '../sql/statements.js';

/** A table or materialized view that holds rows, and how many. */
export interface Holder {
  /** `schema.table`. */
  table: string;
  /** Counted up to a cap (catalog/rows.ts: 10,000; then `more`); null where this role cannot count them (row-level security, no SELECT). */
  rows: number | null;
  /** It holds more than `rows`. */
  more: boolean;
}

/** `3 rows`, `1 row`, `more than 10,000 rows`, `rows this role cannot count`. */
export function rowsText(holder: Pick<Holder, 'rows' | 'more'>): string {
  if (holder.rows === null) return 'rows this role cannot count';
  const n = groupedDigits(holder.rows);
  if (holder.more) return `more than ${n} rows`;
  return `${n} ${holder.rows === 1 ? 'row' : 'rows'}`;
}

export type Verdict = 'allowed' | 'refused' | 'forced';

/** A pending migration as data protection reads it, in run order. */
export interface GuardedMigration {
  path: string;
  operations: readonly Operation[];
  /** The file has a `-- schemata:force` line: its own refusals are allowed. */
  forced: boolean;
  /** It runs in schemata's transaction (the default), not statement by statement (sql/classify.ts runsInTransaction). */
  transactional?: boolean;
  /** Its statements' positions and text, for messages. */
  statements: ReadonlyArray<{ at: Location; text: string; shown?: string }>;
}

/** A step of the run that would destroy data if its target holds rows, with what to ask the catalog. */
export interface Hazard {
  migration: number;
  at: Location;
  via?: string | undefined;
  /** `DROP TABLE workspace.items CASCADE`, with names as resolved. */
  step: string;
  /** The object as resolved, `workspace.items`. */
  target: string;
  probes: number[];
  /** ALTER COLUMN ... TYPE: destructive only when it is no widening of the current type. */
  newType?: ColumnType | undefined;
  /** The target's name when the run began (the name the server's counts carry), where the run renamed or moved it. */
  was?: string;
  /** Work in another session or process (dblink, COPY ... PROGRAM): refused unless forced, asked of nothing. */
  elsewhere?: true;
}

/** Data protection's word on one hazard. */
export interface Judgement {
  migration: number;
  at: Location;
  via?: string | undefined;
  step: string;
  statement: string;
  target: string;
  verdict: Verdict;
  /** Tables it would empty or take away that hold rows, with their rows. */
  holders: Holder[];
  reason: string;
  /** Allowed as a widening of this column: the measurement lets its type change where the values are those it gives. */
  widened?: Widened | undefined;
  /** Hazard.elsewhere: beyond the measurement, whatever the tables hold. */
  elsewhere?: true;
}

/** A column the forecast judged widened by the statement at `at`. */
export interface Widened {
  /** The table's OID. */
  oid: number;
  column: string;
  /** The new type as a cast writes it (`pg_catalog.numeric(12,4)`); none where the type stays. */
  to?: string | undefined;
  at: Location;
}

/** Whether a write changes rows that are there (a foreign table's): all but a plain INSERT. */
const changesForeignRows = (op: Extract<Operation, { kind: 'write-rows' | 'delete-rows' }>) =>
  !(op.kind === 'write-rows' && op.verb === 'INSERT' && op.upserts !== true);

/** What a write to a foreign table does, after its verb and table in the message. */
const FOREIGN_ROWS = ' changes rows that live on another server, through a session of its own';

/** A write's statement verb, as a message names it: `DELETE FROM`, `UPDATE`, `TRUNCATE`. */
const verbOf = (op: Extract<Operation, { kind: 'write-rows' | 'delete-rows' }>) =>
  op.verb === 'DELETE'
    ? 'DELETE FROM'
    : op.verb === 'MERGE'
      ? 'MERGE INTO'
      : op.verb === 'INSERT'
        ? 'INSERT ... ON CONFLICT DO UPDATE into'
        : op.verb;

/**
 * The tables (OIDs) whose UPDATEs the forecast read in a migration: `sets` null where the measurement leaves
 * their updates to the forecast, else the columns those UPDATEs set (World.updatesReadBy).
 */
export type UpdatesRead = ReadonlyArray<{ oid: number; sets: readonly string[] | null }>;

const TABLE_LIKE: ReadonlySet<RelationKind> = new Set(['table', 'materialized view']);
const RELATION_REFS: ReadonlySet<ObjectRef['kind']> = new Set([
  'table',
  'view',
  'materialized view',
  'sequence',
  'index',
]);

interface Relation {
  /** Its OID when the run began; null when the run made it (so it holds only what the run put there). */
  origin: number | null;
  kind: RelationKind;
  /** Columns by their name now: their name when the run began, or null when the run added them. */
  columns: Map<string, string | null>;
  /** Names the table's columns had when the run began that they no longer have. */
  renamedAway: Set<string>;
  /** The catalog's word on it when the run began: its rules. */
  catalog?: CatalogRelation | undefined;
  /** Its triggers of users as the run leaves them: the catalog's, those the run creates, enabled or not. */
  triggers: Trigger[];
  /** Its rules as the run leaves them: the catalog's and those the run creates, enabled or not. */
  rules: Rule[];
  /** Its foreign keys: the catalog's and those the run creates, to the relation they reference. */
  foreignKeys: ForeignKey[];
  /** A partition's partitioned table: its row triggers fire for the partition's rows. */
  partitionOf?: Relation | undefined;
  /** The tables it is a partition or an inheritance child of, directly: a write to one reaches it. */
  parents: Relation[];
  /** A view PostgreSQL writes through: the one table it reads, and whether its WHERE keeps rows out. */
  writesTo?: (() => ViewBase | undefined) | undefined;
}

interface Trigger {
  trigger: string;
  events: RowEvent[];
  function: { schema: string; name: string };
  row: boolean;
  enabled: boolean;
}

interface Rule {
  name: string;
  events: RowEvent[];
  /** What its actions do, read when a write fires it. */
  actions: () => readonly Operation[] | undefined;
  enabled: boolean;
}

interface ForeignKey {
  constraint: string;
  parent: Relation;
  onDelete: ForeignKeyAction;
  onUpdate: ForeignKeyAction;
}

/** A function or procedure a call may reach: the catalog's or one the run creates. */
interface Overload {
  schema: string;
  name: string;
  kind: 'function' | 'procedure';
  /** Argument types as a function's identity prints them (`integer`, `public.citext`), or as written where no type of the catalog is meant. */
  args: string[];
  defaults: number;
  variadic: boolean;
  body: () => readonly Operation[] | undefined;
}

/** The run's own functions of a name: what it created, and the catalog's signatures it replaced or dropped. */
interface RunFunctions {
  made: Overload[];
  /** Signatures (args joined with ', ') of the catalog's it hides; every one after DROP FUNCTION f without arguments. */
  hidden: Set<string> | 'all';
}

/** Implicit casts among built-in types a call's literal or cast may take to reach a parameter (pg_cast, castcontext 'i'). */
const IMPLICIT: Readonly<Record<string, readonly string[]>> = {
  smallint: ['integer', 'bigint', 'numeric', 'real', 'double precision'],
  integer: ['bigint', 'numeric', 'real', 'double precision'],
  bigint: ['numeric', 'real', 'double precision'],
  numeric: ['real', 'double precision'],
  real: ['double precision'],
  'double precision': [],
  boolean: [],
  text: ['character varying', 'character'],
  'character varying': ['text', 'character'],
  character: ['text', 'character varying'],
};
/** Types of PostgreSQL's string category: an unknown literal ('x', NULL) prefers them among overloads. */
const STRINGS: ReadonlySet<string> = new Set(['text', 'character varying', 'character', 'name']);

/** Whether a value of type `from` may be passed where `to` is declared; a type outside the table (a domain, anyelement) may. */
function reaches(from: string, to: string): boolean {
  if (from === to) return true;
  const casts = IMPLICIT[from];
  if (casts === undefined || !(to in IMPLICIT)) return true;
  return casts.includes(to);
}

/** A function that computes its value at its first call and keeps it. */
function once<T>(compute: () => T): () => T {
  let done = false;
  let value: T;
  return () => {
    if (!done) {
      value = compute();
      done = true;
    }
    return value;
  };
}

/** The events a write fires triggers and rules on. */
function eventsOf(op: Extract<Operation, { kind: 'write-rows' | 'delete-rows' }>): RowEvent[] {
  if (op.verb === 'MERGE') return ['INSERT', 'UPDATE', 'DELETE'];
  if (op.kind === 'write-rows' && op.upserts) return ['INSERT', 'UPDATE'];
  return [op.verb];
}

/**
 * The catalog as the run will change it, statement by statement: names are
 * resolved as PostgreSQL will resolve them at that point (search_path with
 * `$user`, what earlier statements of the file and the run created, renamed
 * or moved), and every destructive step is traced to the objects that held
 * data when the run began.
 */
class World {
  private readonly schemas = new Map<string, number | null>();
  private readonly relations = new Map<string, Map<string, Relation>>();
  private readonly types = new Map<string, Map<string, number | null>>();
  /** The run's functions by `schema.name`. */
  private readonly functions = new Map<string, RunFunctions>();
  /** Bodies of the catalog's functions, read when first called. */
  private readonly catalogBodies = new Map<CatalogFunction, readonly Operation[] | undefined>();
  /** The relations some table is (or was, in this run) a partition or an inheritance child of. */
  private readonly parents = new Set<Relation>();
  /** The relations whose tree of partitions or children the run changed (ATTACH, DETACH, INHERIT, ...), at any depth. */
  private readonly treeChanged = new Set<Relation>();
  readonly probes: Probe[] = [];
  readonly hazards: Hazard[] = [];
  /**
   * Per migration, the tables (OIDs when the run began) whose UPDATEs the forecast read and judged itself, each
   * with the columns those UPDATEs set (null: columns it cannot name, as a trigger's assignments to NEW).
   */
  private readonly updatesRead: Array<Map<number, Set<string> | null>> = [];
  /** The schemas an IMPORT FOREIGN SCHEMA of the run filled with tables it does not name. */
  private readonly importedInto = new Set<string>();
  /** Per migration: it runs code the forecast could not read (dynamic SQL). */
  private readonly unread: boolean[] = [];
  private filePath: string[] | undefined;
  /** The file being read runs in schemata's transaction: a SET LOCAL in a body it calls lasts until its end. */
  private transactional = true;

  constructor(
    private readonly model: CatalogModel,
    private readonly sessionPath: readonly string[],
    private readonly parser: BodyParser | undefined,
  ) {
    for (const s of model.facts.schemas) this.schemas.set(s, null);
    const byIdentity = new Map<string, Relation>();
    for (const r of model.facts.relations) {
      const relation: Relation = {
        origin: r.oid,
        kind: r.kind,
        columns: new Map(),
        renamedAway: new Set(),
        catalog: r,
        triggers: (r.fires ?? []).map((t) => ({
          trigger: t.trigger,
          events: t.events,
          function: t.function,
          row: t.row ?? true,
          enabled: t.enabled ?? true,
        })),
        rules: (r.rules ?? []).map((rule) => ({
          name: rule.name,
          events: rule.events,
          actions: () =>
            parser && ruleOperations(parser, rule.definition, `rule ${rule.name} on ${r.identity}`),
          enabled: rule.enabled ?? true,
        })),
        foreignKeys: [],
        parents: [],
        writesTo:
          r.view === undefined ? undefined : once(() => parser && viewBase(parser, r.view!)),
      };
      this.relationsOf(r.schema).set(r.name, relation);
      byIdentity.set(r.identity, relation);
    }
    for (const r of model.facts.relations) {
      const relation = byIdentity.get(r.identity)!;
      if (r.partition && r.parents?.[0] !== undefined)
        relation.partitionOf = byIdentity.get(r.parents[0]);
      for (const parent of r.parents ?? []) {
        const found = byIdentity.get(parent);
        if (!found) continue;
        relation.parents.push(found);
        this.parents.add(found);
      }
      for (const fk of r.references ?? []) {
        const parent = byIdentity.get(fk.table);
        if (parent) relation.foreignKeys.push({ ...fk, parent });
      }
    }
    for (const t of model.facts.types)
      if (t.schema !== 'pg_catalog') this.typesOf(t.schema).set(t.name, t.oid);
    this.user = model.facts.user;
  }

  private readonly user: string;

  private relationsOf(schema: string): Map<string, Relation> {
    let map = this.relations.get(schema);
    if (!map) this.relations.set(schema, (map = new Map<string, Relation>()));
    return map;
  }

  private typesOf(schema: string): Map<string, number | null> {
    let map = this.types.get(schema);
    if (!map) this.types.set(schema, (map = new Map<string, number | null>()));
    return map;
  }

  /** The schemas an unqualified name is looked up in (model/catalog.ts: one set of rules). */
  private get path(): string[] {
    return lookupOrder(this.filePath ?? this.sessionPath, this.user);
  }

  /** Each file starts with the session's search_path: a SET in one migration does not carry into the next. */
  startFile(transactional = true): void {
    this.filePath = undefined;
    this.transactional = transactional;
  }

  private creationSchema(ref: ObjectRef): string | undefined {
    if (!ref.unqualified) return ref.schema;
    return creationSchemaOf(this.filePath ?? this.sessionPath, this.user, (s) =>
      this.schemas.has(s),
    );
  }

  /** The relation a name reaches, and the schema it is in. */
  private relation(
    ref: Pick<ObjectRef, 'schema' | 'unqualified'> & { name: string },
  ): [string, Relation] | undefined {
    const candidates = ref.unqualified ? this.path : [ref.schema];
    for (const schema of candidates) {
      const found = this.relations.get(schema)?.get(ref.name);
      if (found) return [schema, found];
    }
    return undefined;
  }

  private type(ref: ObjectRef): [string, number | null] | undefined {
    const candidates = ref.unqualified ? this.path : [ref.schema];
    for (const schema of candidates) {
      const map = this.types.get(schema);
      if (map?.has(ref.name)) return [schema, map.get(ref.name)!];
    }
    return undefined;
  }

  /**
   * Where the catalog is asked for a column's new type, to tell whether it takes the values unconverted: its
   * name along the path in force (the catalog's types, as the run began), or in the schema the statement
   * names. None for a type with modifiers, an array or a USING that computes (isWidening judges those).
   */
  private typeLookup(type: ColumnType): { path: string[]; name: string } | undefined {
    if (type.computed || type.array || type.modifiers.length > 0) return undefined;
    return { path: type.schema === undefined ? this.path : [type.schema], name: type.name };
  }

  private addProbe(probe: DistributiveOmit<Probe, 'id'>): number {
    const id = this.probes.length;
    this.probes.push({ ...probe, id });
    return id;
  }

  private hazard(
    context: Context,
    step: string,
    target: string,
    probes: number[],
    extra: { newType?: ColumnType; was?: string | undefined } = {},
  ): void {
    if (probes.length === 0) return;
    this.hazards.push({
      migration: context.migration,
      at: context.at,
      via: context.via,
      step,
      target,
      probes,
      newType: extra.newType,
      ...(extra.was !== undefined ? { was: extra.was } : {}),
    });
  }

  /** A table's name when the run began (the catalog's identity), where the run has renamed or moved it since. */
  private wasNamed([schema, relation]: [string, Relation], name: string): string | undefined {
    const catalog = relation.catalog;
    return catalog && (catalog.schema !== schema || catalog.name !== name)
      ? catalog.identity
      : undefined;
  }

  apply(op: Operation, migration: number, depth = 0): void {
    const context: Context = { migration, at: op.at, via: op.via };
    switch (op.kind) {
      case 'search-path':
        this.filePath = op.path;
        break;
      case 'routine-path':
        this.setRoutinePath(op.routine, op.path);
        break;
      case 'inherit': {
        const child = this.relation(op.table)?.[1];
        const parent = this.relation(op.parent)?.[1];
        if (!child || !parent) break;
        child.parents = child.parents.filter((p) => p !== parent);
        if (op.attached) {
          child.parents.push(parent);
          this.parents.add(parent);
        }
        // A table the run made and attached holds only what the run put there: the tree's rows are as they were.
        if (child.origin !== null) this.markTreeChanged(parent);
        if (op.partition) child.partitionOf = op.attached ? parent : undefined;
        break;
      }
      case 'create':
        this.create(op);
        break;
      case 'drop':
        this.drop(op, context);
        break;
      case 'rename':
      case 'move':
        this.rename(op.from, op.to, op.kind === 'move');
        break;
      case 'delete-rows':
      case 'write-rows': {
        const found = this.relation(op.table);
        if (!found) {
          this.writeToUnknown(op, migration);
          break;
        }
        if (op.kind === 'write-rows' && (op.verb !== 'INSERT' || op.upserts === true))
          this.readUpdate(found[1], op.only === true, op.sets, migration);
        this.fire(found, op, migration, depth);
        this.followForeignKeys(found, op, migration, depth);
        this.writeThrough(found, op, migration, depth);
        if (found[1].kind === 'foreign table' && changesForeignRows(op)) {
          const name = shownName(found[0], op.table.name);
          this.elsewhere(op, migration, `${verbOf(op)} foreign table ${name}${FOREIGN_ROWS}`, name);
          break;
        }
        if (!op.wholesale || found[1].origin === null || !TABLE_LIKE.has(found[1].kind)) break;
        const name = shownName(found[0], op.table.name);
        // ONLY: the table's own rows, not its inheritance children's or partitions'.
        this.hazard(
          context,
          destructiveStep(op, name)!,
          name,
          this.rowProbes(found[1], op.only === true),
          { was: this.wasNamed(found, op.table.name) },
        );
        break;
      }
      case 'trigger-state': {
        const found = this.relation(op.table);
        for (const trigger of found?.[1].triggers ?? [])
          if (op.trigger === undefined || trigger.trigger === op.trigger)
            trigger.enabled = op.fires;
        break;
      }
      case 'rule': {
        const rules = this.relation(op.table)?.[1].rules;
        if (!rules) break;
        const known = rules.find((r) => r.name === op.name);
        const change = op.change;
        if ('made' in change) {
          // CREATE OR REPLACE RULE: its new actions, on its new event.
          const { events, actions: read } = change.made;
          // PostgreSQL binds a rule's names where it is made, through the path in force there, which a body the
          // file called may have set (the reading of the text alone cannot know it).
          const first = read[0];
          const actions =
            first?.kind === 'search-path' && first.routine === true
              ? [{ ...first, path: this.filePath }, ...read.slice(1)]
              : read;
          const rule = { name: op.name, events, actions: () => actions, enabled: true };
          if (known) Object.assign(known, rule);
          else rules.push(rule);
        } else if (!known) break;
        else if ('fires' in change) known.enabled = change.fires;
        else known.name = change.renamed;
        break;
      }
      case 'foreign-key': {
        const child = this.relation(op.table);
        const parent = this.relation(op.references);
        if (child && parent)
          child[1].foreignKeys.push({
            constraint: op.name,
            parent: parent[1],
            onDelete: op.onDelete,
            onUpdate: op.onUpdate,
          });
        break;
      }
      case 'alter-type': {
        const found = this.relation({ ...op.column, name: op.column.table ?? '' });
        if (!found || found[1].origin === null) break;
        const original = columnOrigin(found[1], op.column.name);
        if (original === null) break;
        const name = shownName(found[0], op.column.table ?? '');
        this.hazard(
          context,
          destructiveStep(op, name)!,
          name,
          [
            this.addProbe({
              mode: 'column',
              oid: found[1].origin,
              name: original,
              to: this.typeLookup(op.type),
            }),
          ],
          { newType: op.type, was: this.wasNamed(found, op.column.table ?? '') },
        );
        break;
      }
      case 'drop-owned':
        this.hazard(
          context,
          destructiveStep(op, '')!,
          `the tables of ${op.roles.join(', ')}`,
          op.roles.map((role) => this.addProbe({ mode: 'owned', name: role })),
        );
        break;
      // Another database: what it holds is asked there (catalog/rows.ts probe).
      case 'drop-database': {
        this.hazard(context, destructiveStep(op, '')!, `database ${plainIdent(op.name)}`, [
          this.addProbe({ mode: 'database', name: op.name }),
        ]);
        break;
      }
      case 'call': {
        const reached = this.overloadsCalled(op.function, op.arguments);
        // Where the text cannot tell which overload the server picks, each is followed: the message says so.
        const ambiguous =
          reached.length > 1
            ? `one of ${reached.length} overloads the call may reach (${reached.map(signatureOf).join(', ')}), each followed`
            : undefined;
        for (const overload of reached)
          this.runBody(
            overload.body(),
            op.at,
            ambiguous && `${overload.kind} ${signatureOf(overload)}, ${ambiguous}`,
            migration,
            depth,
          );
        break;
      }
      case 'import-foreign':
        this.importedInto.add(op.schema);
        break;
      case 'opaque':
        this.unread[migration] = true;
        if (op.elsewhere) this.elsewhere(op, migration, op.why, 'another session');
        break;
    }
  }

  /**
   * A body run where a statement calls it or a write fires it: the run's own
   * functions and the catalog's go through here alike. The body's own
   * search_path (its first operation) holds for it alone.
   */
  private runBody(
    body: readonly Operation[] | undefined,
    at: Location,
    via: string | undefined,
    migration: number,
    depth: number,
  ): void {
    if (!body || depth > 8) return;
    const path = this.filePath;
    // The last path the body set for the session (a plain SET, or set_config's with is_local false).
    let session: { path: string[] | undefined } | undefined;
    for (const inner of body) {
      this.apply({ ...inner, at, via: via ?? inner.via }, migration, depth + 1);
      if (inner.kind === 'search-path' && !inner.routine && !inner.local)
        session = { path: inner.path };
    }
    // As in PostgreSQL, what the caller's next statements read their names through:
    // - a body with a search_path of its own gives the caller's back when it returns, unless it SET one for the
    //   session, which outlives that;
    // - one without keeps what it set: a SET LOCAL until the transaction ends, where the file runs in schemata's
    //   (outside it, a call's transaction ends with the statement, and a SET with the session).
    const own = body[0];
    if ((own?.kind === 'search-path' && own.routine === true) || !this.transactional)
      this.filePath = session ? session.path : path;
  }

  /**
   * The triggers and rules a write fires, on its events: the table's own
   * enabled triggers and rules (the catalog's and the run's), the row
   * triggers of the partitioned tables it is a partition of, and, where the
   * write reaches them, those of its partitions and inheritance children: an
   * INSERT into a partitioned table lands in its partitions, an UPDATE,
   * DELETE or TRUNCATE without ONLY reaches every partition and child (their
   * row triggers fire, and a TRUNCATE's on each).
   */
  private fire(
    [schema, relation]: [string, Relation],
    op: Extract<Operation, { kind: 'write-rows' | 'delete-rows' }>,
    migration: number,
    depth: number,
  ): void {
    const events = eventsOf(op);
    const table = shownName(schema, op.table.name);
    const reached: Array<[string, Relation]> = op.only
      ? []
      : this.descendants(relation, op.kind === 'write-rows' && op.verb === 'INSERT');
    const fired = new Set<Trigger>();
    for (const [on, target] of [[table, relation] as [string, Relation], ...reached]) {
      const own = target === relation;
      const triggers = target.triggers.filter((t) => own || t.row || events.includes('TRUNCATE'));
      for (let p = target.partitionOf, n = 0; p && n < 32; p = p.partitionOf, n += 1)
        triggers.push(...p.triggers.filter((t) => t.row));
      for (const trigger of triggers) {
        if (fired.has(trigger)) continue;
        fired.add(trigger);
        if (!trigger.enabled || !trigger.events.some((e) => events.includes(e))) continue;
        const fn = shownName(trigger.function.schema, trigger.function.name);
        const [body] = this.overloadsCalled({ kind: 'function', ...trigger.function }, []);
        this.runBody(
          body?.body(),
          op.at,
          `function ${fn}, fired by trigger ${trigger.trigger} on ${on}`,
          migration,
          depth,
        );
      }
    }
    for (const rule of relation.rules) {
      if (!rule.enabled || !rule.events.some((e) => events.includes(e))) continue;
      const via = `rule ${rule.name} on ${table}`;
      this.runBody(rule.actions(), op.at, via, migration, depth);
    }
  }

  /**
   * What a foreign key's action does to the referencing tables' rows when
   * this write deletes or updates referenced ones (of the table, or of a
   * partitioned table it is a partition of): ON DELETE CASCADE deletes them,
   * SET NULL and SET DEFAULT (and ON UPDATE CASCADE) update them, TRUNCATE
   * ... CASCADE empties every referencing table. A write to every row reaches
   * every referencing row. Followed as a write of its own: its triggers
   * fire, its foreign keys are followed, and it is judged.
   */
  private followForeignKeys(
    [schema, relation]: [string, Relation],
    op: Extract<Operation, { kind: 'write-rows' | 'delete-rows' }>,
    migration: number,
    depth: number,
  ): void {
    if (op.verb === 'INSERT' || depth > 8) return;
    const truncate = op.kind === 'delete-rows' && op.verb === 'TRUNCATE';
    if (truncate && !op.cascade) return;
    const referenced = new Set<Relation>();
    for (let p: Relation | undefined = relation, n = 0; p && n < 32; p = p.partitionOf, n += 1)
      referenced.add(p);
    for (const [childSchema, children] of this.relations)
      for (const [childName, child] of children) {
        // A table that references itself loses what the write takes from it: judged once, on the write.
        if (child === relation) continue;
        for (const fk of child.foreignKeys) {
          if (!referenced.has(fk.parent)) continue;
          const action = truncate
            ? 'cascade'
            : op.kind === 'delete-rows'
              ? fk.onDelete
              : fk.onUpdate;
          if (action === 'none') continue;
          const on = truncate
            ? 'TRUNCATE ... CASCADE'
            : `ON ${op.kind === 'delete-rows' ? 'DELETE' : 'UPDATE'} ${action.toUpperCase()}`;
          const common = {
            table: { kind: 'table', schema: childSchema, name: childName } satisfies ObjectRef,
            wholesale: op.wholesale,
            at: op.at,
            via: `foreign key ${plainIdent(fk.constraint)} on ${shownName(childSchema, childName)}, ${on} from ${shownName(schema, op.table.name)}`,
          };
          const follow: Operation = truncate
            ? { ...common, kind: 'delete-rows', cascade: true, verb: 'TRUNCATE' }
            : op.kind === 'delete-rows' && action === 'cascade'
              ? { ...common, kind: 'delete-rows', cascade: false, verb: 'DELETE' }
              : { ...common, kind: 'write-rows', verb: 'UPDATE' };
          this.apply(follow, migration, depth + 1);
        }
      }
  }

  /** The functions and procedures of a name in a schema as the run leaves them: the catalog's it did not replace or drop, and its own. */
  private overloadsAt(schema: string, name: string): Overload[] {
    const run = this.functions.get(`${schema}.${name}`);
    const hidden = run?.hidden;
    const catalog =
      hidden === 'all'
        ? []
        : functionsNamed(this.model, schema, name)
            .filter((f) => !hidden?.has(f.args))
            .map((f): Overload => ({
              schema,
              name,
              kind: f.kind,
              args: f.args === '' ? [] : f.args.split(', '),
              defaults: f.defaults ?? 0,
              variadic: f.variadic ?? false,
              body: () => this.catalogBody(f),
            }));
    return [...catalog, ...(run?.made ?? [])];
  }

  /**
   * The overloads a call may reach, as the server resolves it, by argument
   * count and the types its literals and casts show: through the path for
   * an unqualified name (an earlier schema's signature hides a later one's);
   * an exact match of every argument wins; an unknown literal prefers a
   * string parameter. Several where the text cannot tell.
   */
  private overloadsCalled(ref: ObjectRef, args: readonly CallArgument[] | undefined): Overload[] {
    const seen = new Set<string>();
    let found: Overload[] = [];
    for (const schema of ref.unqualified ? this.path : [ref.schema])
      for (const overload of this.overloadsAt(schema, ref.name)) {
        const signature = overload.args.join(', ');
        if (seen.has(signature)) continue;
        seen.add(signature);
        found.push(overload);
      }
    if (args === undefined) return found;
    const path = this.filePath ?? this.sessionPath;
    const types = args.map((a) =>
      a && 'type' in a ? resolveType(this.model, a.type, path) : undefined,
    );
    found = found.filter((o) => {
      const fixed = o.args.length - (o.variadic ? 1 : 0);
      if (types.length < fixed - o.defaults || (!o.variadic && types.length > o.args.length))
        return false;
      return types.every((t, i) => {
        const declared = o.args[Math.min(i, o.args.length - 1)];
        return t === undefined || declared === undefined || reaches(t, declared);
      });
    });
    if (found.length <= 1) return found;
    const exact = found.filter(
      (o) => o.args.length === types.length && types.every((t, i) => t === o.args[i]),
    );
    if (exact.length === 1 && types.every((t) => t !== undefined)) return exact;
    args.forEach((a, i) => {
      if (!a || !('unknown' in a)) return;
      const strings = found.filter((o) => STRINGS.has(o.args[i] ?? ''));
      if (strings.length > 0) found = strings;
    });
    return found;
  }

  private markTreeChanged(relation: Relation, depth = 0): void {
    if (depth > 32 || this.treeChanged.has(relation)) return;
    this.treeChanged.add(relation);
    for (const parent of relation.parents) this.markTreeChanged(parent, depth + 1);
  }

  /**
   * What to ask of a table's rows: its own (`only`), or with its partitions or children. Where the run
   * attached or detached some, the catalog's tree is no longer the table's: each table of the tree as the
   * run leaves it is asked for its own rows.
   */
  private rowProbes(
    relation: Relation,
    only: boolean,
    mode: 'rows' | 'drop-cascade' = 'rows',
  ): number[] {
    if (relation.origin === null) return [];
    if (only) return [this.addProbe({ mode: 'own-rows', oid: relation.origin })];
    if (!this.treeChanged.has(relation)) return [this.addProbe({ mode, oid: relation.origin })];
    const members = [relation, ...this.descendants(relation, false).map(([, r]) => r)];
    return members.flatMap((r) =>
      r.origin === null
        ? []
        : [
            this.addProbe({ mode: 'own-rows', oid: r.origin }),
            // The materialized views built on each, as DROP ... CASCADE takes them.
            ...(mode === 'drop-cascade'
              ? [this.addProbe({ mode: 'views-on', oid: r.origin })]
              : []),
          ],
    );
  }

  /**
   * A write to a view PostgreSQL updates itself (one table, no INSTEAD OF trigger or rule for the event)
   * writes that table: every row of it where the view shows every row.
   */
  private writeThrough(
    [schema, view]: [string, Relation],
    op: Extract<Operation, { kind: 'write-rows' | 'delete-rows' }>,
    migration: number,
    depth: number,
  ): void {
    // TRUNCATE of a view is an error of the server's, not a write through it.
    const truncate = op.kind === 'delete-rows' && op.verb === 'TRUNCATE';
    const base = view.kind === 'view' && !truncate && depth <= 8 ? view.writesTo?.() : undefined;
    if (!base) return;
    const events = eventsOf(op);
    const instead =
      view.triggers.some((t) => t.enabled && t.row && t.events.some((e) => events.includes(e))) ||
      view.rules.some((r) => r.enabled && r.events.some((e) => events.includes(e)));
    if (instead) return;
    // The columns it sets are the view's names, not the table's: not carried.
    const write = op.kind === 'write-rows' ? (({ sets: _viewColumns, ...rest }) => rest)(op) : op;
    this.apply(
      {
        ...write,
        table: base.table,
        wholesale: op.wholesale && !base.filtered,
        via: `${op.via ? `${op.via}, ` : ''}a write through view ${shownName(schema, op.table.name)}`,
      },
      migration,
      depth + 1,
    );
  }

  /**
   * Work in another session or process (Hazard.elsewhere): dblink, COPY ... PROGRAM, a write to a foreign
   * table, whose rows are another server's, so that no measurement here sees them go, whatever the WHERE.
   */
  private elsewhere(
    op: Pick<Operation, 'at' | 'via'>,
    migration: number,
    step: string,
    target: string,
  ): void {
    this.hazards.push({
      migration,
      at: op.at,
      via: op.via,
      step,
      target,
      probes: [],
      elsewhere: true,
    });
  }

  /**
   * A write to a table neither the catalog nor the run's readable statements hold: where an IMPORT FOREIGN
   * SCHEMA of the run filled its schema with tables it does not name, it may be a foreign table.
   */
  private writeToUnknown(
    op: Extract<Operation, { kind: 'write-rows' | 'delete-rows' }>,
    migration: number,
  ): void {
    if (!changesForeignRows(op)) return;
    const schema = (op.table.unqualified ? this.path : [op.table.schema]).find((s) =>
      this.importedInto.has(s),
    );
    if (schema === undefined) return;
    const name = shownName(schema, op.table.name);
    this.elsewhere(
      op,
      migration,
      `${verbOf(op)} ${name}, which IMPORT FOREIGN SCHEMA ... INTO ${plainIdent(schema)} may have made a foreign table,${FOREIGN_ROWS}`,
      name,
    );
  }

  /**
   * An UPDATE the forecast read (a statement, a body it read, a foreign key's action): it judges whether its WHERE
   * limits it, and the measurement leaves the table's updates to it (engine/measure.ts MAY_HAVE_UPDATED_EVERY_ROW),
   * or, where the migration also runs code the forecast could not read, the columns it sets (updatesReadBy). Without
   * ONLY the update reaches the partitions and inheritance children too. `sets` undefined: columns not named (a
   * foreign key's action, a write through a view); a trigger that fires on UPDATE may assign any column of NEW.
   */
  private readUpdate(
    relation: Relation,
    only: boolean,
    sets: readonly string[] | undefined,
    migration: number,
  ): void {
    const read = (this.updatesRead[migration] ??= new Map());
    for (const r of [
      relation,
      ...(only ? [] : this.descendants(relation, false).map(([, d]) => d)),
    ]) {
      if (r.origin === null) continue;
      const known = read.get(r.origin);
      if (known === null) continue;
      if (sets === undefined || this.firesOnUpdate(r)) {
        read.set(r.origin, null);
        continue;
      }
      read.set(r.origin, new Set([...(known ?? []), ...sets]));
    }
  }

  /** Whether a row trigger fires for an UPDATE of the relation's rows: its own, or one of a table it is a partition of. */
  private firesOnUpdate(relation: Relation): boolean {
    // A row trigger may assign NEW; a statement trigger's own writes are read where it fires.
    const fires = (t: Trigger) => t.row && t.enabled && t.events.includes('UPDATE');
    if (relation.triggers.some(fires)) return true;
    for (let p = relation.partitionOf, n = 0; p && n < 32; p = p.partitionOf, n += 1)
      if (p.triggers.some(fires)) return true;
    return false;
  }

  /**
   * The tables whose UPDATEs the forecast read in a migration, for the measurement: `sets` null where the forecast
   * judged them wholly; where the migration also runs code it could not read (dynamic SQL may update another column
   * of them, every row), the columns the read UPDATEs set, whose new values are theirs, and null only where it
   * cannot name them.
   */
  updatesReadBy(migration: number): UpdatesRead {
    const unread = this.unread[migration] === true;
    return [...(this.updatesRead[migration] ?? [])].map(([oid, sets]) => ({
      oid,
      sets: unread && sets ? [...sets].sort() : null,
    }));
  }

  /** The partitions and inheritance children of a relation at any depth (`partitionsOnly`: its partitions), each with its name. */
  private descendants(relation: Relation, partitionsOnly: boolean): Array<[string, Relation]> {
    const found: Array<[string, Relation]> = [];
    // Most writes are to a table nothing inherits from: a seed's every INSERT, without a scan of the relations.
    if (!this.parents.has(relation)) return found;
    const seen = new Set<Relation>([relation]);
    const walk = (parent: Relation, depth: number) => {
      if (depth > 32) return;
      for (const [schema, relations] of this.relations)
        for (const [name, child] of relations) {
          if (seen.has(child) || !child.parents.includes(parent)) continue;
          if (partitionsOnly && child.partitionOf !== parent) continue;
          seen.add(child);
          found.push([shownName(schema, name), child]);
          walk(child, depth + 1);
        }
    };
    walk(relation, 0);
    return found;
  }

  private runFunctions(key: string): RunFunctions {
    let run = this.functions.get(key);
    if (!run) this.functions.set(key, (run = { made: [], hidden: new Set<string>() }));
    return run;
  }

  /** A ref's argument types as the catalog prints them (those of no catalog type as written); undefined where it gives none. */
  private signature(ref: ObjectRef): string | undefined {
    const path = this.filePath ?? this.sessionPath;
    return ref.args?.map((a) => resolveType(this.model, a, path) ?? a).join(', ');
  }

  private catalogBody(fn: CatalogFunction): readonly Operation[] | undefined {
    if (!this.catalogBodies.has(fn))
      this.catalogBodies.set(
        fn,
        fn.body && this.parser
          ? routineOperations(this.parser, { ...fn, ...fn.body, searchPath: fn.searchPath })
          : undefined,
      );
    return this.catalogBodies.get(fn);
  }

  private create(op: Extract<Operation, { kind: 'create' }>): void {
    const { object: ref, body } = op;
    if (ref.kind === 'schema') {
      if (!this.schemas.has(ref.name)) this.schemas.set(ref.name, null);
      return;
    }
    if (ref.kind === 'column') {
      // Taken as new: if it was there already (ADD COLUMN IF NOT EXISTS), the server-side guard still sees its data go.
      const found = this.relation({ ...ref, name: ref.table ?? '' });
      if (found && !found[1].columns.has(ref.name)) found[1].columns.set(ref.name, null);
      return;
    }
    const schema = this.creationSchema(ref);
    if (schema === undefined) return;
    if (RELATION_REFS.has(ref.kind)) {
      const map = this.relationsOf(schema);
      const view = op.view;
      if (!map.has(ref.name))
        map.set(ref.name, {
          origin: null,
          kind: op.foreign ? 'foreign table' : (ref.kind as RelationKind),
          columns: new Map(),
          renamedAway: new Set(),
          triggers: [],
          rules: [],
          foreignKeys: [],
          parents: [],
        });
      // CREATE [OR REPLACE] VIEW: the table it writes through now.
      if (ref.kind === 'view') map.get(ref.name)!.writesTo = view && (() => view);
    } else if (ref.kind === 'type' || ref.kind === 'domain') {
      const map = this.typesOf(schema);
      if (!map.has(ref.name)) map.set(ref.name, null);
    } else if (ref.kind === 'function' || ref.kind === 'procedure') {
      this.createFunction(schema, ref, body, op.signature);
    } else if (ref.kind === 'trigger' && op.trigger) {
      this.createTrigger(ref, op.trigger);
    }
  }

  /** A function or procedure the run makes or replaces (CREATE OR REPLACE): its body hides the catalog's of its signature. */
  private createFunction(
    schema: string,
    ref: ObjectRef,
    body: readonly Operation[] | undefined,
    signature: { defaults: number; variadic: boolean } | undefined,
  ): void {
    const key = `${schema}.${ref.name}`;
    const text = this.signature(ref);
    const run = text === undefined ? this.runFunctions(key) : this.hideOverloads(key, text);
    // Without argument types (%TYPE) it may replace any of the name the run made.
    if (text === undefined) run.made = [];
    run.made.push({
      schema,
      name: ref.name,
      kind: ref.kind === 'procedure' ? 'procedure' : 'function',
      args: text === undefined || text === '' ? [] : text.split(', '),
      defaults: signature?.defaults ?? 0,
      variadic: signature?.variadic ?? false,
      body: () => body,
    });
  }

  /** A trigger the run makes: bound to the function its name reaches now, as PostgreSQL binds it. */
  private createTrigger(
    ref: ObjectRef,
    spec: NonNullable<Extract<Operation, { kind: 'create' }>['trigger']>,
  ): void {
    const found = this.relation({ ...ref, name: ref.table ?? '' });
    const [fn] = this.overloadsCalled(spec.function, []);
    if (!found || !fn) return;
    const relation = found[1];
    relation.triggers = relation.triggers.filter((t) => t.trigger !== ref.name);
    relation.triggers.push({
      trigger: ref.name,
      events: spec.events,
      function: { schema: fn.schema, name: fn.name },
      row: spec.row,
      enabled: true,
    });
  }

  private drop(op: Extract<Operation, { kind: 'drop' }>, context: Context): void {
    const { object: ref, cascade } = op;
    if (ref.kind === 'schema') {
      if (!this.schemas.has(ref.name)) return;
      // Without CASCADE, PostgreSQL refuses to drop a schema that holds anything.
      if (cascade) {
        const probes: number[] = [];
        // Its tables, and the materialized views elsewhere built on them or its views.
        for (const relation of this.relations.get(ref.name)?.values() ?? []) {
          if (
            relation.origin !== null &&
            (TABLE_LIKE.has(relation.kind) || relation.kind === 'view')
          )
            probes.push(this.addProbe({ mode: 'drop-cascade', oid: relation.origin }));
        }
        for (const type of this.types.get(ref.name)?.values() ?? [])
          if (type !== null) probes.push(this.addProbe({ mode: 'type-columns', oid: type }));
        this.hazard(
          context,
          destructiveStep(op, plainIdent(ref.name))!,
          plainIdent(ref.name),
          probes,
        );
      }
      this.schemas.delete(ref.name);
      this.relations.delete(ref.name);
      this.types.delete(ref.name);
      return;
    }
    if (RELATION_REFS.has(ref.kind)) {
      const found = this.relation(ref);
      if (!found) return;
      const [schema, relation] = found;
      this.relations.get(schema)!.delete(ref.name);
      // A view holds no rows, but CASCADE takes the materialized views built on it, which may.
      if (relation.origin !== null && relation.kind === 'view' && cascade) {
        const view = shownName(schema, ref.name);
        this.hazard(context, `DROP VIEW ${view} CASCADE`, view, [
          this.addProbe({ mode: 'drop-cascade', oid: relation.origin }),
        ]);
        return;
      }
      if (relation.origin === null || !TABLE_LIKE.has(relation.kind)) return;
      const name = shownName(schema, ref.name);
      const step = destructiveStep(
        {
          ...op,
          object: { ...ref, kind: relation.kind === 'table' ? 'table' : 'materialized view' },
        },
        name,
      )!;
      this.hazard(
        context,
        step,
        name,
        this.rowProbes(relation, false, cascade ? 'drop-cascade' : 'rows'),
        { was: this.wasNamed([schema, relation], ref.name) },
      );
      return;
    }
    if (ref.kind === 'column') {
      const found = this.relation({ ...ref, name: ref.table ?? '' });
      if (!found) return;
      const [schema, relation] = found;
      const original = columnOrigin(relation, ref.name);
      relation.columns.delete(ref.name);
      if (original !== null) relation.renamedAway.add(original);
      if (relation.origin === null || original === null) return;
      const name = shownName(schema, ref.table ?? '');
      this.hazard(
        context,
        destructiveStep(op, name)!,
        name,
        [
          // A composite type's relation (ALTER TYPE ... DROP ATTRIBUTE) holds no rows of its own.
          ...(relation.kind === 'other' ? [] : this.rowProbes(relation, false)),
          // Its row type's holders: a column elsewhere whose values hold it loses the attribute from every
          // value, its own table untouched (PostgreSQL refuses to change such an attribute's type, not to drop it).
          this.addProbe({ mode: 'row-type-columns', oid: relation.origin }),
        ],
        { was: this.wasNamed(found, ref.table ?? '') },
      );
      return;
    }
    if (ref.kind === 'type' || ref.kind === 'domain') {
      const found = this.type(ref);
      if (!found) return;
      this.types.get(found[0])!.delete(ref.name);
      // Without CASCADE, PostgreSQL refuses to drop a type that a column uses.
      if (cascade && found[1] !== null) {
        this.hazard(
          context,
          destructiveStep(op, shownName(found[0], ref.name))!,
          shownName(found[0], ref.name),
          [this.addProbe({ mode: 'type-columns', oid: found[1] })],
        );
      }
      return;
    }
    if (ref.kind === 'function' || ref.kind === 'procedure') {
      const schema = this.creationSchema(ref);
      if (schema === undefined) return;
      this.hideOverloads(`${schema}.${ref.name}`, this.signature(ref));
      return;
    }
    if (ref.kind === 'trigger' || ref.kind === 'constraint') {
      const found = this.relation({ ...ref, name: ref.table ?? '' });
      if (!found) return;
      if (ref.kind === 'trigger')
        found[1].triggers = found[1].triggers.filter((t) => t.trigger !== ref.name);
      else found[1].foreignKeys = found[1].foreignKeys.filter((f) => f.constraint !== ref.name);
    }
  }

  private rename(from: ObjectRef, to: ObjectRef, move: boolean): void {
    if (from.kind === 'schema') {
      if (!this.schemas.has(from.name)) return;
      for (const map of [this.schemas, this.relations, this.types] as Array<Map<string, unknown>>) {
        if (map.has(from.name)) {
          map.set(to.name, map.get(from.name));
          map.delete(from.name);
        }
      }
      // Its functions and procedures go with it: every name there, the catalog's and the run's.
      const prefix = `${from.name}.`;
      const names = new Set([
        ...this.model.facts.functions.filter((f) => f.schema === from.name).map((f) => f.name),
        ...[...this.functions.keys()]
          .filter((key) => key.startsWith(prefix))
          .map((key) => key.slice(prefix.length)),
      ]);
      for (const name of names) {
        const moved = this.overloadsAt(from.name, name);
        this.hideOverloads(`${from.name}.${name}`, undefined);
        for (const routine of moved) this.putRoutine({ ...routine, schema: to.name });
      }
      return;
    }
    if (RELATION_REFS.has(from.kind)) {
      const found = this.relation(from);
      if (!found) return;
      this.relations.get(found[0])!.delete(from.name);
      // A move names its new schema; a rename keeps the one it was found in.
      this.relationsOf(move ? to.schema : found[0]).set(to.name, found[1]);
      return;
    }
    // A trigger or a foreign key renamed: a later DROP or DISABLE names it by its new name.
    if (from.kind === 'trigger' || from.kind === 'constraint') {
      const found = this.relation({ ...from, name: from.table ?? '' });
      for (const trigger of from.kind === 'trigger' ? (found?.[1].triggers ?? []) : [])
        if (trigger.trigger === from.name) trigger.trigger = to.name;
      for (const fk of from.kind === 'constraint' ? (found?.[1].foreignKeys ?? []) : [])
        if (fk.constraint === from.name) fk.constraint = to.name;
      return;
    }
    if (from.kind === 'column') {
      const found = this.relation({ ...from, name: from.table ?? '' });
      if (!found) return;
      const original = columnOrigin(found[1], from.name);
      found[1].columns.delete(from.name);
      if (original !== null) found[1].renamedAway.add(original);
      found[1].columns.set(to.name, original);
      return;
    }
    if (from.kind === 'type' || from.kind === 'domain') {
      const found = this.type(from);
      if (!found) return;
      this.types.get(found[0])!.delete(from.name);
      this.typesOf(move ? to.schema : found[0]).set(to.name, found[1]);
      return;
    }
    if (from.kind === 'function' || from.kind === 'procedure')
      for (const routine of this.takeRoutines(from))
        this.putRoutine({ ...routine, ...(move ? { schema: to.schema } : { name: to.name }) });
  }

  /**
   * The function or procedure an ALTER names, taken from where it is (a catalog one hidden there,
   * one the run made removed): its overload of the argument types given, or the only one of the name
   * where the statement gives none (PostgreSQL refuses an ambiguous one). Looked up as a call is.
   */
  private takeRoutines(ref: ObjectRef): Overload[] {
    const text = this.signature(ref);
    const named = this.overloadsCalled(ref, undefined);
    const schema = named[0]?.schema;
    const taken = named.filter(
      (o) => o.schema === schema && (text === undefined || o.args.join(', ') === text),
    );
    if (text === undefined && taken.length !== 1) return [];
    for (const o of taken) this.hideOverloads(`${o.schema}.${o.name}`, o.args.join(', '));
    return taken;
  }

  /** A function or procedure as an ALTER leaves it, under its name and schema: it hides what it replaces there. */
  private putRoutine(routine: Overload): void {
    this.hideOverloads(`${routine.schema}.${routine.name}`, routine.args.join(', ')).made.push(
      routine,
    );
  }

  /**
   * The overloads of a schema-qualified name with this signature gone from the run's (those it made) and
   * hidden among the catalog's; every one of the name where no signature is given (DROP FUNCTION f).
   */
  private hideOverloads(key: string, signature: string | undefined): RunFunctions {
    const run = this.runFunctions(key);
    run.made = run.made.filter((o) => signature !== undefined && o.args.join(', ') !== signature);
    if (signature === undefined) run.hidden = 'all';
    else if (run.hidden !== 'all') run.hidden.add(signature);
    return run;
  }

  /**
   * ALTER FUNCTION ... SET search_path or RESET: the body reads its names through that path (FROM CURRENT:
   * the one in force here) or through its caller's, in place of the path it was made with.
   */
  private setRoutinePath(ref: ObjectRef, path: string[] | 'current' | 'caller'): void {
    const own =
      path === 'caller'
        ? undefined
        : path === 'current'
          ? (this.filePath ?? this.sessionPath)
          : path;
    for (const routine of this.takeRoutines(ref)) {
      const body = routine.body;
      this.putRoutine({
        ...routine,
        body: () => {
          const ops = body();
          if (ops === undefined) return undefined;
          const rest = ops[0]?.kind === 'search-path' && ops[0].routine ? ops.slice(1) : ops;
          const first = rest[0];
          if (own === undefined || first === undefined) return rest;
          return [
            { kind: 'search-path', path: [...own], routine: true, at: first.at, via: first.via },
            ...rest,
          ];
        },
      });
    }
  }
}

interface Context {
  migration: number;
  at: Location;
  via?: string | undefined;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** `workspace.p(integer)`, for messages. */
/** A relation's or function's name as PostgreSQL prints it (format('%I.%I')), as messages show it: quoted where it must be. */
const shownName = (schema: string, name: string): string =>
  `${plainIdent(schema)}.${plainIdent(name)}`;

const signatureOf = (o: Overload): string => `${o.schema}.${o.name}(${o.args.join(', ')})`;

/** A column's name when the run began, or null when the run added it. */
function columnOrigin(relation: Relation, name: string): string | null {
  if (relation.columns.has(name)) return relation.columns.get(name)!;
  return relation.renamedAway.has(name) || relation.origin === null ? null : name;
}

function typeText(type: ColumnType): string {
  return `${type.name}${type.modifiers.length > 0 ? `(${type.modifiers.join(',')})` : ''}${type.array ? '[]' : ''}`;
}

/**
 * Every step of the run that would destroy data, in run order, and the
 * catalog questions that decide it. Pure: the catalog model (with the
 * session's search_path) and the migrations' operations in; hazards and
 * probes out.
 */
export function findHazards(
  model: CatalogModel,
  migrations: readonly GuardedMigration[],
  parser?: BodyParser,
): { hazards: Hazard[]; probes: Probe[]; updatesRead: UpdatesRead[] } {
  const world = new World(model, model.facts.searchPath, parser);
  migrations.forEach((migration, index) => {
    world.startFile(migration.transactional);
    for (const op of migration.operations) world.apply(op, index);
  });
  return {
    hazards: world.hazards,
    probes: world.probes,
    updatesRead: migrations.map((_, index) => world.updatesReadBy(index)),
  };
}

/**
 * The type a widening leaves, as a cast of the old values writes it (`pg_catalog.int8`,
 * `pg_catalog.varchar(80)`): isWidening's types are pg_catalog's. Undefined where the type stays.
 */
function castOf(
  from: { name: string; modifiers: readonly number[]; array: boolean },
  to: ColumnType,
): string | undefined {
  if (
    from.name === to.name &&
    from.modifiers.join() === to.modifiers.join() &&
    from.array === to.array
  )
    return undefined;
  const modifiers =
    to.modifiers.length > 0 ? `(${to.modifiers.map((m) => Math.trunc(m)).join(',')})` : '';
  return `pg_catalog.${quoteIdent(to.name)}${modifiers}${to.array ? '[]' : ''}`;
}

/** Whether the data in a column survives a change from `from` to `to` unchanged (SPEC §5: widening is no destruction). */
export function isWidening(
  from: { name: string; modifiers: readonly number[]; array: boolean },
  to: ColumnType,
): boolean {
  if (to.computed || from.array !== to.array) return false;
  const INTEGERS = ['int2', 'int4', 'int8'];
  const DIGITS: Record<string, number> = { int2: 5, int4: 10, int8: 19 };
  const [p, s] = from.modifiers;
  const [p2, s2] = to.modifiers;
  if (from.name === to.name && from.modifiers.join() === to.modifiers.join()) return true;
  if (INTEGERS.includes(from.name)) {
    if (INTEGERS.includes(to.name)) return INTEGERS.indexOf(to.name) >= INTEGERS.indexOf(from.name);
    if (to.name === 'numeric') return p2 === undefined || p2 - (s2 ?? 0) >= DIGITS[from.name]!;
    // Exactly, where the mantissa holds every value: 24 bits for real, 53 for double precision.
    if (to.name === 'float4') return from.name === 'int2';
    if (to.name === 'float8') return from.name !== 'int8';
    return false;
  }
  if (from.name === 'float4') return to.name === 'float8';
  if (from.name === 'varchar' || from.name === 'text') {
    if (to.name === 'text') return true;
    if (to.name !== 'varchar') return false;
    if (p2 === undefined) return true;
    return from.name === 'varchar' && p !== undefined && p2 >= p;
  }
  if (from.name === 'numeric' && to.name === 'numeric') {
    if (p2 === undefined) return true;
    if (p === undefined) return false;
    return (s2 ?? 0) >= (s ?? 0) && p2 - (s2 ?? 0) >= p - (s ?? 0);
  }
  if (from.name === 'varbit' && to.name === 'varbit')
    return p2 === undefined || (p !== undefined && p2 >= p);
  return false;
}

/**
 * The verdict on each hazard from what the catalog said: a target that holds
 * rows is refused (or forced, with --force or the file's `-- schemata:force`),
 * one that does not, and a widening type change, are allowed. Work in
 * another session is refused (or forced) whatever the tables hold.
 */
export function judgeHazards(
  hazards: readonly Hazard[],
  facts: ReadonlyMap<number, ProbeFacts>,
  migrations: readonly GuardedMigration[],
  force: boolean,
  probes: readonly Probe[] = [],
): Judgement[] {
  return hazards.map((h) => {
    const migration = migrations[h.migration]!;
    const found = migration.statements.find(
      (s) => s.at.line === h.at.line && s.at.column === h.at.column,
    );
    const statement = found?.shown ?? found?.text ?? '';
    const byTable = new Map<string, Holder>();
    for (const id of h.probes)
      for (const t of facts.get(id)?.holders ?? []) byTable.set(t.table, t);
    const holders = [...byTable.values()].sort((a, b) => (a.table < b.table ? -1 : 1));
    // Tables that hold the target's row type in a column's values (an attribute of it is dropped), not its rows.
    const holdingValues = new Set(
      h.probes
        .filter((id) => probes[id]?.mode === 'row-type-columns')
        .flatMap((id) => (facts.get(id)?.holders ?? []).map((t) => t.table)),
    );
    const unreadable = h.probes.map((id) => facts.get(id)?.unreadable).find((u) => u !== undefined);
    const base = {
      migration: h.migration,
      at: h.at,
      via: h.via,
      step: h.step,
      statement,
      target: h.target,
      holders,
    };
    const refused = force || migration.forced ? 'forced' : 'refused';
    if (h.elsewhere)
      return {
        ...base,
        verdict: refused,
        reason: ELSEWHERE_REASON,
        elsewhere: true,
      };
    // What could not be asked is judged as holding rows: a refusal too many, never a loss let through.
    if (unreadable !== undefined) return { ...base, verdict: refused, reason: unreadable };
    if (holders.length === 0) return { ...base, verdict: 'allowed', reason: 'holds no rows' };
    const current = h.newType ? facts.get(h.probes[0]!)?.type : undefined;
    if (h.newType && current && isWidening(current, h.newType)) {
      const probe = probes[h.probes[0]!];
      const widened =
        probe?.mode === 'column'
          ? { oid: probe.oid, column: probe.name, to: castOf(current, h.newType), at: h.at }
          : undefined;
      return {
        ...base,
        holders: [],
        verdict: 'allowed',
        reason: `widens ${typeText(current)}, so every value stays as it is`,
        widened,
      };
    }
    // Read as the new type unconverted: PostgreSQL rewrites nothing, and the measurement sees that it did not.
    if (h.newType && current && facts.get(h.probes[0]!)?.binary)
      return {
        ...base,
        holders: [],
        verdict: 'allowed',
        reason: `${typeText(current)} converts to ${typeText(h.newType)} without a function, so every value stays as it is`,
      };
    // An enum's values go on as their labels (`USING role::text::"Role_new"`, as Prisma drops a value): to another
    // enum with those labels, or to text, each value stays, or PostgreSQL stops at the one that cannot. The
    // measurement reads the labels before and after, as it reads a widening's values.
    if (
      h.newType &&
      !h.newType.computed &&
      current?.array === false &&
      !h.newType.array &&
      facts.get(h.probes[0]!)?.enum
    ) {
      const probe = probes[h.probes[0]!];
      return {
        ...base,
        holders: [],
        verdict: 'allowed',
        reason: `an enum's values go on as their labels, so every value stays as it is or the change fails`,
        widened:
          probe?.mode === 'column' ? { oid: probe.oid, column: probe.name, at: h.at } : undefined,
      };
    }
    const what = h.newType && current ? `its column is ${typeText(current)} and ` : '';
    // The target renamed or moved earlier in the run: named as the statement names it, and as it was.
    const named = (t: Holder) =>
      h.was !== undefined && t.table === h.was
        ? `${h.target} (${h.was} when the run began)`
        : t.table;
    return {
      ...base,
      verdict: refused,
      reason: `${what}${holders.map((t) => `${named(t)} holds ${rowsText(t)}${holdingValues.has(t.table) ? ` in a column whose values hold ${h.target}` : ''}`).join(', ')}`,
    };
  });
}

const TRACED_DROPS: ReadonlySet<ObjectRef['kind']> = new Set([
  'table',
  'materialized view',
  'schema',
  'column',
  'index',
  'view',
  'sequence',
  'constraint',
  'trigger',
  'policy',
]);

/**
 * What the server-side check of a migration covers: every table of the set's
 * schemas when it runs anything whose effect its text does not fully tell
 * (dynamic SQL, a function call, row changes that may fire triggers, a
 * CASCADE through types or other objects); otherwise exactly the tables the
 * plan traced it to destroy (none: no check is needed). Pure.
 */
export function guardScope(
  operations: readonly Operation[],
  hazards: readonly Hazard[],
  probes: readonly Probe[],
): 'all' | number[] {
  const broad = operations.some(
    (op) =>
      op.kind === 'opaque' ||
      op.kind === 'call' ||
      op.kind === 'write-rows' ||
      op.kind === 'delete-rows' ||
      op.kind === 'drop-owned' ||
      // DROP EXTENSION, FUNCTION, TYPE ... CASCADE reach columns through dependencies the plan follows only in part.
      (op.kind === 'drop' && op.cascade && !TRACED_DROPS.has(op.object.kind)),
  );
  if (broad) return 'all';
  const oids = new Set<number>();
  for (const h of hazards) {
    for (const id of h.probes) {
      const p = probes[id];
      if (!p || !('oid' in p)) return 'all';
      if (p.mode === 'type-columns') return 'all';
      // The holders of a row type are found where its attribute is dropped (engine/measure.ts), not traced first.
      if (p.mode === 'row-type-columns') continue;
      oids.add(p.oid);
    }
  }
  return [...oids];
}
