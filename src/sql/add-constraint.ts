import type { ColumnRef, Constraint, IndexElem, Node, RangeVar } from 'libpg-query';
import type { Location, Statement } from './statements.js';

/** A constraint of a CREATE TABLE to add to the table as it is now. */
export interface ConstraintToAdd {
  /** Its name in the CREATE TABLE. */
  as: string;
  /** Its name now. */
  name: string;
  /** Columns renamed since the CREATE TABLE: name then to name now. */
  columns: ReadonlyMap<string, string>;
}

/**
 * `ALTER TABLE <table now> ADD CONSTRAINT ...` for constraints written
 * inside a CREATE TABLE (on the table or on a column; unnamed ones by the
 * name PostgreSQL gave them), as a parse tree: each constraint's own definition
 * from the CREATE TABLE's tree, under its name now, naming the columns as
 * they are now (in its keys, INCLUDE, foreign key, EXCLUDE and CHECK
 * expression; a foreign key to the table itself in its referenced columns
 * and table too). Undefined when the statement is no CREATE TABLE or a
 * constraint is not among its table constraints. Pure.
 */
export function addConstraintsFrom(
  definer: Node,
  table: { schema: string; name: string },
  constraints: readonly ConstraintToAdd[],
): Node | undefined {
  const statement =
    'CreateStmt' in definer
      ? definer.CreateStmt
      : 'AlterTableStmt' in definer
        ? definer.AlterTableStmt
        : undefined;
  if (!statement) return undefined;
  const elements = constraintsOf(
    'CreateStmt' in definer ? (definer.CreateStmt.tableElts ?? []) : alteredElements(definer),
    statement.relation?.relname ?? '',
  );
  const relation: RangeVar = {
    schemaname: table.schema,
    relname: table.name,
    inh: true,
    relpersistence: 'p',
  };
  const cmds: Node[] = [];
  for (const wanted of constraints) {
    const found = elements.find((c) => c.name === wanted.as)?.constraint;
    if (!found) return undefined;
    const rename = (name: string) => wanted.columns.get(name) ?? name;
    const names = (list: Node[] | undefined) =>
      list?.map((n): Node =>
        'String' in n ? { String: { sval: rename(n.String.sval ?? '') } } : n,
      );
    const def: Constraint = { ...structuredClone(found), conname: wanted.name };
    def.keys = names(def.keys);
    def.including = names(def.including);
    def.fk_attrs = names(def.fk_attrs);
    // A foreign key to its own table references it by its name now, and the columns as they are now.
    const own = statement.relation;
    if (
      def.pktable &&
      def.pktable.relname === own?.relname &&
      (def.pktable.schemaname ?? own?.schemaname) === own?.schemaname
    ) {
      def.pktable = { ...def.pktable, ...relation };
      def.pk_attrs = names(def.pk_attrs);
    }
    renameColumnRefs(def.raw_expr, rename);
    renameColumnRefs(def.exclusions, rename);
    renameColumnRefs(def.where_clause, rename);
    cmds.push({
      AlterTableCmd: {
        subtype: 'AT_AddConstraint',
        def: { Constraint: def },
        behavior: 'DROP_RESTRICT',
      },
    });
  }
  return { AlterTableStmt: { relation, cmds, objtype: 'OBJECT_TABLE' } };
}

/** What PostgreSQL calls a column's unnamed constraint of each kind (`items_pkey`, `items_code_key`, `items_id_not_null`). */
const SUFFIXES: Partial<Record<string, string>> = {
  CONSTR_PRIMARY: 'pkey',
  CONSTR_UNIQUE: 'key',
  CONSTR_CHECK: 'check',
  CONSTR_FOREIGN: 'fkey',
  CONSTR_NOTNULL: 'not_null',
};

/** PostgreSQL's NAMEDATALEN - 1: the bytes a name keeps. */
const NAME_BYTES = 63;

/** The first `bytes` bytes of a name in UTF-8, cut where a character starts (pg_mbcliplen). */
function clip(name: string, bytes: number): string {
  const encoded = Buffer.from(name, 'utf8');
  if (encoded.length <= bytes) return name;
  let end = bytes;
  // A continuation byte (10xxxxxx) belongs to the character before it.
  while (end > 0 && ((encoded[end] ?? 0) & 0xc0) === 0x80) end--;
  return encoded.subarray(0, end).toString('utf8');
}

/**
 * The name PostgreSQL gives an unnamed constraint (makeObjectName):
 * `table_column_label`, or `table_label` without a column, the longer of
 * table and column shortened a byte at a time until it fits in 63 bytes,
 * each cut where a character starts. Pure.
 */
