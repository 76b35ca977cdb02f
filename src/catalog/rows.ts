import { SchemataError, EXIT } from '../errors.js';
import type { Client } from '../engine/connect.js';
import {
  BEGIN_OWN_READ_ONLY,
  OWN_SETTINGS_SQL,
  readWithOwnSettings,
} from '../engine/own-settings.js';
import { plainIdent, quoteLiteral } from '../sql/quote.js';
import { maskSecrets } from '../targets/redact.js';
import type { Holder } from '../model/protect.js';

/*
 * Whether relation `c` (in schema `n`) holds at least one row, asked exactly
 * (never from reltuples, which lies right after a bulk insert) and in a way
 * row-level security cannot hide: where policies (FORCE ROW LEVEL SECURITY
 * for the owner, any policy for another role) or a missing SELECT privilege
 * would hide rows from this role, the table's pages answer instead: a table
 * that never held a row has none. `where`: an SQL expression of type text, a
 * condition the row must meet (engine/measure.ts: a row this transaction did
 * not write); `beyond`: an SQL expression of type bigint, whether it holds
 * more than that many such rows.
 */
export function hasRowsSql(oid: string, where?: string, beyond?: string): string {
  // A scalar subquery, used only in select lists over MATERIALIZED lists: as a WHERE
  // condition the planner could run it on every pg_class row before the join.
  return `(SELECT CASE WHEN held_c.relkind = 'm' AND NOT held_c.relispopulated THEN false
      -- an empty heap file holds no row, whoever asks: only the others are read
      WHEN pg_relation_size(held_c.oid) = 0 THEN false
      WHEN (held_c.relrowsecurity AND (held_c.relforcerowsecurity OR held_c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = current_user))
            AND NOT (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user))
           OR NOT has_table_privilege(held_c.oid, 'SELECT')
        THEN true
      ELSE query_to_xml(format('SELECT 1 AS x FROM ONLY %I.%I', held_n.nspname, held_c.relname)${where === undefined ? '' : ` || ' WHERE ' || (${where})`}${beyond === undefined ? '' : ` || ' OFFSET ' || (${beyond})`} || ' LIMIT 1', false, true, '')::text <> '' END
    FROM pg_class held_c JOIN pg_namespace held_n ON held_n.oid = held_c.relnamespace WHERE held_c.oid = ${oid})`;
}

/** Rows are counted up to this many; more reads "more than 10,000 rows" (model/protect.ts rowsText). */
export const ROW_COUNT_CAP = 10_000;

/**
 * `10000` as `10,000`: what toLocaleString('en-US') prints for an integer, without loading the
 * Intl locale data it needs (tens of milliseconds at its first call, when a statement text is built).
 */
export function groupedDigits(n: number): string {
  const digits = String(Math.trunc(Math.abs(n)));
  const head = digits.length % 3 || 3;
  const groups = [digits.slice(0, head)];
  for (let i = head; i < digits.length; i += 3) groups.push(digits.slice(i, i + 3));
  return `${n < 0 && digits !== '0' ? '-' : ''}${groups.join(',')}`;
}

/**
 * The rows of relation `schema`.`name` (SQL text expressions), counted up to
 * ROW_COUNT_CAP + 1: a refusal names a huge table's rows at the cost of a
 * bounded scan. `only`: the table itself (FROM ONLY), else with its
 * partitions or inheritance children.
 */
export function boundedCountSql(schema: string, name: string, only: boolean): string {
  return `((pg_catalog.xpath('/row/n/text()', pg_catalog.query_to_xml(pg_catalog.format('SELECT count(*) AS n FROM (SELECT FROM ${only ? 'ONLY ' : ''}%I.%I LIMIT ${ROW_COUNT_CAP + 1}) AS s', ${schema}, ${name}), false, true, '')))[1])::text::int`;
}

