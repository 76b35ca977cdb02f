import { quoteLiteral as literal } from '../sql/quote.js';
import { compareVersions, type MigrationFile } from '../config/discover.js';
import {
  BEFORE_RELATIONS,
  type CatalogObject,
  CATALOG_OBJECTS_SQL,
  catalogObjectsSql,
  presentObjectsSql,
  type ObjectKind,
  type SnapshotScope,
} from '../catalog/listing.js';
import {
  effectsSql,
  eventInsertSql,
  type EventValues,
  keepBeforeSql,
  listingRows,
  listingSql,
  snapshotRows,
  SNAPSHOT_COLUMNS,
} from './effects.js';
import { ENSURE_FUNCTIONS_SQL, FUNCTIONS } from './functions.js';
import { ValidationError } from '../errors.js';
import type { Client } from './connect.js';
import {
  BEGIN_OWN,
  dateOfEpochMillis,
  epochMillisSql,
  OWN_SETTINGS_SQL,
  readWithOwnSettings,
} from './own-settings.js';
import {
  COUNTERS_BEFORE_FILE_PLPGSQL,
  MEASURE_AFTER_SQL,
  type Measurement,
  measureBeforeBody,
  NOTHING_FINGERPRINTED_PLPGSQL,
  valuesBeforePlpgsql,
  widenedBeforePlpgsql,
  measureLiterals,
} from './measure.js';

/**
 * The version of the tables in schema `schemata`. 1: one row per migration,
 * overwritten, with what the parser guessed it made. 2: a history of events
 * (`schemata.migrations`) and the objects each migration really made
 * (`schemata.objects`), read from the catalog when it ran.
 */
export const TRACKING_FORMAT = 2;

/** What happened to a migration; every event is a row of its own, none is overwritten. */
export type TrackingEvent =
  'applied' | 'repaired' | 'baselined' | 'running' | 'failed' | 'rolled-back';

/** A migration as tracking knows it now: its latest event. */
export interface TrackedMigration {
  version: string;
  name: string;
  file: string;
  checksum: string;
  /** applied (also repaired or baselined); `running` while, or if killed while, it ran outside a transaction; `failed`. */
  state: 'applied' | 'running' | 'failed';
  event: TrackingEvent;
  appliedAt: Date;
  durationMs: number | null;
  /** Its latest event's id: a migration is run only while that is still its latest (engine/lock.ts onceSql). */
  eventId: number | null;
  /** Baselined from another tool's history (`baseline --from`): that tool. */
  from?: string | undefined;
}

/** An object an applied migration made, as the catalog named it when it ran (or was renamed since by a migration). */
export interface ExpectedObject {
  kind: ObjectKind;
  identity: string;
  schema: string;
  /** Its own name: `items` of `workspace.items`, `title` of column `workspace.items.title`. */
  name: string;
  parent: string | null;
  version: string;
  file: string;
}

const EVENTS = "'applied', 'repaired', 'baselined', 'running', 'failed', 'rolled-back'";

/*
 * Tables made before rollback existed allow every event but `rolled-back`:
 * `rollback` widens the check before its first down (an older schemata
 * never writes that event, and reads a rolled-back migration as pending).
 */
export const ALLOW_ROLLED_BACK_SQL = `DO $schemata$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint
                  WHERE conrelid = 'schemata.migrations'::pg_catalog.regclass AND contype = 'c'
                    AND pg_catalog.pg_get_constraintdef(oid) LIKE '%rolled-back%') THEN
    ALTER TABLE schemata.migrations DROP CONSTRAINT IF EXISTS migrations_event_check,
      ADD CONSTRAINT migrations_event_check CHECK (event IN (${EVENTS}));
  END IF;
END
$schemata$;`;

/*
 * Our own schema, so that it never collides with another tool's
 * schema_migrations. The DO block checks existence first: CREATE SCHEMA IF NOT
 * EXISTS checks the CREATE privilege even when the schema is there, and a
 * deploy role often has no such privilege once the tables exist. Runs under
 * the advisory lock, so concurrent runs cannot race on it. A format-1 table
 * (schemata 0.1) is kept as migrations_format1 and its rows become the first
 * events of the history; the objects of its sets are adopted by the next
 * migrate (see adoptObjects).
 */