export function constraintName(table: string, column: string | undefined, label: string): string {
  const overhead = label.length + 1 + (column === undefined ? 0 : 1);
  let tableBytes = Buffer.byteLength(table, 'utf8');
  let columnBytes = column === undefined ? 0 : Buffer.byteLength(column, 'utf8');
  while (tableBytes + columnBytes > NAME_BYTES - overhead) {
    if (tableBytes > columnBytes) tableBytes--;
    else columnBytes--;
  }
  const parts = [
    clip(table, tableBytes),
    ...(column === undefined ? [] : [clip(column, columnBytes)]),
  ];
  return [...parts, label].join('_');
}

/**
 * The constraints an ALTER TABLE adds, as a CREATE TABLE's elements: its
 * ADD CONSTRAINTs, the columns it adds with theirs, and a SET NOT NULL as
 * the NOT NULL constraint PostgreSQL 18 records for it.
 */
function alteredElements(alter: Node): Node[] {
  if (!('AlterTableStmt' in alter)) return [];
  return (alter.AlterTableStmt.cmds ?? []).flatMap((node): Node[] => {
    const cmd = 'AlterTableCmd' in node ? node.AlterTableCmd : undefined;
    if (cmd?.subtype === 'AT_AddConstraint' || cmd?.subtype === 'AT_AddColumn')
      return cmd.def ? [cmd.def] : [];
    if (cmd?.subtype === 'AT_SetNotNull' && cmd.name)
      return [
        {
          ColumnDef: {
            colname: cmd.name,
            constraints: [{ Constraint: { contype: 'CONSTR_NOTNULL' } }],
          },
        },
      ];
    return [];
  });
}

/**
 * The constraints of a CREATE TABLE as table constraints, by name: a
 * table constraint as written, a column's (`id serial PRIMARY KEY`, `code
 * text CONSTRAINT c UNIQUE`) over that column; an unnamed one under the name
 * PostgreSQL gives it.
 */
function constraintsOf(
  elements: readonly Node[],
  table: string,
): Array<{ name: string; constraint: Constraint }> {
  const found: Array<{ name: string; constraint: Constraint }> = [];
  for (const element of elements) {
    if ('Constraint' in element) {
      const c = element.Constraint;
      const first = c.keys?.[0];
      const name =
        c.conname ??
        (c.contype === 'CONSTR_PRIMARY'
          ? constraintName(table, undefined, 'pkey')
          : c.contype === 'CONSTR_NOTNULL' && first && 'String' in first
            ? constraintName(table, first.String.sval ?? '', 'not_null')
            : undefined);
      if (name) found.push({ name, constraint: c });
    }
    if (!('ColumnDef' in element)) continue;
    const column = element.ColumnDef.colname ?? '';
    const over = [{ String: { sval: column } }];
    for (const node of element.ColumnDef.constraints ?? []) {
      if (!('Constraint' in node)) continue;
      const c = node.Constraint;
      const suffix = c.contype ? SUFFIXES[c.contype] : undefined;
      if (!suffix) continue;
      const name =
        c.conname ?? constraintName(table, suffix === 'pkey' ? undefined : column, suffix);
      const constraint: Constraint =
        c.contype === 'CONSTR_FOREIGN'
          ? { ...c, fk_attrs: over }
          : c.contype === 'CONSTR_CHECK'
            ? c
            : { ...c, keys: over };
      found.push({ name, constraint });
    }
  }
  return found;
}

/** Renames, in place, the columns an expression or an EXCLUDE element names by their bare name. */
export function renameColumnRefs(node: unknown, rename: (name: string) => string): void {
  if (Array.isArray(node)) {
    for (const item of node) renameColumnRefs(item, rename);
    return;
  }
  if (!node || typeof node !== 'object') return;
  const n = node as { ColumnRef?: ColumnRef; IndexElem?: IndexElem };
  const [field, ...more] = n.ColumnRef?.fields ?? [];
  if (field && more.length === 0 && 'String' in field && field.String.sval !== undefined)
    field.String.sval = rename(field.String.sval);
  if (n.IndexElem?.name !== undefined) n.IndexElem.name = rename(n.IndexElem.name);
  for (const value of Object.values(node)) renameColumnRefs(value, rename);
}

/**
 * A file's text and statements with the statement at `at` replaced by
 * `text`: the lines after it stay where they were (its line breaks are kept
 * after the new text), so positions in messages still point into the file.
 * Pure.
 */
export function replaceStatement(
  sql: string,
  statements: readonly Statement[],
  at: Location,
  text: string,
  node: Node,
): { sql: string; statements: Statement[] } {
  const old = statements.find((s) => s.at.line === at.line && s.at.column === at.column);
  if (!old) return { sql, statements: [...statements] };
  const replacement = text + '\n'.repeat(old.text.split('\n').length - 1);
  const shift = replacement.length - (old.end - old.start);
  return {
    sql: sql.slice(0, old.start) + replacement + sql.slice(old.end),
    statements: statements.map((s) =>
      s === old
        ? { ...s, node, text: replacement, shown: text, end: s.start + replacement.length }
        : s.start > old.start
          ? { ...s, start: s.start + shift, end: s.end + shift }
          : s,
    ),
  };
}
