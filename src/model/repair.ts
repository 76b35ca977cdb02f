import type { MigrationFile } from '../config/discover.js';
import type { ExpectedObject, RowChange, TrackedMigration } from '../engine/tracking.js';
import { compareVersions, sameChecksum } from '../config/discover.js';
import {
  describeRef,
  nameSpaceOf,
  type ObjectRef,
  type Operation,
  refKey,
} from '../sql/operations.js';
import { constraintName } from '../sql/add-constraint.js';
import { quoteIdent } from '../sql/quote.js';
import type { Location } from '../sql/statements.js';
import { notImplied, type Plan, type Problem } from './plan.js';

/** What `migrate --repair` does to a set before the usual run. */
export interface RepairPlan {
  /** The plan with the repaired problems gone and the re-runs among the pending migrations. */
  plan: Plan;
  /** Applied (or failed) migrations to run again, in version order: their objects are missing, or they did not finish. */
  rerun: MigrationFile[];
  /** Changed files whose objects all exist: record the new checksum, run nothing. */
  rechecksum: MigrationFile[];
  /** What repair will do, in words, for the task list and the report. */
  notes: string[];
}

const REPAIRED: ReadonlySet<Problem['kind']> = new Set(['mismatch', 'dirty', 'checksum']);

/**
 * Decides a repair from the plan's problems: which tracked migrations to
 * run again and which changed checksums to record. The problems it repairs
 * leave the plan; the rest (an untracked database, a missing file, a syntax
 * error) still stop the run. Pure.
 */
export function planRepair(
  state: {
    files: readonly MigrationFile[];
    tracked: readonly TrackedMigration[];
    missing: readonly ExpectedObject[];
    /** Applied migrations whose statements the replay runs again (replayOf): a rename of what is re-created. */
    replayed?: readonly string[];
  },
  plan: Plan,
): RepairPlan {
  const files = new Map(state.files.map((f) => [f.version, f]));
  const rerunVersions = new Set<string>([
    ...state.missing.map((e) => e.version),
    ...state.tracked.filter((t) => t.state !== 'applied').map((t) => t.version),
    ...(state.replayed ?? []),
  ]);
  const rerun = [...rerunVersions]
    .flatMap((v) => (files.has(v) ? [files.get(v)!] : []))
    .sort((a, b) => compareVersions(a.version, b.version));
  const rechecksum = state.tracked
    .filter(
      (t) =>
        t.state === 'applied' &&
        !rerunVersions.has(t.version) &&
        files.has(t.version) &&
        !sameChecksum(files.get(t.version)!, t.checksum),
    )
    .map((t) => files.get(t.version)!);

  // A re-run whose file is gone cannot happen: that stops the run.
  const lost = state.tracked.filter((t) => rerunVersions.has(t.version) && !files.has(t.version));
  const repaired: Plan = {
    set: plan.set,
    problems: [
      ...plan.problems.filter(
        (p) =>
          !REPAIRED.has(p.kind) &&
          !(p.kind === 'missing-file' && lost.some((t) => p.message.includes(t.file))),
      ),
      ...lost.map((t): Problem => ({
        kind: 'missing-file',
        message: `Set "${plan.set}": --repair would run ${t.file} (version ${t.version}) again, but its file is gone from the set's directory.`,
        hint: 'Restore the file from version control (git checkout -- <path>), then run the repair again.',
      })),
    ],
    pending: [...rerun, ...plan.pending].sort((a, b) => compareVersions(a.version, b.version)),
  };

  const notes = [
    ...rerun.map((f) => {
      const row = state.tracked.find((t) => t.version === f.version);
      const why =
        row && row.state !== 'applied'
          ? `it is recorded as ${row.state}`
          : state.missing.some((e) => e.version === f.version)
            ? `objects it made are missing`
            : `it renamed, moved or altered what is made again`;
      return `${f.file} runs again: ${why}.`;
    }),
    ...rechecksum.map(
      (f) => `${f.file} changed, but everything it made exists: its new checksum is recorded.`,
    ),
  ];
  return { plan: repaired, rerun, rechecksum, notes };
}

/** What `--repair` runs of a migration it runs again. */
export type RerunScope =
  /** A migration recorded as stopped partway that changed no rows: which of its statements ran is unknown. */
  | { kind: 'whole' }
  /**
   * Only the statements (by position) that re-create what is missing; `why` says what would go wrong
   * run whole, where something would besides running again what still exists.
   */
  | { kind: 'part'; statements: Location[]; why?: 'rows' | 'not re-runnable' }
  | { kind: 'stop'; problem: Problem };

const sameAt = (a: Location, b: Location) => a.line === b.line && a.column === b.column;

