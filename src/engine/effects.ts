import { catalogObjectsSql, type SnapshotScope } from '../catalog/listing.js';
import { CATALOG_WRITTEN } from './measure.js';

/*
 * What the measurement of the transaction found (engine/measure.ts), for the
 * history: the row counters per table, and the losses a force allowed. A
 * setting once set in the session reads as '' afterwards: none is NULL.
 */
const MEASURED_EFFECTS_SQL = `'rows', NULLIF(pg_catalog.current_setting('schemata.rows', true), '')::jsonb,
    'forced', NULLIF(pg_catalog.current_setting('schemata.lost', true), '')`;

/** The columns of a snapshot row, each text. */
export const SNAPSHOT_NAMES = [
  'kind',
  'key',
  'identity',
  'schema_name',
  'name',
  'parent',
  'table_name',
];

/** The same with their type, for json_to_recordset and a call of the snapshot function. */
export const SNAPSHOT_COLUMNS = SNAPSHOT_NAMES.map((n) => `${n} text`).join(', ');

/*
 * The snapshot before a migration is kept in settings local to its
 * transaction, not in a temporary table: no catalog write and no TEMP
 * privilege per migration, and it follows the batch behind a transaction
 * pooler. Only the columns the comparison reads, each column one text array
 * (one setting each, in the same order, aggregated in one pass): a listing of
 * 12,000 objects (a table of 1,000 partitions) was kept and read back in 34 ms
 * this way, against 72 as one json array of objects (58 with these five
 * columns) and twice that as jsonb.
 */
const BEFORE_COLUMNS = ['kind', 'key', 'identity', 'name', 'parent'] as const;
const beforeSetting = (column: string) => `schemata.before_${column}`;

/**
 * The statement that keeps the snapshot before, from the rows of `rows` (a FROM item with the snapshot's
 * columns), in one aggregation over them; `also`: more of the statement's SELECT list.
 */
export const keepBeforeSql = (rows: string, also: readonly string[] = []) =>
  `SELECT ${[...BEFORE_COLUMNS.map((c) => `pg_catalog.set_config('${beforeSetting(c)}', COALESCE(v.${c}, '{}')::text, true)`), ...also].join(',\n       ')}
  FROM (SELECT ${BEFORE_COLUMNS.map((c) => `pg_catalog.array_agg(${c}) AS ${c}`).join(', ')} FROM ${rows}) v`;

/** The snapshot before, as rows: a FROM item (the arrays unnested side by side). */
export const BEFORE_ROWS = `ROWS FROM (${BEFORE_COLUMNS.map((c) => `pg_catalog.unnest(pg_catalog.current_setting('${beforeSetting(c)}')::text[])`).join(', ')}) AS x(${BEFORE_COLUMNS.join(', ')})`;

/** A snapshot as json (`json`, an SQL expression), as rows: a FROM item. */
export const snapshotRows = (json: string) =>
  `pg_catalog.json_to_recordset(${json}) AS x(${SNAPSHOT_COLUMNS})`;

/** The listing of `scope` as one json expression, written into the statement. */
export function listingSql(scope: SnapshotScope): string {
  return `(SELECT COALESCE(pg_catalog.json_agg(o), '[]') FROM (${catalogObjectsSql(scope)}) o)`;
}

/** The listing of `scope` as rows: a FROM item. */
export const listingRows = (scope: SnapshotScope) => `(${catalogObjectsSql(scope)}) AS x`;

/** An event row's values, each an SQL expression (literals in a batch, parameters in a function). */
export interface EventValues {
  set: string;
  version: string;
  name: string;
  file: string;
  checksum: string;
  event: string;
  duration: string;
}

/** The INSERT of one event into schemata.migrations, without its `;`. */
export function eventInsertSql(i: EventValues, effects: string): string {
  return `INSERT INTO schemata.migrations (set_name, version, name, file, checksum, event, duration_ms, effects)
VALUES (${i.set}, ${i.version}, ${i.name}, ${i.file}, ${i.checksum}, ${i.event}, ${i.duration}, ${effects})`;
}

/** What the effects statement is given: the event's values, the snapshot after the migration (a FROM item of its rows), and `creates`. */
export interface EffectsInputs extends EventValues {
  after: string;
  /** The names of the indexes and constraints the file's own statements create (text[]): made by it, never rebuilt. */
  creates: string;
  /** Who a new object is expected of, per made row `m`, as jsonb [version, file]; default this migration (a down credits what it brings back elsewhere: engine/reversal.ts). */
  madeBy?: string;
}

/*
 * After a migration, in the same transaction, one statement: compare the
 * catalog with the snapshot by key and bring the expected state along. What
 * is gone leaves the expected state (whichever set made it); what was renamed
 * or moved is expected under its new name; what is new is expected, made by
 * this migration (a stored row of the same name that was missing is
 * replaced, unless that row is itself renamed away or gone). Each stored row
 * is changed by one part of the statement at most. The event row keeps the
 * effects as data. A migration that wrote none of the catalogs the listing
 * reads (its transaction's own row counters, engine/measure.ts
 * CATALOG_WRITTEN) changed nothing of it: it is not listed again.
 *
 * An index or constraint gone and made again under the same name on the same
 * table (its key before and after: the table itself was not made again) is
 * the same object rebuilt: PostgreSQL does that under a new OID for what
 * depends on a column whose type ALTER COLUMN ... TYPE changes, and for
 * REINDEX CONCURRENTLY. It stays the object of the migration that made it,
 * as a rename does. Not where one of the file's own statements creates that
 * name (DROP INDEX i; CREATE INDEX i ...): that statement made the object
 * there is now, whatever its definition, and repair re-runs it.
 */
