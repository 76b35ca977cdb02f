import { createHash } from 'node:crypto';
import { namedObjectGroupsSql, namedSchemasSql, onlySchemasNamedSql } from '../catalog/listing.js';
import { effectsSql, SNAPSHOT_COLUMNS, SNAPSHOT_NAMES } from './effects.js';
import {
  COUNTERS_BEFORE_FILE_PLPGSQL,
  MEASURE_AFTER_BODY,
  measureBeforeBody,
  NOTHING_FINGERPRINTED_PLPGSQL,
  valuesBeforePlpgsql,
  widenedBeforePlpgsql,
} from './measure.js';
import { OWN_FUNCTION_SETTINGS } from './own-settings.js';

/*
 * Three functions in schemata's own schema, for what every migration's batch
 * runs: PL/pgSQL keeps a function's plans for the session, where the same
 * statements written into each batch would be planned anew each time (the
 * listing and the effects statement are large). Where the role may not
 * create them (a deploy role without CREATE on schema schemata), the batch
 * carries the same statements itself. They are named after their text: a
 * schemata whose statements differ makes its own, and never changes another
 * version's.
 *
 * - snapshot: the objects of the names given, and their parts, as rows
 *   (SETOF record: a caller names the columns, SNAPSHOT_COLUMNS); the
 *   snapshot before a migration keeps them as json, the one after is read
 *   as they come. Planned as 100 rows, as json_to_recordset is: the effects
 *   statement's generic plan then probes schemata.objects by its index,
 *   where the default 1,000 made it read the whole table.
 *   Its plan settings make it probe indexes, as a listing of a few objects
 *   should, whatever the catalog's size. Names of nothing but schemas (what
 *   a migration is about to make) list the schemas alone, by four probes;
 *   otherwise the listing runs in groups, the functions, types, domains'
 *   constraints and extensions only where a name is of one
 *   (catalog/listing.ts namedObjectGroupsSql).
 * - record: the effects statement against that snapshot, and the event row
 *   (p_creates: the names of the indexes and constraints the file creates).
 *   It finds the stored rows it changes by the identity index whatever the
 *   table's statistics: its plan is made once per session, and in the run's
 *   one transaction, whose rows are never analyzed, a plan made while the
 *   table was small read all of schemata.objects for every migration.
 * - claim: fails with MIGRATION_TAKEN_SQLSTATE when another run recorded the
 *   migration since this one planned.
 * - measure_before, measure_after: data protection's measurement around the
 *   file (engine/measure.ts). They run as the caller (its privileges, its
 *   row-level security), and what they keep is in settings local to the
 *   transaction, which outlive the call.
 *
 * Every one but claim keeps its generic plans: planning their statements
 * costs far more than running them (a plan of measure_before's ~2-3 ms, a
 * run ~0.1 ms), and with custom plans PostgreSQL plans them again in every
 * migration.
 */

/** Another run recorded this migration while this one waited: it ran once, there. */
export const MIGRATION_TAKEN_SQLSTATE = 'SCH05';

/** The claim's check, a PL/pgSQL statement over SQL expressions: in the claim function, or in a DO block where there is none. */
export function claimCheckSql(set: string, version: string, expected: string): string {
  return `IF (SELECT max(id) FROM schemata.migrations WHERE set_name = ${set} AND version = ${version}) IS DISTINCT FROM ${expected} THEN
    RAISE EXCEPTION USING ERRCODE = '${MIGRATION_TAKEN_SQLSTATE}', MESSAGE = 'recorded by another run since this one planned';
  END IF;`;
}

/** A listing's rows as the snapshot function returns them: RETURN QUERY takes text where the catalog has name. */
const asSnapshotRows = (listing: string) =>
  `SELECT ${SNAPSHOT_NAMES.map((n) => `x.${n}::text`).join(', ')} FROM (${listing}) AS x(${SNAPSHOT_NAMES.join(', ')})`;