/** Operations that change rows that exist: running them again would apply the change twice. */
function changesRows(op: Operation, bodies: ReadonlyMap<string, readonly Operation[]>): boolean {
  switch (op.kind) {
    // ON CONFLICT DO NOTHING changes no row that is there; what its triggers did is in the record.
    case 'write-rows':
      return op.keepsExisting !== true;
    case 'delete-rows':
    case 'drop-owned':
      return true;
    // USING that computes the new values (price / 100) computes them again from the computed ones.
    case 'alter-type':
      return op.type.computed === true;
    // Dynamic SQL may change rows: nothing tells it does not.
    case 'opaque':
      return true;
    case 'call':
      return (bodies.get(op.function.name) ?? []).some((inner) => changesRows(inner, new Map()));
    default:
      return false;
  }
}

/** The names of an identity as PostgreSQL prints it: `workspace."Post"` is ['workspace', 'Post']. */
export function identityParts(identity: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < identity.length; i++) {
    const c = identity.charAt(i);
    if (c === '"' && quoted && identity[i + 1] === '"') {
      current += '"';
      i++;
    } else if (c === '"') quoted = !quoted;
    else if (c === '.' && !quoted) {
      parts.push(current);
      current = '';
    } else current += c;
  }
  parts.push(current);
  return parts;
}

/** Whether a statement's ref names the expected object: a part (a column, an index) on its own table. */
function refers(ref: ObjectRef, e: ExpectedObject, as?: ObjectRef): boolean {
  const kindMatches = ref.kind === e.kind || (e.kind === 'index' && ref.kind === 'constraint');
  // Under the name it had when it was made (replayOf), or the one it has.
  const name = as?.name ?? e.name;
  const schema = as?.schema ?? e.schema;
  const table = as ? as.table : e.parent === null ? undefined : identityParts(e.parent).pop();
  return (
    kindMatches &&
    ref.name === name &&
    (table === undefined || ref.table === undefined || ref.table === table) &&
    (ref.unqualified === true ||
      ref.schema === schema ||
      e.kind === 'schema' ||
      e.kind === 'extension')
  );
}

/** The file's CREATE TABLE ... (LIKE ... INCLUDING) of `table` (an identity): it makes parts it does not name. */
function tableCopying(
  operations: readonly Operation[],
  table: string | null,
): Operation | undefined {
  if (table === null) return undefined;
  const [schema, name] = identityParts(table).slice(-2);
  return operations.find(
    (op) =>
      op.kind === 'create' &&
      op.copies === true &&
      op.object.kind === 'table' &&
      op.object.name === name &&
      (op.object.unqualified === true || op.object.schema === schema),
  );
}

/** Whether a create operation makes the missing object. */
function makes(op: Operation, e: ExpectedObject, as?: ObjectRef): boolean {
  return op.kind === 'create' && refers(op.object, e, as);
}

/**
 * A statement of the file that drops, without IF EXISTS, an object that is
 * missing (`DROP INDEX i; CREATE INDEX i ...`, i dropped by hand): run
 * whole, the file would fail there. Pure.
 */
export function dropsMissing(
  operations: readonly Operation[],
  missing: readonly ExpectedObject[],
): Operation | undefined {
  return operations.find(
    (op) => op.kind === 'drop' && !op.ifExists && missing.some((e) => refers(op.object, e)),
  );
}

/** The refs a file drops without IF EXISTS (not in a DO block, which may catch the error): whether they exist decides dropsAbsent. */
export function strictDrops(operations: readonly Operation[]): ObjectRef[] {
  return operations.flatMap((op) =>
    op.kind === 'drop' && !op.ifExists && op.via === undefined ? [op.object] : [],
  );
}

/**
 * A statement of the file that drops, without IF EXISTS, what the database
 * does not have now and the file does not make before it: `DROP INDEX old;
 * CREATE INDEX new ...`, where the file itself dropped `old` when it ran
 * (Prisma's and drizzle's files). Run whole, the file would fail there.
 * Judged in file order; `existing` holds the refKey of each ref of
 * strictDrops that exists. Pure.
 */
export function dropsAbsent(
  operations: readonly Operation[],
  existing: ReadonlySet<string>,
): Operation | undefined {
  const made = new Set<string>();
  for (const op of operations) {
    if (op.kind === 'create') made.add(refKey(op.object));
    else if (op.kind === 'rename' || op.kind === 'move') made.add(refKey(op.to));
    else if (
      op.kind === 'drop' &&
      !op.ifExists &&
      op.via === undefined &&
      !existing.has(refKey(op.object)) &&
      !made.has(refKey(op.object))
    )
      return op;
  }
  return undefined;
}

/** Whether an expected constraint is a domain's (`c on domain workspace.pos`, catalog/listing.ts), not a table's. */
const onDomain = (e: ExpectedObject) =>
  e.kind === 'constraint' && e.parent !== null && e.identity.endsWith(` on domain ${e.parent}`);

/** Whether a table (`schema.name`, quoted as PostgreSQL prints it) is missing, itself or with its schema. */
function goneTables(missing: readonly ExpectedObject[]): (table: string) => boolean {
  const tables = new Set(missing.filter((e) => e.kind === 'table').map((e) => e.identity));
  const schemas = missing.filter((e) => e.kind === 'schema').map((e) => `${e.identity}.`);
  return (table) => tables.has(table) || schemas.some((prefix) => table.startsWith(prefix));
}