export function effectsSql(i: EffectsInputs): string {
  const summary = `pg_catalog.jsonb_build_object(
    'created', (SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('kind', m.kind, 'identity', m.identity)), '[]') FROM made m),
    'dropped', (SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('kind', g.kind, 'identity', g.identity)), '[]') FROM gone g),
    'renamed', (SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('kind', r.kind, 'from', r.old_identity, 'to', r.identity)), '[]') FROM moved r WHERE r.old_identity <> r.identity),
    'rebuilt', (SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('kind', r.kind, 'identity', r.identity)), '[]') FROM rebuilt r),
    ${MEASURED_EFFECTS_SQL})`;
  // Where the measurement saw none of the listing's catalogs written, the catalog is as it was: both snapshots are
  // left empty, so that nothing is compared, and the listing after the file is not run (a condition on no row
  // of it: the plan checks it once, before reading any).
  const changed = `pg_catalog.current_setting('${CATALOG_WRITTEN}', true) IS DISTINCT FROM 'off'`;
  return `WITH b AS MATERIALIZED (SELECT * FROM ${BEFORE_ROWS} WHERE ${changed}),
  a AS MATERIALIZED (SELECT * FROM ${i.after} WHERE ${changed}),
  added AS MATERIALIZED (SELECT a.* FROM a WHERE NOT EXISTS (SELECT 1 FROM b WHERE b.key = a.key)),
  removed AS MATERIALIZED (SELECT b.* FROM b WHERE NOT EXISTS (SELECT 1 FROM a WHERE a.key = b.key)),
  rebuilt AS MATERIALIZED (
    SELECT o.key AS old_key, n.key, o.kind, o.identity AS old_identity, o.parent AS old_parent, n.identity, n.schema_name, n.name, n.parent
      FROM removed o JOIN added n ON n.kind = o.kind AND n.name = o.name
      JOIN b ot ON ot.identity = o.parent AND ot.parent IS NULL AND ot.kind IN ('table', 'materialized view', 'domain')
      JOIN a nt ON nt.key = ot.key AND nt.identity = n.parent
     WHERE o.kind IN ('index', 'constraint') AND n.name <> ALL(${i.creates})),
  made AS MATERIALIZED (SELECT n.* FROM added n WHERE NOT EXISTS (SELECT 1 FROM rebuilt r WHERE r.key = n.key)),
  gone AS MATERIALIZED (SELECT o.* FROM removed o WHERE NOT EXISTS (SELECT 1 FROM rebuilt r WHERE r.old_key = o.key)),
  moved AS MATERIALIZED (
    SELECT b.kind, b.identity AS old_identity, a.identity, a.schema_name, a.name, a.parent
      FROM b JOIN a ON a.key = b.key WHERE (a.identity, a.parent) IS DISTINCT FROM (b.identity, b.parent)
    UNION ALL
    SELECT r.kind, r.old_identity, r.identity, r.schema_name, r.name, r.parent
      FROM rebuilt r WHERE (r.identity, r.parent) IS DISTINCT FROM (r.old_identity, r.old_parent)),
  forgotten AS (DELETE FROM schemata.objects o USING gone g WHERE o.kind = g.kind AND o.identity = g.identity),
  -- The rows renamed, found by the identity index: a join of the history's objects with a few renames read every row.
  renamed AS (
    UPDATE schemata.objects o SET identity = r.identity, schema_name = r.schema_name, name = r.name, parent = r.parent
      FROM moved r WHERE o.identity = ANY(ARRAY(SELECT m.old_identity FROM moved m)) AND o.kind = r.kind AND o.identity = r.old_identity),
  -- The rows replaced, found by the identity index too (a hash join with the objects made read every row).
  replaced AS (
    DELETE FROM schemata.objects o USING made m
     WHERE o.identity = ANY(ARRAY(SELECT n.identity FROM made n)) AND o.kind = m.kind AND o.identity = m.identity
       AND NOT EXISTS (SELECT 1 FROM moved r WHERE r.kind = m.kind AND r.old_identity = m.identity)
       AND NOT EXISTS (SELECT 1 FROM gone g WHERE g.kind = m.kind AND g.identity = m.identity)),
  expected AS (
    INSERT INTO schemata.objects (set_name, kind, identity, schema_name, name, parent, version, file)
    ${
      i.madeBy === undefined
        ? `SELECT ${i.set}, m.kind, m.identity, m.schema_name, m.name, m.parent, ${i.version}, ${i.file} FROM made m`
        : `SELECT ${i.set}, m.kind, m.identity, m.schema_name, m.name, m.parent, c.by->>0, c.by->>1
      FROM made m CROSS JOIN LATERAL (SELECT ${i.madeBy} AS by) c`
    })
${eventInsertSql(i, summary)}`;
}