export const ENSURE_TRACKING_SQL = `DO $schemata$
BEGIN
  -- Before the first write of a run, whether the tables are there or not (engine/privileges.ts readOnlyTarget says why).
  IF pg_catalog.current_setting('transaction_read_only') = 'on' THEN
    RAISE EXCEPTION USING ERRCODE = 'read_only_sql_transaction', MESSAGE = 'the database takes no writes in this session';
  END IF;
  IF pg_catalog.to_regnamespace('schemata') IS NULL THEN
    CREATE SCHEMA schemata;
  END IF;
  IF pg_catalog.to_regclass('schemata.migrations') IS NOT NULL AND NOT EXISTS (
       SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = pg_catalog.to_regclass('schemata.migrations') AND attname = 'event') THEN
    ALTER TABLE schemata.migrations RENAME TO migrations_format1;
    ALTER TABLE schemata.migrations_format1 RENAME CONSTRAINT migrations_pkey TO migrations_format1_pkey;
  END IF;
  IF pg_catalog.to_regclass('schemata.migrations') IS NULL THEN
    CREATE TABLE schemata.migrations (
      id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      set_name    text        NOT NULL,
      version     text        NOT NULL,
      name        text        NOT NULL,
      file        text        NOT NULL,
      checksum    text        NOT NULL,
      event       text        NOT NULL CONSTRAINT migrations_event_check CHECK (event IN (${EVENTS})),
      at          timestamptz NOT NULL DEFAULT now(),
      duration_ms integer,
      effects     jsonb
    );
    CREATE INDEX migrations_set_version ON schemata.migrations (set_name, version, id);
    COMMENT ON TABLE schemata.migrations IS 'The history of schemata runs, per set: one row per event, never updated. Do not edit by hand: use schemata migrate --repair or schemata baseline.';
    CREATE TABLE schemata.objects (
      set_name    text NOT NULL,
      kind        text NOT NULL,
      identity    text NOT NULL,
      schema_name text NOT NULL,
      name        text NOT NULL,
      parent      text,
      version     text NOT NULL,
      file        text NOT NULL
    );
    CREATE INDEX objects_set ON schemata.objects (set_name);
    CREATE INDEX objects_identity ON schemata.objects (identity);
    COMMENT ON TABLE schemata.objects IS 'What each applied migration made, read from the catalog when it ran: the expected state that validation compares with the database.';
    CREATE TABLE schemata.meta (name text PRIMARY KEY, value text NOT NULL);
    INSERT INTO schemata.meta VALUES ('format', '${TRACKING_FORMAT}');
    IF pg_catalog.to_regclass('schemata.migrations_format1') IS NOT NULL THEN
      INSERT INTO schemata.migrations (set_name, version, name, file, checksum, event, at, duration_ms)
      SELECT set_name, version, name, file, checksum, state, applied_at, duration_ms
        FROM schemata.migrations_format1 ORDER BY applied_at, version::numeric;
      INSERT INTO schemata.meta SELECT DISTINCT 'adopt:' || set_name, 'format 1' FROM schemata.migrations_format1;
    END IF;
  END IF;
END
$schemata$;`;

/** Which tables are there: none yet, format 1 (read-only callers see it until migrate upgrades it), or later. */
const TABLES_SQL = `SELECT pg_catalog.to_regclass('schemata.meta') IS NOT NULL AS meta, pg_catalog.to_regclass('schemata.migrations') IS NOT NULL AS migrations`;

const META_SQL = `SELECT (SELECT value::int FROM schemata.meta WHERE name = 'format') AS format,
  EXISTS (SELECT 1 FROM schemata.meta WHERE name = 'adopt:' || $1) AS adopt`;

const CURRENT_SQL = `SELECT DISTINCT ON (version) id, version, name, file, checksum, event, ${epochMillisSql('at')} AS at, duration_ms, effects->'from'->>'tool' AS from_tool
  FROM schemata.migrations WHERE set_name = $1 ORDER BY version, id DESC`;

const FORMAT1_SQL = `SELECT NULL::bigint AS id, version, name, file, checksum, state AS event, ${epochMillisSql('applied_at')} AS at, duration_ms, NULL AS from_tool
  FROM schemata.migrations WHERE set_name = $1`;