/**
 * The missing parts of partitions that come back with a missing part of a
 * partitioned table they belong to (`ancestors`: a partition's partitioned
 * tables), which no statement names: an index (the CREATE INDEX on that
 * table makes them again, under names PostgreSQL picks), a row trigger or a
 * foreign key (cloned under the same name). Pure.
 */
export function comesAlong(
  missing: readonly ExpectedObject[],
  ancestors: ReadonlyMap<string, readonly string[]>,
): Set<ExpectedObject> {
  const cloned = (e: ExpectedObject, table: string) =>
    missing.some(
      (p) =>
        p.parent === table &&
        p.kind === e.kind &&
        (e.kind === 'index' || (p.name === e.name && e.kind !== 'column')),
    );
  return new Set(
    missing.filter(
      (e) =>
        (e.kind === 'index' || e.kind === 'trigger' || e.kind === 'constraint') &&
        e.parent !== null &&
        (ancestors.get(e.parent) ?? []).some((table) => cloned(e, table)),
    ),
  );
}

/** `3 rows updated in public.prices, 1 row inserted into public.log`: what the measurement recorded. */
function describeChanges(changes: readonly RowChange[]): string {
  const parts = changes.flatMap((c) => {
    const rows = (n: number) => `${n} row${n === 1 ? '' : 's'}`;
    return [
      ...(c.inserted > 0 ? [`${rows(c.inserted)} inserted into ${c.table}`] : []),
      ...(c.updated > 0 ? [`${rows(c.updated)} updated in ${c.table}`] : []),
      ...(c.deleted > 0 ? [`${rows(c.deleted)} deleted from ${c.table}`] : []),
    ];
  });
  return parts.length > 3
    ? `${parts.slice(0, 3).join(', ')} and ${parts.length - 3} more`
    : parts.join(', ');
}

/**
 * Decides what repair runs of a migration (SPEC §4, --repair): the replay,
 * only the statements that re-create what is missing, whatever else the
 * file did; never a statement that changes rows. Whether the file changes
 * rows is what its transaction measured when it ran (`recorded`), or, for a
 * migration never measured, what its text says. A migration recorded as
 * stopped partway runs whole, as nothing tells which of its statements ran,
 * and only when it changed no rows. What no statement of its own re-creates
 * (dynamic SQL or a function made it), or only a statement that changes
 * rows, stops the repair, naming it; `--force` runs the file whole instead.
 * Pure.
 */