/**
 * How many rows relation `c` holds, for a refusal's message: through the
 * table itself, so a partitioned table or an inheritance parent counts its
 * tree (with `only`, its own rows alone: ONLY); bounded (boundedCountSql).
 * 0 for a table that holds none; -1 where row-level security or a missing
 * SELECT privilege would hide rows from this role and the pages of the
 * table or its tree say there are some (hasRowsSql's rules).
 */
function rowCountSql(oid: string, only = false): string {
  const tree = only
    ? 'SELECT held_c.oid'
    : 'SELECT held_c.oid UNION SELECT i.inhrelid FROM tree JOIN pg_inherits i ON i.inhparent = tree.oid';
  return `(SELECT CASE WHEN held_c.relkind = 'm' AND NOT held_c.relispopulated THEN 0
      -- an empty heap file holds no row, whoever asks; a partitioned table or a parent holds its tree's
      WHEN NOT EXISTS (WITH RECURSIVE tree(oid) AS (${tree})
                       SELECT FROM tree WHERE pg_relation_size(tree.oid) > 0) THEN 0
      WHEN (held_c.relrowsecurity AND (held_c.relforcerowsecurity OR held_c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = current_user))
            AND NOT (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user))
           OR NOT has_table_privilege(held_c.oid, 'SELECT')
        THEN -1
      ELSE ${boundedCountSql('held_n.nspname', 'held_c.relname', only)} END
    FROM pg_class held_c JOIN pg_namespace held_n ON held_n.oid = held_c.relnamespace WHERE held_c.oid = ${oid})`;
}

/** A counted row total (boundedCountSql; -1: this role cannot count them) as a refusal names it. */
export function holderOf(table: string, rows: number): Holder {
  return {
    table,
    rows: rows < 0 ? null : Math.min(rows, ROW_COUNT_CAP),
    more: rows > ROW_COUNT_CAP,
  };
}

/** One thing to ask about an object the run would destroy, by OID. */
export type Probe =
  /**
   * The relation itself, with its partitions or inheritance children (`own-rows`: without them, as ONLY
   * reads it); with `drop-cascade` the materialized views built on it or on them too, directly or through
   * views, as DROP ... CASCADE takes them; with `views-on` those built on the relation alone.
   */
  | { id: number; mode: 'rows' | 'own-rows' | 'drop-cascade' | 'views-on'; oid: number }
  /**
   * The tables with a column whose values hold this type: of the type, or of a type built on it (its arrays,
   * domains, ranges and multiranges, composite types and row types of relations with a column of one), as
   * pg_depend records them. `row-type-columns`: of relation `oid`'s row type (a composite type's, a table's).
   */
  | { id: number; mode: 'type-columns' | 'row-type-columns'; oid: number }
  /**
   * A column's table, and the column's current type; with `to` (a type's name and the schemas it is looked up
   * in, in order), whether PostgreSQL reads the column's values as that type unconverted.
   */
  | { id: number; mode: 'column'; oid: number; name: string; to?: { path: string[]; name: string } }
  /** The tables a role owns. */
  | { id: number; mode: 'owned'; name: string }
  /** Every table of another database of the server (DROP DATABASE), asked there. */
  | { id: number; mode: 'database'; name: string };

export interface ProbeFacts {
  /** Each affected table or materialized view that holds at least one row, by `schema.table`. */
  holders: Holder[];
  /** mode column: the column's type as the catalog has it. */
  type?: { name: string; modifiers: number[]; array: boolean } | undefined;
  /**
   * mode column with `to`: a binary-coercible cast (pg_cast) leads from the column's type to that one, so that
   * changing to it rewrites nothing and keeps every value as stored (text to citext, varchar to text).
   */
  binary?: boolean | undefined;
  /** mode column: the column's type is an enum, whose values a cast to text hands on as their labels. */
  enum?: boolean | undefined;
  /** Why what it would destroy could not be asked (another database schemata cannot open): judged as holding rows. */
  unreadable?: string | undefined;
}