interface Row {
  /** A string from a row, a number from the JSON of readTracking. */
  id: string | number | null;
  version: string;
  name: string;
  file: string;
  checksum: string;
  event: TrackingEvent;
  /** Milliseconds since the epoch (epochMillisSql). */
  at: string | number;
  duration_ms: number | null;
  from_tool: string | null;
}

const stateOf = (event: TrackingEvent): TrackedMigration['state'] =>
  event === 'running' || event === 'failed' ? event : 'applied';

/** A tracking row as the migration it says is latest. */
const trackedOf = (r: Row): TrackedMigration => ({
  version: r.version,
  name: r.name,
  file: r.file,
  checksum: r.checksum,
  event: r.event,
  state: stateOf(r.event),
  appliedAt: dateOfEpochMillis(r.at),
  durationMs: r.duration_ms,
  eventId: r.id === null ? null : Number(r.id),
  from: r.from_tool ?? undefined,
});

/** Where a baselined migration's history came from: the other tool, its table and the row that said it ran. */
export interface AdoptedFrom {
  tool: string;
  table: string;
  id: string;
  row: string;
}

/** What tracking says about a set, with the format it is in. */
export interface Tracking {
  /** 0: no tracking table yet. */
  format: number;
  migrations: TrackedMigration[];
  /** A format-1 set whose objects were not adopted yet: object-level checks are not possible. */
  adoptPending: boolean;
  /** Migrations whose latest event is `rolled-back` (pending again), with that event's id: a new run claims them from it. */
  rolledBack: Map<string, number>;
}

/** What the tracking schema offers the run. */
export interface TrackingFeatures {
  /** The functions of engine/functions.ts are there: batches call them instead of carrying their statements. */
  functions: boolean;
}

/** Creates (or upgrades) the tracking tables if needed, and the functions where the role may (call under the lock). */
export async function ensureTracking(client: Client): Promise<TrackingFeatures> {
  // With schemata's own settings, local to each batch's implicit transaction (or to the run lock's, where it
  // runs in one): a database's statement_timeout of 30 ms cut the making of the tables and functions short.
  await client.query(`${OWN_SETTINGS_SQL}; ${ENSURE_TRACKING_SQL}`);
  const results = (await client.query(
    `${OWN_SETTINGS_SQL}; ${ENSURE_FUNCTIONS_SQL}`,
  )) as unknown as Array<{
    rows: Array<{ functions: boolean }>;
  }>;
  return { functions: results[results.length - 1]!.rows[0]!.functions };
}

/**
 * Every set whose name starts with `prefix` (the tenants `set/…` of a fleet),
 * each with its migrations as their latest events: one query for a fleet of
 * tenant schemas, so that the tenants already up to date need no run of
 * their own. Undefined when the tracking tables are not in format 2.
 */
export async function readTrackingByPrefix(
  client: Client,
  prefix: string,
): Promise<Map<string, TrackedMigration[]> | undefined> {
  const tables = (await client.query<{ meta: boolean; migrations: boolean }>(TABLES_SQL)).rows[0]!;
  if (!tables.migrations) return new Map();
  if (!tables.meta) return undefined;
  const meta = (await client.query<{ format: number; adopt: boolean }>(META_SQL, [''])).rows[0]!;
  if (meta.format !== TRACKING_FORMAT) return undefined;
  const { rows } = await client.query<Row & { set_name: string }>(
    `SELECT DISTINCT ON (set_name, version) set_name, id, version, name, file, checksum, event, ${epochMillisSql('at')} AS at, duration_ms, effects->'from'->>'tool' AS from_tool
       FROM schemata.migrations WHERE set_name LIKE $1 ORDER BY set_name, version, id DESC`,
    [`${prefix.replace(/[\\%_]/g, '\\$&')}%`],
  );
  const bySet = new Map<string, TrackedMigration[]>();
  for (const r of rows) {
    // A tenant's rolled-back migration is pending: its own run plans it.
    if (r.event === 'rolled-back') continue;
    const list = bySet.get(r.set_name) ?? [];
    list.push(trackedOf(r));
    bySet.set(r.set_name, list);
  }
  for (const list of bySet.values()) list.sort((a, b) => compareVersions(a.version, b.version));
  return bySet;
}