export function scopeRerun(args: {
  set: string;
  path: string;
  operations: readonly Operation[];
  statements: ReadonlyArray<{ at: Location; text: string; shown?: string }>;
  /** Its top-level INSERTs, by the table each adds rows to (sql/operations.ts insertTargetOf). */
  inserts?: ReadonlyArray<{ at: Location; into: ObjectRef }>;
  /** The objects it made that are missing. */
  missing: readonly ExpectedObject[];
  /** Recorded as stopped partway (failed): it runs again whole, or not at all. */
  dirty: boolean;
  /** The rows its runs changed, as measured (engine/tracking.ts readRecordedRows); undefined: never measured. */
  recorded?: readonly RowChange[] | undefined;
  /** Every missing object of the set: rows written into a table that is gone go into its new self, not twice. */
  setMissing?: readonly ExpectedObject[];
  /**
   * Why, run whole, it would fail: it creates, without IF NOT EXISTS, what still exists (as Prisma and
   * drizzle write files), or drops, without IF EXISTS, what is missing. Undefined: it would not.
   */
  notRerunnable?: string | undefined;
  /** What each missing object was called when it was made (replayOf); by default its name now. */
  madeAs?: ReadonlyMap<ExpectedObject, ObjectRef>;
  /** Missing objects that come back with another one (comesAlong): no statement of their own. */
  along?: ReadonlySet<ExpectedObject>;
  /** Missing constraints added to their table from its CREATE TABLE (replayOf): that statement makes them. */
  added?: ReadonlyMap<ExpectedObject, AddedConstraint>;
  force: boolean;
}): RerunScope {
  const { set, path, operations, statements, force } = args;
  const bodies = new Map(
    operations.flatMap((op) =>
      op.kind === 'create' && op.body ? [[op.object.name, op.body] as const] : [],
    ),
  );
  const gone = goneTables(args.setMissing ?? args.missing);
  const stillThere = (args.recorded ?? []).filter((c) => !gone(c.table));
  const measured = stillThere.length > 0 ? describeChanges(stillThere) : undefined;
  // The text cannot see what a procedure, a trigger or a function of an earlier migration changed; the record can.
  // Where it says rows changed, every call and every statement the text cannot read may be the one.
  const changing = operations.filter(
    (op) => changesRows(op, bodies) || (measured !== undefined && op.kind === 'call'),
  );
  const rowsChange = changing.length > 0 || measured !== undefined;
  // --force allows what repair refuses: the whole file runs again.
  if (force || (args.dirty && !rowsChange)) return { kind: 'whole' };
  const statementOf = (at: Location) => {
    const found = statements.find((s) => sameAt(s.at, at));
    return (found?.shown ?? found?.text ?? '').replace(/\s+/g, ' ').slice(0, 120);
  };
  const first = changing[0];
  const named = !rowsChange
    ? args.notRerunnable
      ? `${path} ${args.notRerunnable}, so it cannot run again whole`
      : `repair runs again only the statements of ${path} that re-create what is missing`
    : first
      ? `${path}:${first.at.line}:${first.at.column} (${statementOf(first.at)})${first.via ? ` in ${first.via}` : ''} changes rows that exist, and running it twice would apply that change twice`
      : `${path} changed rows when it ran (${measured ?? ''}), and running it twice would apply that change twice`;
  const stop = (why: string, instead: string): RerunScope => ({
    kind: 'stop',
    problem: {
      kind: 'repair-refused',
      message: `Set "${set}": --repair would run ${path} again, but ${named}; ${why}. Nothing was run.`,
      // Run whole, a file that creates what still exists fails: no hint leads there.
      hint:
        args.notRerunnable === undefined
          ? `${instead.replace(/\.$/, '')}. If running the whole file again is safe, run: schemata migrate ${set} --repair --force`
          : instead,
    },
  });
  if (args.dirty)
    return stop(
      'it is recorded as stopped partway, and repair cannot tell which of its statements ran',
      `Finish or undo by hand what ran of ${path}.`,
    );
  // What goes with a missing table or schema (its columns, its unnamed key, a NOT NULL a later file made) comes back
  // with it, through the replay; what is named, by its own statement.
  const required = new Set(notImplied(args.setMissing ?? args.missing, []));
  const chosen: Location[] = [];
  for (const e of args.missing) {
    const addedAt = args.added?.get(e)?.at;
    const maker = operations.find((op) =>
      addedAt ? sameAt(op.at, addedAt) : makes(op, e, args.madeAs?.get(e)),
    );
    if (!maker && (!required.has(e) || args.along?.has(e) === true)) continue;
    // Made without being named: with its table (CREATE TABLE ... LIKE ... INCLUDING), or by dynamic SQL or a function.
    const withTable = maker ? undefined : tableCopying(operations, e.parent);
    if (withTable)
      return stop(
        `${e.kind} ${e.identity} came with ${path}:${withTable.at.line} (${statementOf(withTable.at)}), which does not name it and cannot run again on ${e.parent ?? ''}, still there, so repair cannot re-create it alone`,
        `Re-create ${e.kind} ${e.identity} by hand (as ${path}:${withTable.at.line} made it), then check with: schemata validate ${set}`,
      );
    if (!maker)
      return stop(
        `no statement of the file names ${e.kind} ${e.identity} (dynamic SQL or a function made it), so repair cannot re-create it alone`,
        `Re-create ${e.kind} ${e.identity} by hand (as ${path} does), then check with: schemata validate ${set}`,
      );
    // A column of a table still there, made by that table's CREATE TABLE: run again, the statement fails (the table
    // exists) or, with IF NOT EXISTS, makes nothing; either way the column stays missing.
    const inCreateTable = operations.some(
      (op) => sameAt(op.at, maker.at) && op.kind === 'create' && op.object.kind === 'table',
    );
    if (e.kind === 'column' && e.parent !== null && !gone(e.parent) && inCreateTable)
      return {
        kind: 'stop',
        problem: {
          kind: 'repair-refused',
          message: `Set "${set}": column ${e.identity} is missing, and ${path}:${maker.at.line} makes it in the CREATE TABLE of ${e.parent}, which still exists: that statement cannot run again on it, so repair cannot re-create the column alone. Nothing was run.`,
          hint: `Re-create it by hand as ${path}:${maker.at.line} defines it (ALTER TABLE ${e.parent} ADD COLUMN ${quoteIdent(e.name)} ...), then check with: schemata validate ${set}`,
        },
      };
    const rowsToo = changing.find((op) => sameAt(op.at, maker.at));
    if (rowsToo)
      return stop(
        `the statement that makes ${e.kind} ${e.identity} is the one that changes rows`,
        `Re-create ${e.kind} ${e.identity} by hand (as ${path}:${maker.at.line} does), then check with: schemata validate ${set}`,
      );
    if (!chosen.some((at) => sameAt(at, maker.at))) chosen.push(maker.at);
  }
  // The rows it added to a table made again went with that table: its INSERTs into it run again, unless the record
  // says it changed rows elsewhere too (a trigger may have).
  if (chosen.length > 0 && measured === undefined) {
    const setMissing = args.setMissing ?? args.missing;
    const madeAgain = (ref: ObjectRef) =>
      setMissing.some(
        (e) =>
          (e.kind === 'table' &&
            e.name === ref.name &&
            (ref.unqualified === true || e.schema === ref.schema)) ||
          (e.kind === 'schema' && !ref.unqualified && e.name === ref.schema),
      );
    for (const insert of args.inserts ?? []) {
      if (!madeAgain(insert.into)) continue;
      const here = operations.filter((op) => sameAt(op.at, insert.at));
      if (here.every((op) => op.kind === 'write-rows' && madeAgain(op.table)))
        if (!chosen.some((at) => sameAt(at, insert.at))) chosen.push(insert.at);
    }
  }
  chosen.sort((a, b) => a.line - b.line || a.column - b.column);
  const why = rowsChange ? 'rows' : args.notRerunnable ? 'not re-runnable' : undefined;
  return { kind: 'part', statements: chosen, ...(why ? { why } : {}) };
}