/**
 * The types built directly on type `typ` (an SQL expression): its domains, arrays, ranges and multiranges
 * (pg_depend's rows of pg_type on it), and the row types of composite types and tables with an attribute of
 * it; each found by pg_depend's index on what is referenced. A LATERAL subquery of one column: the probe's
 * `type-columns` and the measurement's holders of a dropped attribute (engine/measure.ts) walk it alike.
 */
export const typesBuiltOn = (typ: string) => `(
    SELECT d.objid FROM pg_catalog.pg_depend d
     WHERE d.refclassid = 'pg_catalog.pg_type'::pg_catalog.regclass AND d.refobjid = ${typ} AND d.classid = 'pg_catalog.pg_type'::pg_catalog.regclass
    UNION ALL
    SELECT c.reltype FROM pg_catalog.pg_depend d
      CROSS JOIN LATERAL (SELECT c.reltype FROM pg_catalog.pg_class c WHERE c.oid = d.objid OFFSET 0) c
     WHERE d.refclassid = 'pg_catalog.pg_type'::pg_catalog.regclass AND d.refobjid = ${typ} AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
       AND d.objsubid > 0 AND c.reltype <> 0)`;

const PROBE_SQL = `
WITH RECURSIVE input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS i(id int, mode text, oid oid, name text, to_path jsonb, to_name text)
), family(id, typ) AS (
  SELECT id, oid FROM input WHERE mode = 'type-columns'
  UNION ALL
  SELECT i.id, c.reltype FROM input i JOIN pg_class c ON c.oid = i.oid WHERE i.mode = 'row-type-columns' AND c.reltype <> 0
  UNION
  SELECT f.id, b.typ FROM family f CROSS JOIN LATERAL ${typesBuiltOn('f.typ')} b(typ)
), dropped(id, oid) AS (
  -- What a CASCADE drops with the relation: with drop-cascade, its partitions and inheritance children.
  SELECT id, oid FROM input WHERE mode IN ('drop-cascade', 'views-on')
  UNION
  SELECT t.id, i.inhrelid FROM dropped t JOIN input s ON s.id = t.id AND s.mode = 'drop-cascade'
    CROSS JOIN LATERAL (SELECT i.inhrelid FROM pg_inherits i WHERE i.inhparent = t.oid OFFSET 0) i
), built(id, oid, kind) AS (
  -- Those, and the views and materialized views built on them, on those in turn: CASCADE drops each.
  SELECT id, oid, NULL::"char" FROM dropped
  UNION
  SELECT b.id, rw.ev_class, m.relkind
    FROM built b
    JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = b.oid AND d.classid = 'pg_rewrite'::regclass
    JOIN pg_rewrite rw ON rw.oid = d.objid
    JOIN pg_class m ON m.oid = rw.ev_class AND m.relkind IN ('v', 'm')
   WHERE rw.ev_class <> b.oid
), affected(id, oid) AS (
  SELECT id, oid FROM input WHERE mode IN ('rows', 'own-rows', 'drop-cascade', 'column')
  UNION SELECT id, oid FROM built WHERE kind = 'm'
  -- the relations with a column of one, and the typed tables of one (CREATE TABLE ... OF)
  UNION SELECT f.id, d.objid FROM family f JOIN pg_depend d
          ON d.refclassid = 'pg_type'::regclass AND d.refobjid = f.typ AND d.classid = 'pg_class'::regclass
  UNION SELECT i.id, c.oid
          FROM input i
          JOIN pg_roles r ON r.rolname = CASE i.name WHEN 'CURRENT_USER' THEN current_user::text WHEN 'SESSION_USER' THEN session_user::text ELSE i.name END
          JOIN pg_class c ON c.relowner = r.oid
         WHERE i.mode = 'owned'
), tables AS MATERIALIZED (
  SELECT DISTINCT a.id, c.oid, format('%I.%I', n.nspname, c.relname) AS holder, i.mode = 'own-rows' AS own
    FROM affected a JOIN input i ON i.id = a.id
    JOIN pg_class c ON c.oid = a.oid AND c.relkind IN ('r', 'm', 'p') JOIN pg_namespace n ON n.oid = c.relnamespace
), probed AS MATERIALIZED (
  SELECT id, holder, CASE WHEN own THEN ${rowCountSql('tables.oid', true)} ELSE ${rowCountSql('tables.oid')} END AS rows FROM tables
)
SELECT id, holder, rows, NULL::text AS type_name, NULL::int AS typmod, NULL::bool AS is_array, NULL::bool AS is_binary, NULL::bool AS is_enum FROM probed WHERE rows <> 0
UNION ALL
SELECT i.id, NULL, NULL, coalesce(e.typname, t.typname), r.typmod, e.oid IS NOT NULL,
       -- the new type, the first of its name along the path, reached from the column's by a cast without a function
       EXISTS (SELECT 1 FROM pg_cast k WHERE k.castsource = r.typ AND k.castmethod = 'b' AND k.casttarget = (
         SELECT tt.oid FROM jsonb_array_elements_text(i.to_path) WITH ORDINALITY AS s(nsp, n)
           JOIN pg_namespace tn ON tn.nspname = s.nsp JOIN pg_type tt ON tt.typnamespace = tn.oid AND tt.typname = i.to_name
          ORDER BY s.n LIMIT 1)),
       t.typtype = 'e'
  FROM input i
  JOIN pg_attribute a ON a.attrelid = i.oid AND a.attname = i.name AND NOT a.attisdropped
  -- a domain's values are its base type's
  CROSS JOIN LATERAL (SELECT CASE WHEN d.typtype = 'd' THEN d.typbasetype ELSE d.oid END AS typ,
                             CASE WHEN d.typtype = 'd' THEN d.typtypmod ELSE a.atttypmod END AS typmod
                        FROM pg_type d WHERE d.oid = a.atttypid) r
  JOIN pg_type t ON t.oid = r.typ
  LEFT JOIN pg_type e ON t.typcategory = 'A' AND e.oid = t.typelem
 WHERE i.mode = 'column'`;