/**
 * Whether the database keeps an expected state: `schemata.objects`, which
 * format 2 made (schemata 0.1's tables had none), there or not. Asked by the
 * session that lists the catalog, which does not wait for the run's reading
 * of tracking (that reading refuses a format newer than this schemata's).
 * The simple protocol: in the run lock's transaction, a portal would stay
 * open with it (engine/lock.ts).
 */
export async function keepsExpectedState(client: Client): Promise<boolean> {
  const { rows } = await client.query<{ kept: boolean }>(
    "SELECT pg_catalog.to_regclass('schemata.objects') IS NOT NULL AS kept",
  );
  return rows[0]?.kept === true;
}

/** The set's migrations, each as its latest event, in version order. */
export async function readTracking(client: Client, set: string): Promise<Tracking> {
  const tables = (await client.query<{ meta: boolean; migrations: boolean }>(TABLES_SQL)).rows[0]!;
  if (!tables.migrations)
    return { format: 0, migrations: [], adoptPending: false, rolledBack: new Map() };
  const meta = tables.meta
    ? (await client.query<{ format: number; adopt: boolean }>(META_SQL, [set])).rows[0]!
    : { format: 1, adopt: true };
  if (meta.format > TRACKING_FORMAT) throw new TrackingFormatError(meta.format);
  // One JSON text, parsed whole: the driver's reading of a thousand rows field by field cost twice as much.
  const { rows: json } = await client.query<{ rows: string }>(
    `SELECT COALESCE(pg_catalog.json_agg(x), '[]')::text AS rows FROM (${meta.format === 1 ? FORMAT1_SQL : CURRENT_SQL}) x`,
    [set],
  );
  const rows = JSON.parse(json[0]!.rows) as Row[];
  const migrations = rows
    .filter((r) => r.event !== 'rolled-back')
    .map(trackedOf)
    .sort((a, b) => compareVersions(a.version, b.version));
  const rolledBack = new Map(
    rows.filter((r) => r.event === 'rolled-back').map((r) => [r.version, Number(r.id)]),
  );
  return {
    format: meta.format,
    migrations,
    adoptPending: meta.adopt && migrations.length > 0,
    rolledBack,
  };
}

/** Rows a migration changed in one table, as the measurement in its transaction counted them (engine/measure.ts). */
export interface RowChange {
  table: string;
  inserted: number;
  updated: number;
  deleted: number;
}

/*
 * Every event of a version that was measured counts: a repair that re-ran
 * only part of a file must not hide what the whole file did the first time.
 */
const RECORDED_ROWS_SQL = `SELECT e.version, COALESCE(pg_catalog.jsonb_agg(r.change) FILTER (WHERE r.change IS NOT NULL), '[]') AS changes
  FROM schemata.migrations e
  LEFT JOIN LATERAL pg_catalog.jsonb_array_elements(e.effects -> 'rows') AS r(change) ON true
 WHERE e.set_name = $1 AND e.version = ANY ($2::text[]) AND pg_catalog.jsonb_typeof(e.effects -> 'rows') = 'array'
 GROUP BY e.version`;

/**
 * What the measurement recorded of each version's row changes, over all its
 * events. A version absent from the map never ran measured (recorded before
 * the measurement existed, by baseline, or outside a transaction).
 */
export async function readRecordedRows(
  client: Client,
  set: string,
  versions: readonly string[],
): Promise<Map<string, RowChange[]>> {
  if (versions.length === 0) return new Map();
  const { rows } = await client.query<{ version: string; changes: RowChange[] }>(
    RECORDED_ROWS_SQL,
    [set, versions],
  );
  return new Map(rows.map((r) => [r.version, r.changes]));
}

export class TrackingFormatError extends ValidationError {
  constructor(format: number) {
    super(
      `The tracking tables in schema schemata are in format ${format}, written by a newer schemata than this one (which reads format ${TRACKING_FORMAT}); nothing was read or written.`,
      'Run the schemata version that wrote them, or upgrade this project to it (npm install schemata@latest).',
    );
  }
}

/**
 * The set's tracking as a mark any write to it changes (its rows' count and the newest transaction that wrote
 * one: every format has those, schemata 0.1's too, which had no id); '' where there is no table yet.
 */