/**
 * The statements to run of a file, with the session settings set before
 * them: SET search_path (or set_config) resolves their names, SET ROLE
 * decides who owns what they make, SET LOCAL their timeouts, as when the
 * file ran. A part of a file runs under the same settings. A statement that
 * also changes rows or calls a function is not one of them. Pure.
 */
export function withSettings(
  operations: readonly Operation[],
  only: readonly Location[],
): Location[] {
  const last = only.reduce<Location | undefined>(
    (a, b) => (!a || b.line > a.line || (b.line === a.line && b.column > a.column) ? b : a),
    undefined,
  );
  if (!last) return [...only];
  const before = (at: Location) =>
    at.line < last.line || (at.line === last.line && at.column < last.column);
  const isSetting = (op: Operation) => op.kind === 'search-path' || op.kind === 'setting';
  const settings = operations.filter(
    (op) =>
      isSetting(op) &&
      op.via === undefined &&
      before(op.at) &&
      operations.every((other) => !sameAt(other.at, op.at) || isSetting(other)),
  );
  const all = [...only];
  for (const op of settings) if (!all.some((at) => sameAt(at, op.at))) all.push(op.at);
  return all.sort((a, b) => a.line - b.line || a.column - b.column);
}

/**
 * A changed file whose new text makes what the database lacks: its new
 * checksum would record as applied what never ran. Named instead, with the
 * way out: the new statements go into a new migration. Pure.
 */
export function editNeverRan(set: string, path: string, unmade: readonly ObjectRef[]): Problem {
  const first = unmade[0]!;
  const listed = unmade
    .slice(0, 5)
    .map((ref) => describeRef(ref))
    .join(', ');
  const more = unmade.length > 5 ? ` and ${unmade.length - 5} more` : '';
  const name = `add_${first.name.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}`.slice(0, 40);
  return {
    kind: 'repair-refused',
    message: `Set "${set}": ${path} changed since it was applied, and as it is now it makes ${listed}${more}, which the database does not have: recording its new checksum would record as applied what never ran. Nothing was run or recorded.`,
    hint: `Give ${path} back the content it was applied with, and put the new statements in a new migration (schemata create ${set} ${name}); then run: schemata migrate ${set}`,
  };
}

/** An applied migration as the replay reads it. */
export interface AppliedOperations {
  version: string;
  operations: readonly Operation[];
}

/** How repair brings missing objects back through their history (SPEC §4, --repair). */
export interface Replay {
  /** What each missing object was called when its migration made it: later renames and moves undone. */
  madeAs: Map<ExpectedObject, ObjectRef>;
  /** Statements of applied migrations to run again, by version: the renames and moves that brought a re-created object to its name, and the later drops of what its CREATE made. */
  statements: Map<string, Location[]>;
  /**
   * Missing parts of a missing partition or inheritance child that no statement makes on it (a column added
   * to its parent, an index or trigger PostgreSQL cloned from the parent's): they come back with its CREATE.
   */
  along: Set<ExpectedObject>;
  /** Missing constraints of a table still there: added to it (ALTER TABLE ... ADD CONSTRAINT) from the statement that defined them. */
  added: Map<ExpectedObject, AddedConstraint>;
  /** Missing indexes, triggers and policies of a table renamed, moved, or with columns renamed since: made on it as it is now. */
  retargeted: Map<ExpectedObject, Retargeted>;
}

/** A part of a table still there that repair makes by its statement, rewritten to name the table as it is now. */
export interface Retargeted {
  version: string;
  /** Where the statement that made it is. */
  at: Location;
  /** The table now. */
  table: { schema: string; name: string };
  /** Columns renamed since, by their name in that statement. */
  columns: Map<string, string>;
}

/** A constraint that repair adds to its table from the definition in the statement that made it. */
export interface AddedConstraint {
  version: string;
  /** Where the CREATE TABLE (or ALTER TABLE) is. */
  at: Location;
  /** Its name in that statement. */
  as: string;
  /** Columns renamed since, by their name in the CREATE TABLE: the definition names them as they are now. */
  columns: Map<string, string>;
}

const PART_KINDS: ReadonlySet<string> = new Set(['column', 'constraint', 'trigger', 'policy']);
/** What CREATE OR REPLACE defines again in place. */
const REPLACEABLE: ReadonlySet<string> = new Set(['function', 'procedure', 'view']);