const PREFIX = 'schemata.';
const measureParameters = {
  capture: 'p_capture',
  values: 'p_values',
  updatesRead: 'p_updates_read',
  widened: 'p_widened',
  forced: 'p_forced',
  tablesUpTo: 'p_tables_up_to',
  nodes: 'p_nodes',
  nodesUpTo: 'p_nodes_up_to',
  counted: 'p_counted',
  writtenFromMade: 'p_written_from_made',
};
const template = {
  snapshot: `(names text[]) RETURNS SETOF record LANGUAGE plpgsql STABLE ROWS 100
  SET search_path = pg_catalog, pg_temp ${OWN_FUNCTION_SETTINGS}
  SET plan_cache_mode = force_generic_plan
  SET enable_seqscan = off SET enable_bitmapscan = off SET enable_hashjoin = off SET enable_mergejoin = off
AS $schemata_fn$
BEGIN
  IF ${onlySchemasNamedSql('names')} THEN
    RETURN QUERY ${asSnapshotRows(namedSchemasSql('names'))};
    RETURN;
  END IF;
  ${namedObjectGroupsSql('names')
    .map((group) =>
      group.probe === undefined
        ? `RETURN QUERY ${asSnapshotRows(group.sql)};`
        : `IF ${group.probe} THEN\n    RETURN QUERY ${asSnapshotRows(group.sql)};\n  END IF;`,
    )
    .join('\n  ')}
END
$schemata_fn$`,
  record: `(p_set text, p_version text, p_name text, p_file text, p_checksum text, p_event text, p_duration integer, p_names text[], p_creates text[]) RETURNS void LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp ${OWN_FUNCTION_SETTINGS}
  SET plan_cache_mode = force_generic_plan
  SET enable_seqscan = off
AS $schemata_fn$
BEGIN
  ${effectsSql({ set: 'p_set', version: 'p_version', name: 'p_name', file: 'p_file', checksum: 'p_checksum', event: 'p_event', duration: 'p_duration', after: `{{snapshot}}(p_names) AS x(${SNAPSHOT_COLUMNS})`, creates: 'p_creates' })};
END
$schemata_fn$`,
  measure_before: `(p_capture oid[], p_values oid[], p_updates_read text, p_widened text, p_forced boolean, p_tables_up_to oid, p_nodes text, p_nodes_up_to oid, p_counted text, p_written_from_made boolean) RETURNS void LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp ${OWN_FUNCTION_SETTINGS}
  SET plan_cache_mode = force_generic_plan
AS $schemata_fn$
BEGIN
  ${COUNTERS_BEFORE_FILE_PLPGSQL}
  IF pg_catalog.cardinality(p_capture) = 0 THEN
    PERFORM * FROM (${measureBeforeBody(measureParameters, true)}) measured;
    ${NOTHING_FINGERPRINTED_PLPGSQL}
  ELSE
    PERFORM * FROM (${measureBeforeBody(measureParameters)}) measured;
    ${widenedBeforePlpgsql('p_widened')}
    ${valuesBeforePlpgsql('p_values')}
  END IF;
END
$schemata_fn$`,
  measure_after: `() RETURNS void LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp ${OWN_FUNCTION_SETTINGS}
  SET plan_cache_mode = force_generic_plan
AS $schemata_fn$
${MEASURE_AFTER_BODY}
$schemata_fn$`,
  claim: `(p_set text, p_version text, p_expected bigint) RETURNS void LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp ${OWN_FUNCTION_SETTINGS}
AS $schemata_fn$
BEGIN
  ${claimCheckSql('p_set', 'p_version', 'p_expected')}
END
$schemata_fn$`,
};

const version = createHash('sha256').update(JSON.stringify(template)).digest('hex').slice(0, 12);

/** The functions' qualified names. */
export const FUNCTIONS = {
  snapshot: `${PREFIX}snapshot_${version}`,
  record: `${PREFIX}record_${version}`,
  claim: `${PREFIX}claim_${version}`,
  measure_before: `${PREFIX}measure_before_${version}`,
  measure_after: `${PREFIX}measure_after_${version}`,
} as const;

/**
 * Each function's argument types (`oid[], text, boolean`), read from its template's parameter list
 * (`(p_capture oid[], p_widened text, ...) RETURNS`): what to_regprocedure looks it up by. Written out
 * apart, a parameter added to a template left the lookup finding nothing, and every batch carried the
 * statements itself.
 */
const signatureOf = (name: keyof typeof template) => {
  const text = template[name];
  return text
    .slice(1, text.indexOf(') RETURNS'))
    .split(', ')
    .filter((parameter) => parameter !== '')
    .map((parameter) => parameter.slice(parameter.indexOf(' ') + 1))
    .join(', ');
};
const SIGNATURES = Object.fromEntries(
  (Object.keys(template) as Array<keyof typeof template>).map((name) => [name, signatureOf(name)]),
) as Record<keyof typeof template, string>;

const definition = (name: keyof typeof template) =>
  `CREATE FUNCTION ${FUNCTIONS[name]}${template[name].replaceAll('{{snapshot}}', FUNCTIONS.snapshot)}`;

/** Makes the functions where they are missing and the role may; one DO block, then whether the role may run all of them. */
export const ENSURE_FUNCTIONS_SQL = `DO $schemata$
BEGIN
  IF pg_catalog.to_regprocedure('${FUNCTIONS.claim}(${SIGNATURES.claim})') IS NULL THEN
    BEGIN
      ${definition('snapshot')};
      ${definition('record')};
      ${definition('measure_before')};
      ${definition('measure_after')};
      ${definition('claim')};
    EXCEPTION WHEN insufficient_privilege THEN NULL;
    END;
  END IF;
END
$schemata$;
SELECT ${(Object.keys(SIGNATURES) as Array<keyof typeof SIGNATURES>)
  .map(
    (name) =>
      `COALESCE(pg_catalog.has_function_privilege(pg_catalog.to_regprocedure('${FUNCTIONS[name]}(${SIGNATURES[name]})'), 'EXECUTE'), false)`,
  )
  .join(' AND ')} AS functions`;