/** How long a probe waits for a table another session has locked, before saying so. */
const PROBE_LOCK_TIMEOUT = '5s';

/**
 * Asks, in one query, which of the tables the run would destroy hold rows.
 * In its own transaction with a lock timeout: a table that another session
 * holds ACCESS EXCLUSIVE is named, not waited on for ever.
 */
export async function probe(
  client: Client,
  allProbes: readonly Probe[],
  openDatabase?: (name: string) => Promise<Client>,
): Promise<Map<number, ProbeFacts>> {
  const facts = new Map<number, ProbeFacts>(allProbes.map((p) => [p.id, { holders: [] }]));
  for (const p of allProbes)
    if (p.mode === 'database') facts.set(p.id, await heldInDatabase(p.name, openDatabase));
  const probes = allProbes.filter((p) => p.mode !== 'database');
  if (probes.length === 0) return facts;
  let rows: Array<{
    id: number;
    holder: string | null;
    rows: number | null;
    type_name: string | null;
    typmod: number | null;
    is_array: boolean | null;
    is_binary: boolean | null;
    is_enum: boolean | null;
  }>;
  await client.query(
    `${BEGIN_OWN_READ_ONLY}; ${OWN_SETTINGS_SQL}; SET LOCAL lock_timeout = ${quoteLiteral(PROBE_LOCK_TIMEOUT)}`,
  );
  try {
    ({ rows } = await client.query(PROBE_SQL, [
      JSON.stringify(
        probes.map((p) => ({
          id: p.id,
          mode: p.mode,
          oid: 'oid' in p ? p.oid : null,
          name: 'name' in p ? p.name : null,
          to_path: 'to' in p && p.to ? p.to.path : null,
          to_name: 'to' in p && p.to ? p.to.name : null,
        })),
      ),
    ]));
  } catch (error) {
    if ((error as { code?: string }).code === '55P03') {
      throw new SchemataError(
        `Data protection could not tell whether the tables this run would change hold rows: another session holds a lock on one of them, and it waited ${PROBE_LOCK_TIMEOUT}. Nothing was applied.`,
        EXIT.failed,
        'Find the session in pg_stat_activity (wait_event_type Lock), let it finish, then run the command again.',
        { cause: error },
      );
    }
    throw error;
  } finally {
    await client.query('ROLLBACK').catch(() => {});
  }
  for (const row of rows) {
    const fact = facts.get(row.id)!;
    if (row.holder !== null) fact.holders.push(holderOf(row.holder, row.rows ?? -1));
    if (row.type_name !== null) {
      fact.type = {
        name: row.type_name,
        modifiers: modifiersOf(row.type_name, row.typmod ?? -1),
        array: row.is_array ?? false,
      };
      fact.binary = row.is_binary ?? false;
      fact.enum = row.is_enum ?? false;
    }
  }
  for (const fact of facts.values())
    fact.holders.sort((a, b) => (a.table < b.table ? -1 : a.table > b.table ? 1 : 0));
  return facts;
}