export async function readTrackingMark(client: Client, set: string): Promise<string> {
  const tables = (await client.query<{ migrations: boolean }>(TABLES_SQL)).rows[0];
  if (tables?.migrations !== true) return '';
  const { rows } = await client.query<{ mark: string }>(
    "SELECT pg_catalog.count(*) || '/' || COALESCE(pg_catalog.max(xmin::text::int8), 0) AS mark FROM schemata.migrations WHERE set_name = $1",
    [set],
  );
  return rows[0]?.mark ?? '';
}

/** Objects in the set's schemas that no migration (of any set) made: a DBA's index, a hand-made table. */
const extraSql = (
  schemas: readonly string[],
) => `WITH now AS MATERIALIZED (${presentObjectsSql(`ARRAY[${schemas.map(literal).join(', ')}]::text[]`)})
SELECT now.kind, now.identity, now.schema_name AS schema FROM now
 WHERE now.schema_name = ANY(ARRAY[${schemas.map(literal).join(', ')}]::text[]) AND now.kind <> 'schema'
   AND NOT EXISTS (SELECT 1 FROM schemata.objects o WHERE o.kind = now.kind AND o.identity = now.identity)
 ORDER BY now.identity, now.kind`;

/*
 * The expected objects that the catalog does not have, of every set of the
 * database, in one query whatever the length of the history: the stored
 * state matched with a listing of the catalog, as it is produced. The sets
 * of one database read it once. With `extraIn` (status), the same matching
 * also answers which objects of those schemas no migration made (extraSql),
 * as rows without a set: one full join, where a second anti join over the
 * listing kept for it cost half as much again (32 against 21 ms on 1,000
 * tables).
 */
const missingSql = (extraIn: readonly string[] | undefined) => `SELECT r.* FROM (${
  extraIn === undefined
    ? `
SELECT o.set_name, o.kind, o.identity, o.schema_name AS schema, o.name, o.parent, o.version, o.file
  FROM schemata.objects o
 WHERE NOT EXISTS (SELECT 1 FROM (${presentObjectsSql()}) now WHERE now.kind = o.kind AND now.identity = o.identity)`
    : `
SELECT o.set_name, COALESCE(o.kind, now.kind) AS kind, COALESCE(o.identity, now.identity) AS identity,
       COALESCE(o.schema_name, now.schema_name) AS schema, o.name, o.parent, o.version, o.file
  FROM schemata.objects o FULL JOIN (${presentObjectsSql()}) now ON now.kind = o.kind AND now.identity = o.identity
 WHERE now.kind IS NULL
    OR (o.kind IS NULL AND now.schema_name = ANY(ARRAY[${extraIn.map(literal).join(', ')}]::text[]) AND now.kind <> 'schema')`
}) r
 -- The missing by version, kind and identity; then the extra by identity and kind.
 ORDER BY r.set_name IS NULL, r.version::numeric, CASE WHEN r.set_name IS NULL THEN r.identity END, r.kind, r.identity`;

/*
 * The same, for one set, reading only the schemas its expected objects are
 * in: a tenant of a fleet, whose database holds a thousand other tenants;
 * and every set after its migrations ran. The listing is kept first: matched
 * as it is produced, the planner, which guesses a few of the set's rows
 * where schemata.objects was never analyzed, read it again for each.
 */
const missingOfSetSql = (
  set: string,
) => `WITH mine AS MATERIALIZED (SELECT * FROM schemata.objects WHERE set_name = ${literal(set)}),
now AS MATERIALIZED (${presentObjectsSql('ARRAY(SELECT DISTINCT schema_name FROM mine)')})
SELECT o.set_name, o.kind, o.identity, o.schema_name AS schema, o.name, o.parent, o.version, o.file
  FROM mine o
 WHERE NOT EXISTS (SELECT 1 FROM now WHERE now.kind = o.kind AND now.identity = o.identity)
 ORDER BY o.version::numeric, o.kind, o.identity`;

/** What is missing of one set alone. */
export async function missingObjectsOfSet(
  client: Client,
  set: string,
  { inTransaction = false } = {},
): Promise<ExpectedObject[]> {
  const rows = await readWithOwnSettings<ExpectedObject & { set_name: string }>(
    client,
    missingOfSetSql(set),
    { hashJoins: true, inTransaction },
  );
  return rows.map(({ set_name: _, ...object }) => object);
}