/** Whether two refs name the same object, an unqualified one in any schema. */
function sameObject(a: ObjectRef, b: ObjectRef): boolean {
  return (
    nameSpaceOf(a.kind) === nameSpaceOf(b.kind) &&
    a.name === b.name &&
    (a.schema === b.schema ||
      a.unqualified === true ||
      b.unqualified === true ||
      !a.schema ||
      !b.schema) &&
    (!PART_KINDS.has(a.kind) || a.table === b.table)
  );
}

/**
 * The history of each missing object, replayed: walking back from the last
 * applied migration to the one credited with it, every RENAME or SET SCHEMA
 * that brought it (or its table) to its name now is a statement to run
 * again after its maker, which is found under the name it had then; walking
 * forward from a re-created table's CREATE, every later ADD COLUMN of it,
 * and every later statement that renames or drops a column or constraint it
 * has (made by that CREATE or an ADD COLUMN), changes a column's type, or sets or
 * drops its NOT NULL or DEFAULT, is one too (the table must come back as it
 * is expected, not as it was first written); a later CREATE OR REPLACE of a
 * function, procedure or view made again is one too. Statements that change
 * rows that exist are never among them: renames, drops of parts and
 * definitions change none, and those ALTER COLUMNs touch only a table made
 * again, empty. Pure.
 */