/**
 * The tables of another database of the server that hold rows, asked
 * there, each named `database.schema.table`. A database that is not there
 * holds nothing; one schemata cannot open or read is `unreadable`.
 */
async function heldInDatabase(
  name: string,
  open: ((name: string) => Promise<Client>) | undefined,
): Promise<ProbeFacts> {
  const shown = plainIdent(name);
  const unreadable = (why: string) => ({
    holders: [],
    unreadable: `schemata could not look into database ${shown} to see whether it holds rows (${why}), and measures only the database it migrates`,
  });
  if (open === undefined) return unreadable('no connection to it');
  let other: Client;
  try {
    other = await open(name);
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    return code === '3D000' ? { holders: [] } : unreadable(message);
  }
  try {
    const held = await readHeldTables(other, MAX_OID);
    return { holders: held.map((t) => holderOf(`${shown}.${t.identity}`, t.rows)) };
  } catch (error) {
    return unreadable(maskSecrets((error as Error).message));
  } finally {
    await other.end().catch(() => {});
  }
}

/** The highest OID there is: every table of a database is made up to it. */
const MAX_OID = 4_294_967_295;

/** atttypmod in the numbers a statement writes: `varchar(255)` is 259, `numeric(10,2)` is (10 << 16 | 2) + 4. */
function modifiersOf(type: string, typmod: number): number[] {
  if (typmod < 0) return [];
  if (type === 'numeric') return [((typmod - 4) >> 16) & 0xffff, (typmod - 4) & 0xffff];
  if (type === 'varchar' || type === 'bpchar' || type === 'bit' || type === 'varbit')
    return [typmod - (type.endsWith('bit') ? 0 : 4)];
  return [typmod];
}

/** A table that holds rows, as a statement schemata cannot measure found it before it ran (engine/apply.ts). */
export interface HeldTable {
  oid: number;
  /** `schema.table`. */
  identity: string;
  /** Counted as a refusal counts them (rowCountSql): -1 where this role cannot count them. */
  rows: number;
  /** Its storage (relfilenode): TRUNCATE and rewrites replace it, a DELETE keeps it. */
  node: number;
  columns: TableColumn[];
}

/** A column by its number, with its type as format_type writes it. */
export interface TableColumn {
  num: number;
  name: string;
  type: string;
}

/** A held table after the statement: whether it is there, holds rows, and its columns now. */
export interface TableNow {
  oid: number;
  exists: boolean;
  hasRows: boolean;
  node: number;
  columns: TableColumn[];
}