/** What is missing, by set. */
export async function missingObjectsBySet(client: Client): Promise<Map<string, ExpectedObject[]>> {
  return (await missingAndExtra(client, undefined)).missing;
}

/** An object of the set's schemas that no migration made. */
export interface ExtraObject {
  kind: ObjectKind;
  identity: string;
  schema: string;
}

/** What is missing, by set, and (with `extraIn`) what is extra in those schemas, from one reading of the catalog. */
export async function missingAndExtra(
  client: Client,
  extraIn: readonly string[] | undefined,
  { inTransaction = false } = {},
): Promise<{ missing: Map<string, ExpectedObject[]>; extra: ExtraObject[] | undefined }> {
  const rows = await readWithOwnSettings<ExpectedObject & { set_name: string | null }>(
    client,
    missingSql(extraIn),
    { hashJoins: true, inTransaction },
  );
  const missing = new Map<string, ExpectedObject[]>();
  const extra: ExtraObject[] = [];
  for (const { set_name: set, ...object } of rows) {
    if (set === null) {
      extra.push({ kind: object.kind, identity: object.identity, schema: object.schema });
      continue;
    }
    const objects = missing.get(set);
    if (objects) objects.push(object);
    else missing.set(set, [object]);
  }
  return { missing, extra: extraIn === undefined ? undefined : extra };
}

/** Objects of these schemas that no migration made (where the database keeps an expected state: keepsExpectedState). */
export async function extraObjects(
  client: Client,
  schemas: readonly string[],
): Promise<ExtraObject[]> {
  return readWithOwnSettings<ExtraObject>(client, extraSql(schemas), { hashJoins: true });
}

const UNRECORDED_SQL = `WITH now AS MATERIALIZED (${CATALOG_OBJECTS_SQL})
SELECT now.*, (SELECT (pg_catalog.current_schemas(false))[1]) AS creation_schema FROM now
 WHERE NOT EXISTS (SELECT 1 FROM schemata.objects o WHERE o.kind = now.kind AND o.identity = now.identity)`;

/** Baseline and adoption: the objects that exist and that no migration of any set is credited with yet. */
export async function unrecordedObjects(
  client: Client,
): Promise<{ objects: CatalogObject[]; creationSchema: string }> {
  const { rows } = await client.query<CatalogObject & { creation_schema: string | null }>(
    UNRECORDED_SQL,
  );
  return {
    objects: rows.map(({ creation_schema: _, ...o }) => o),
    creationSchema: rows[0]?.creation_schema ?? '',
  };
}

/** The whole snapshot, read by the client (migrations outside a transaction). */
export async function readCatalog(
  client: Client,
  scope: SnapshotScope = 'all',
): Promise<CatalogObject[]> {
  return (await client.query<CatalogObject>(catalogObjectsSql(scope))).rows;
}

/** The INSERT of one event; `effects` and `duration` are SQL expressions. */
export function eventSql(
  set: string,
  file: MigrationFile,
  event: TrackingEvent,
  effects = 'NULL',
  duration = 'NULL',
): string {
  return `${eventInsertSql(eventValues(set, file, event, duration), effects)};`;
}

/** An event's values as literals, for a batch. */
export function eventValues(
  set: string,
  file: MigrationFile,
  event: TrackingEvent,
  duration: string,
): EventValues {
  const [setName, version, name, path, checksum, kind] = [
    set,
    file.version,
    file.name,
    file.file,
    file.checksum,
    event,
  ].map(literal) as [string, string, string, string, string, string];
  return { set: setName, version, name, file: path, checksum, event: kind, duration };
}

const names = (scope: readonly string[]) => `ARRAY[${scope.map(literal).join(', ')}]::text[]`;