export function replayOf(
  applied: readonly AppliedOperations[],
  missing: readonly ExpectedObject[],
): Replay {
  const madeAs = new Map<ExpectedObject, ObjectRef>();
  const statements = new Map<string, Location[]>();
  const along = new Set<ExpectedObject>();
  const add = (version: string, at: Location) => {
    const list = statements.get(version) ?? [];
    if (!list.some((l) => sameAt(l, at))) list.push(at);
    statements.set(version, list);
  };
  const order = (version: string) => applied.findIndex((a) => a.version === version);
  const gone = goneTables(missing);
  const added = new Map<ExpectedObject, AddedConstraint>();
  const retargeted = new Map<ExpectedObject, Retargeted>();
  // Tables made again by their CREATE: where it is, and the name it gave.
  const recreated: Array<{
    table: ExpectedObject;
    start: number;
    maker: Location;
    name: string;
    schema: string;
  }> = [];
  // Partitions and inheritance children made again, by identity: their parent's parts come with them.
  const children = new Set<string>();
  for (const e of missing) {
    if (e.kind === 'schema' || e.kind === 'extension') continue;
    const start = order(e.version);
    if (start < 0) continue;
    const table = e.parent === null ? undefined : identityParts(e.parent).pop();
    let current: ObjectRef = {
      kind: e.kind,
      schema: e.schema,
      name: e.name,
      ...(table ? { table } : {}),
    };
    let maker: Location | undefined;
    // The renames that brought it to its name now, to run again after its maker.
    const trail: Array<[string, Location]> = [];
    for (let i = applied.length - 1; i >= start && maker === undefined; i--) {
      const { version, operations } = applied[i]!;
      for (let j = operations.length - 1; j >= 0; j--) {
        const op = operations[j]!;
        if (i === start && makes(op, e, current)) {
          maker = op.at;
          if (op.kind === 'create' && op.inherits === true && e.kind === 'table')
            children.add(e.identity);
          break;
        }
        if (op.kind !== 'rename' && op.kind !== 'move') continue;
        const schemaFrom = op.from.unqualified ? current.schema : op.from.schema;
        if (sameObject(op.to, current)) {
          trail.push([version, op.at]);
          current = { ...current, name: op.from.name, schema: schemaFrom };
        } else if (
          current.table !== undefined &&
          (op.to.kind === 'table' || op.to.kind === 'view' || op.to.kind === 'materialized view') &&
          sameObject(op.to, { kind: 'table', schema: current.schema, name: current.table })
        ) {
          // The table's rename runs again only with the table: one that is still there has its name now.
          if (e.parent !== null && gone(e.parent)) trail.push([version, op.at]);
          current = { ...current, table: op.from.name, schema: schemaFrom };
        }
      }
    }
    madeAs.set(e, current);
    // A domain's constraint is made again by its own ALTER DOMAIN ... ADD CONSTRAINT, not from a table's definition.
    const still = e.parent !== null && !gone(e.parent) && !onDomain(e);
    // A constraint of a table still there: the statement that defines it (a CREATE TABLE, as a table
    // constraint or on a column, which no operation names: `id serial PRIMARY KEY`; an ALTER TABLE's ADD
    // CONSTRAINT, ADD COLUMN or, for PostgreSQL 18's NOT NULL constraint, SET NOT NULL) becomes an ALTER TABLE
    // ... ADD CONSTRAINT on the table as it is now, under its name now; its renames do not run again.
    const topLevel = (applied[start]?.operations ?? []).filter((op) => op.via === undefined);
    const definer =
      e.kind !== 'constraint' || !still
        ? undefined
        : maker !== undefined
          ? topLevel.find((op) => sameAt(op.at, maker))
          : // A SET NOT NULL first: the column may have been made without it in the same file.
            (topLevel.find((op) => op.kind === 'alter-column' && definesNotNull(op, current)) ??
            topLevel.find(
              (op) =>
                (op.kind === 'create' &&
                  op.object.kind === 'table' &&
                  op.object.name === current.table &&
                  (op.object.unqualified === true || op.object.schema === current.schema)) ||
                definesNotNull(op, current),
            ));
    if (definer) {
      added.set(e, {
        version: e.version,
        at: definer.at,
        as: current.name,
        columns: columnsNow(applied.slice(start), definer.at, current),
      });
      continue;
    }
    // An index, trigger or policy of a table still there that was renamed, moved, or had the columns it names
    // renamed since: made on the table as it is now, under its name now; its renames do not run again.
    const makerOp = maker === undefined ? undefined : topLevel.find((op) => sameAt(op.at, maker));
    if (still && makerOp && e.kind !== 'column' && e.kind !== 'constraint') {
      const [schemaNow, tableNow] = identityParts(e.parent!);
      const columns = columnsNow(applied.slice(start), makerOp.at, current);
      if (
        columns.size > 0 ||
        current.table !== tableNow ||
        current.schema !== schemaNow ||
        current.name !== e.name
      ) {
        retargeted.set(e, {
          version: e.version,
          at: makerOp.at,
          table: { schema: schemaNow!, name: tableNow! },
          columns,
        });
        continue;
      }
    }
    for (const [version, at] of trail) add(version, at);
    if (maker !== undefined && e.kind === 'table')
      recreated.push({ table: e, start, maker, name: current.name, schema: current.schema });
  }
  // Forward, once every missing object's name then is known: what later statements did to the parts of a
  // table made again, under the table's names then, runs again after its CREATE.
  for (const { table, start, maker, name: created, schema: createdIn } of recreated) {
    // The parts the table has at each point of the replay, by their names then: what its CREATE made, and
    // the columns later ADD COLUMNs made that are missing with it (their ADD COLUMN runs again too).
    const live = new Set(
      applied[start]!.operations.flatMap((op) =>
        op.kind === 'create' && sameAt(op.at, maker) && PART_KINDS.has(op.object.kind)
          ? [`${op.object.kind}:${op.object.name}`]
          : [],
      ),
    );
    const addedLater = new Set(
      missing
        .filter((m) => m.kind === 'column' && m.parent === table.identity)
        .map((m) => `${m.version}:${madeAs.get(m)?.name ?? m.name}`),
    );
    let name = created;
    let schema = createdIn;
    // The search_path the file set at this point (each file starts with the session's, unknown here: undefined),
    // and the tables made so far by schema: where an unqualified name resolves, as PostgreSQL resolves it.
    let path: readonly string[] | undefined;
    const tables = new Set<string>();
    // Whether a statement names this table: qualified by its schema; unqualified, the first schema of the
    // file's search_path that is this table's or holds a table of that name (the session's path: any).
    const isThis = (ref: ObjectRef, table: string | undefined) => {
      if (table !== name) return false;
      if (ref.unqualified !== true || !ref.schema) return !ref.schema || ref.schema === schema;
      if (path === undefined) return true;
      for (const s of path) {
        if (s === schema) return true;
        if (tables.has(`${s}.${table}`)) return false;
      }
      return false;
    };
    const made = (ref: ObjectRef) => ref.schema || (path?.find((s) => s !== '$user') ?? '');
    for (let i = 0; i < applied.length; i++) {
      const { version, operations } = applied[i]!;
      path = undefined;
      for (const op of operations) {
        const before =
          i < start ||
          (i === start &&
            (op.at.line < maker.line ||
              (op.at.line === maker.line && op.at.column <= maker.column)));
        if (op.kind === 'search-path') path = op.path;
        if (op.kind === 'create' && op.object.kind === 'table')
          tables.add(`${made(op.object)}.${op.object.name}`);
        if ((op.kind === 'rename' || op.kind === 'move') && op.from.kind === 'table')
          tables.add(`${made(op.to)}.${op.to.name}`);
        if (before) continue;
        if (
          (op.kind === 'rename' || op.kind === 'move') &&
          op.from.kind === 'table' &&
          isThis(op.from, op.from.name)
        ) {
          name = op.to.name;
          if (op.to.schema && op.to.unqualified !== true) schema = op.to.schema;
        }
        // RENAME COLUMN or CONSTRAINT of a part it has: run again, and the part goes by its new name.
        if (
          op.kind === 'rename' &&
          PART_KINDS.has(op.from.kind) &&
          isThis(op.from, op.from.table) &&
          live.delete(`${op.from.kind}:${op.from.name}`)
        ) {
          live.add(`${op.to.kind}:${op.to.name}`);
          add(version, op.at);
        }
        // ADD COLUMN: a missing column's runs again as its maker; any other's (one a later statement drops, maybe in
        // the same ALTER TABLE as an ADD COLUMN that runs again: Prisma's `DROP COLUMN "a", ADD COLUMN "b"`) runs
        // again too, so each later statement finds the columns it found the first time.
        if (
          op.kind === 'create' &&
          op.object.kind === 'column' &&
          isThis(op.object, op.object.table)
        ) {
          if (addedLater.has(`${version}:${op.object.name}`)) live.add(`column:${op.object.name}`);
          else if (op.via === undefined) {
            live.add(`column:${op.object.name}`);
            add(version, op.at);
          }
        }
        if (
          op.kind === 'drop' &&
          PART_KINDS.has(op.object.kind) &&
          isThis(op.object, op.object.table) &&
          live.delete(`${op.object.kind}:${op.object.name}`)
        )
          add(version, op.at);
        // SET / DROP NOT NULL, SET / DROP DEFAULT, TYPE of a column it has: its definition now. Even a USING that
        // computes values changes no row here: the table made again holds none.
        if (
          (op.kind === 'alter-column' || op.kind === 'alter-type') &&
          isThis(op.column, op.column.table) &&
          live.has(`column:${op.column.name}`)
        )
          add(version, op.at);
        // What the table or a column it has carries (privileges, comments, owner, row security): given again.
        if (
          op.kind === 'annotate' &&
          op.via === undefined &&
          (op.object.kind === 'table'
            ? isThis(op.object, op.object.name)
            : isThis(op.object, op.object.table) && live.has(`column:${op.object.name}`))
        )
          add(version, op.at);
      }
    }
  }
  // A function, procedure or view made again: every later CREATE OR REPLACE of it runs again after its maker,
  // so it comes back with the definition it has now, not the one it was first made with; likewise a type or
  // domain made again, with every later ALTER TYPE ... ADD VALUE / RENAME VALUE or ALTER DOMAIN of it.
  for (const e of missing) {
    if (!REPLACEABLE.has(e.kind) && e.kind !== 'type' && e.kind !== 'domain') continue;
    const start = order(e.version);
    const names = [madeAs.get(e), { kind: e.kind, schema: e.schema, name: e.name }];
    for (let i = start + 1; start >= 0 && i < applied.length; i++)
      for (const op of applied[i]!.operations)
        if (
          ((op.kind === 'create' && op.ifNotExists) || op.kind === 'redefine') &&
          op.via === undefined &&
          names.some((n) => n !== undefined && sameObject(op.object, n))
        )
          add(applied[i]!.version, op.at);
  }
  for (const e of missing) {
    if (e.parent === null || !children.has(e.parent)) continue;
    const as = madeAs.get(e);
    if (!applied.some(({ operations }) => operations.some((op) => makes(op, e, as)))) along.add(e);
  }
  // The index of a key or UNIQUE constraint added back comes with it.
  for (const e of missing)
    if (
      e.kind === 'index' &&
      [...added.keys()].some((c) => c.name === e.name && c.parent === e.parent)
    )
      along.add(e);
  for (const list of statements.values())
    list.sort((a, b) => a.line - b.line || a.column - b.column);
  return { madeAs, statements, along, added, retargeted };
}