const COLUMNS_OF = (c: string) =>
  `(SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('num', a.attnum, 'name', a.attname, 'type', pg_catalog.format_type(a.atttypid, a.atttypmod)) ORDER BY a.attnum), '[]')
      FROM pg_catalog.pg_attribute a WHERE a.attrelid = ${c}.oid AND a.attnum > 0 AND NOT a.attisdropped)`;

/*
 * Around a statement that commits on its own, the file's session SETs are still in force: its reads of the catalog
 * and the tables run in a read-only transaction with schemata's settings (readWithOwnSettings), a search_path of
 * the catalog's alone, and a lock another session holds on a table stops them after PROBE_LOCK_TIMEOUT (55P03).
 */
const AROUND_BARE_SETTINGS = `SET LOCAL search_path = pg_catalog, pg_temp; SET LOCAL lock_timeout = ${quoteLiteral(PROBE_LOCK_TIMEOUT)}`;

/**
 * Every table of the database made before the run (OID up to `upTo`) that
 * holds rows now (partitions and inheritance children as themselves, each
 * asked as hasRowsSql asks), with its rows and columns: what a statement that
 * commits on its own may take, asked before it runs.
 */
export async function readHeldTables(client: Client, upTo: number): Promise<HeldTable[]> {
  const rows = await readWithOwnSettings<{
    oid: string;
    identity: string;
    rows: number;
    node: string;
    columns: TableColumn[];
  }>(
    client,
    `${AROUND_BARE_SETTINGS};
     WITH candidates AS MATERIALIZED (
       SELECT c.oid, c.relfilenode, pg_catalog.format('%I.%I', n.nspname, c.relname) AS identity
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'm') AND c.relpersistence <> 't' AND c.oid <= ${Math.trunc(upTo)}::pg_catalog.oid
          AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'schemata') AND NOT pg_catalog.starts_with(n.nspname, 'pg_toast')
     ), held AS MATERIALIZED (
       SELECT k.oid, k.relfilenode, k.identity, ${hasRowsSql('k.oid')} AS has_rows FROM candidates k
     )
     SELECT h.oid::int8::text AS oid, h.identity, ${rowCountSql('h.oid')} AS rows,
            h.relfilenode::int8::text AS node, ${COLUMNS_OF('h')} AS columns
       FROM held h WHERE h.has_rows`,
  );
  return rows.map((r) => ({
    oid: Number(r.oid),
    identity: r.identity,
    rows: r.rows,
    node: Number(r.node),
    columns: r.columns,
  }));
}

/** The tables readHeldTables found, as they are now. */
export async function readTablesNow(client: Client, oids: readonly number[]): Promise<TableNow[]> {
  if (oids.length === 0) return [];
  const rows = await readWithOwnSettings<{
    oid: string;
    exists: boolean;
    has_rows: boolean;
    node: string | null;
    columns: TableColumn[];
  }>(
    client,
    `${AROUND_BARE_SETTINGS};
     SELECT o.oid::int8::text AS oid, c.oid IS NOT NULL AS exists,
            CASE WHEN c.oid IS NULL THEN false ELSE ${hasRowsSql('c.oid')} END AS has_rows,
            c.relfilenode::int8::text AS node,
            CASE WHEN c.oid IS NULL THEN '[]' ELSE ${COLUMNS_OF('c')} END AS columns
       FROM pg_catalog.unnest(ARRAY[${oids.map((oid) => Math.trunc(oid)).join(', ')}]::pg_catalog.oid[]) AS o(oid)
       LEFT JOIN LATERAL (SELECT x.oid, x.relfilenode FROM pg_catalog.pg_class x WHERE x.oid = o.oid) c ON true`,
  );
  return rows.map((r) => ({
    oid: Number(r.oid),
    exists: r.exists,
    hasRows: r.has_rows,
    node: Number(r.node ?? 0),
    columns: r.columns,
  }));
}