/** Before a migration, inside its transaction: the snapshot (of `scope`) its effects are measured against. */
export function snapshotBeforeSql(scope: SnapshotScope, features: TrackingFeatures): string {
  const rows =
    scope !== 'all' && features.functions
      ? `${FUNCTIONS.snapshot}(${names(scope)}) AS x(${SNAPSHOT_COLUMNS})`
      : listingRows(scope);
  // The relations' OIDs beside it (catalog/listing.ts RELATIONS_BEFORE), which the listing after the file reads
  // without parsing the whole snapshot again.
  return `WITH s AS MATERIALIZED (SELECT * FROM ${rows})
${keepBeforeSql('s', [`(SELECT pg_catalog.set_config('${BEFORE_RELATIONS}', COALESCE(pg_catalog.array_agg(pg_catalog.substr(s.key, 2)::pg_catalog.oid), '{}')::text, true) FROM s WHERE pg_catalog.starts_with(s.key, 'c'))`])}`;
}

/**
 * Before the snapshot of a tenant's migration (SPEC §10): the search path in
 * force, kept for both snapshots, so that the names the file mentions are
 * looked for only in the schemas it can reach, not in every other tenant's
 * (catalog/listing.ts).
 */
export const REACHABLE_PATH_SQL =
  "SELECT pg_catalog.set_config('schemata.path', pg_catalog.current_schemas(true)::text, true)";

/**
 * Data protection's measurement before the file (engine/measure.ts), through schemata's function where the role
 * may run it: its statements, one each, as a batch counts them to tell which statement of the file failed.
 */
export function measureBeforeSql(m: Measurement, features: TrackingFeatures): string[] {
  const i = measureLiterals(m);
  return features.functions
    ? [
        `SELECT ${FUNCTIONS.measure_before}(${i.capture}, ${i.values}, ${i.updatesRead}, ${i.widened}, ${i.forced}, ${i.tablesUpTo}, ${i.nodes}, ${i.nodesUpTo}, ${i.counted}, ${i.writtenFromMade})`,
      ]
    : m.capture.length === 0
      ? [
          `DO $schemata_flush$ BEGIN ${COUNTERS_BEFORE_FILE_PLPGSQL}\n  ${NOTHING_FINGERPRINTED_PLPGSQL}\nEND $schemata_flush$`,
          measureBeforeBody(i, true),
        ]
      : [
          `DO $schemata_flush$ BEGIN ${COUNTERS_BEFORE_FILE_PLPGSQL}\nEND $schemata_flush$`,
          measureBeforeBody(i),
          // After the settings it reads (schemata.updates_read), as in the function.
          `DO $schemata_values$ BEGIN ${widenedBeforePlpgsql(i.widened)}\n  ${valuesBeforePlpgsql(i.values)}\nEND $schemata_values$`,
        ];
}

/** The measurement's comparison before COMMIT. */
export function measureAfterSql(features: TrackingFeatures): string {
  return features.functions ? `SELECT ${FUNCTIONS.measure_after}()` : MEASURE_AFTER_SQL;
}

/** The same snapshot, taken earlier by the client (a migration outside a transaction). */
function snapshotFromRowsSql(rows: readonly CatalogObject[]): string {
  const relations = rows.filter((r) => r.key.startsWith('c')).map((r) => r.key.slice(1));
  return `${keepBeforeSql(snapshotRows(`${literal(JSON.stringify(rows))}::json`), [`pg_catalog.set_config('${BEFORE_RELATIONS}', ${literal(`{${relations.join(',')}}`)}, true)`])};`;
}

/** After a migration, in its transaction: its effects on the expected state, and its event (engine/effects.ts). */
export function recordEffectsSql(
  set: string,
  file: MigrationFile,
  event: TrackingEvent,
  duration: string,
  scope: SnapshotScope,
  features: TrackingFeatures,
  creates: readonly string[],
): string {
  const values = eventValues(set, file, event, duration);
  if (scope !== 'all' && features.functions) {
    return `SELECT ${FUNCTIONS.record}(${[values.set, values.version, values.name, values.file, values.checksum, values.event, duration].join(', ')}, ${names(scope)}, ${names(creates)});`;
  }
  // As json, parsed: planned as 100 rows whatever the listing, as the function is (engine/functions.ts).
  return `${effectsSql({ ...values, after: snapshotRows(listingSql(scope)), creates: names(creates) })};`;
}

/** Server-measured duration from the start of the batch, for the event row. */
export const BATCH_DURATION_SQL =
  '(extract(epoch FROM clock_timestamp() - statement_timestamp()) * 1000)::integer';