/**
 * Whether a statement's operation makes the NOT NULL constraint PostgreSQL
 * 18 records (`items_id_not_null`), which no operation names: a column
 * made with it (CREATE TABLE, ADD COLUMN), or SET NOT NULL, under the name
 * PostgreSQL gives it from the table's and the column's names then.
 */
function definesNotNull(op: Operation, constraint: ObjectRef): boolean {
  const column =
    op.kind === 'alter-column' && op.change === 'set-not-null'
      ? op.column
      : op.kind === 'create' && op.object.kind === 'column'
        ? op.object
        : undefined;
  return (
    column !== undefined &&
    column.table === constraint.table &&
    constraintName(column.table ?? '', column.name, 'not_null') === constraint.name
  );
}

/**
 * What later statements renamed the columns of a table to, from its CREATE
 * (`maker`, in the first of `applied`) on: each column's name then to its
 * name now, for those renamed. Pure.
 */
function columnsNow(
  applied: readonly AppliedOperations[],
  maker: Location,
  part: ObjectRef,
): Map<string, string> {
  const renamed = new Map<string, string>();
  let table = part.table ?? '';
  applied.forEach(({ operations }, i) => {
    for (const op of operations) {
      if (
        i === 0 &&
        (op.at.line < maker.line || (op.at.line === maker.line && op.at.column <= maker.column))
      )
        continue;
      if (
        (op.kind === 'rename' || op.kind === 'move') &&
        op.from.kind === 'table' &&
        op.from.name === table
      )
        table = op.to.name;
      else if (op.kind === 'rename' && op.from.kind === 'column' && op.from.table === table) {
        const first = [...renamed].find(([, now]) => now === op.from.name)?.[0] ?? op.from.name;
        renamed.set(first, op.to.name);
      }
    }
  });
  return renamed;
}