/** A migration outside a transaction: the event that says it started. */
/** Claims a migration outside a transaction: its `running` event, written only while nothing else recorded it since planning. */
export async function recordRunning(
  client: Client,
  set: string,
  file: MigrationFile,
  once: string,
): Promise<void> {
  await runBatch(
    client,
    `${BEGIN_OWN};\n${OWN_SETTINGS_SQL};\n${once}\n${eventSql(set, file, 'running')}\nCOMMIT;`,
  );
}

/** A migration outside a transaction, after it: its effects, against the snapshot taken before it. */
export async function recordAfterRunning(
  client: Client,
  set: string,
  file: MigrationFile,
  before: {
    rows: readonly CatalogObject[];
    scope: SnapshotScope;
    features: TrackingFeatures;
    creates: readonly string[];
  },
  event: 'applied' | 'repaired' | 'failed',
  durationMs: number,
  measured?: { rows: readonly object[] | undefined; lost: string },
): Promise<void> {
  // What its transactions' measurements found, for the event as a migration in one transaction has it; no rows
  // where a statement ran beyond the measurement (the event then says nothing of them).
  const counters = measured
    ? `SELECT ${measured.rows === undefined ? '' : `pg_catalog.set_config('schemata.rows', ${literal(JSON.stringify(measured.rows))}, true), `}pg_catalog.set_config('schemata.lost', ${literal(measured.lost)}, true);\n`
    : '';
  await runBatch(
    client,
    `${BEGIN_OWN};\n${OWN_SETTINGS_SQL};\n${counters}${snapshotFromRowsSql(before.rows)}\n${recordEffectsSql(set, file, event, String(durationMs), before.scope, before.features, before.creates)}\nCOMMIT;`,
  );
}

/**
 * Baseline, a format-1 upgrade, and repair's new checksums: events without a
 * run, and (baseline, adoption) the objects that exist attributed to the
 * migrations that made them. One statement each.
 */
export async function recordWithoutRunning(
  client: Client,
  set: string,
  event: 'baselined' | 'repaired',
  files: readonly MigrationFile[],
  objects: ReadonlyArray<CatalogObject & { version: string; file: string }> = [],
  from?: ReadonlyMap<string, AdoptedFrom>,
): Promise<void> {
  // Not part of a migration's batch: the values go as parameters.
  const events = files.map((f) => ({
    version: f.version,
    name: f.name,
    file: f.file,
    checksum: f.checksum,
    effects: from?.has(f.version) ? { from: from.get(f.version) } : null,
  }));
  await inTransaction(client, async () => {
    await client.query(
      `INSERT INTO schemata.migrations (set_name, version, name, file, checksum, event, effects)
       SELECT $1, e.version, e.name, e.file, e.checksum, $2, e.effects
         FROM pg_catalog.jsonb_array_elements($3::jsonb) WITH ORDINALITY AS a(event, ord),
              pg_catalog.jsonb_to_record(a.event) AS e(version text, name text, file text, checksum text, effects jsonb)
        ORDER BY a.ord`,
      [set, event, JSON.stringify(events)],
    );
    // One statement: the DELETE sees the rows as they were, the INSERT adds the new ones.
    await client.query(
      `WITH x AS (SELECT * FROM pg_catalog.jsonb_to_recordset($2::jsonb) AS x(${SNAPSHOT_COLUMNS}, version text, file text)),
            replaced AS (DELETE FROM schemata.objects o USING x WHERE o.kind = x.kind AND o.identity = x.identity)
       INSERT INTO schemata.objects (set_name, kind, identity, schema_name, name, parent, version, file)
       SELECT $1, x.kind, x.identity, x.schema_name, x.name, x.parent, x.version, x.file FROM x`,
      [set, JSON.stringify(objects)],
    );
    await client.query('DELETE FROM schemata.meta WHERE name = $1', [`adopt:${set}`]);
  });
}

async function inTransaction(client: Client, work: () => Promise<void>): Promise<void> {
  await client.query(`${BEGIN_OWN}; ${OWN_SETTINGS_SQL}`);
  try {
    await work();
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}

/** A BEGIN ... COMMIT batch; a failure inside it leaves the session out of the aborted transaction. */
async function runBatch(client: Client, batch: string): Promise<void> {
  try {
    await client.query(batch);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
