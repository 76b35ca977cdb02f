import type { UpdatesRead, Widened } from '../model/protect.js';
import type { Client } from './connect.js';
import {
  boundedCountSql,
  groupedDigits,
  hasRowsSql,
  ROW_COUNT_CAP,
  typesBuiltOn,
} from '../catalog/rows.js';
import { quoteLiteral } from '../sql/quote.js';
import { LISTED_CATALOGS } from '../catalog/listing.js';

/*
 * Data protection measured in the transaction (SPEC §5). Before the file, in
 * its transaction: every table of the database (partitions and inheritance
 * children as themselves) with its storage (relfilenode), and, for the
 * tables the forecast traced (and their partitions and children), their
 * rows and columns exactly. Before COMMIT, the tables this transaction
 * locked to write are compared with that:
 *
 * - a traced table that held rows and is gone, empty now after its storage
 *   was replaced or rows deleted, holding rows again and none it held
 *   (REFILLED), lost a column, or a column's type changed other than by a
 *   widening the forecast allowed: a loss (LOSS_SQLSTATE);
 * - a traced table whose values were read before the file (`values`) that
 *   held rows, had every one of them updated, and has a column that held a
 *   value holding other values now: a loss too (an UPDATE without a WHERE
 *   that limits it, in code the forecast could not read);
 * - any other table that is gone, had its storage replaced, lost a column in
 *   this transaction, or was emptied or refilled by deletes, and any table
 *   the forecast read no UPDATE of whose every row this transaction may have
 *   updated (its values to be read too): a suspect.
 *   Whether it held rows cannot be told any more, so the migration is rolled back
 *   (SUSPECT_SQLSTATE, the OIDs in the message) and run again with those
 *   tables traced: a second run decides exactly.
 *
 * Nothing that runs in the transaction escapes it: a CALL, a trigger, a rule,
 * dynamic SQL, a function with its own search_path. The row counters of the
 * transaction (pg_stat_xact_*) are kept for the history event.
 */

/**
 * Set by the measurement before COMMIT: 'off' where the transaction changed
 * no row of the catalogs the listing reads (catalog/listing.ts), so that no
 * object was made, dropped, renamed or moved, and the record writes its
 * event without listing the catalog again. Any other value (unset, '' after
 * an earlier transaction) lists it.
 */
export const CATALOG_WRITTEN = 'schemata.catalog_written';

/*
 * CATALOG_WRITTEN from the transaction's own row counters of those catalogs:
 * PostgreSQL counts a catalog's inserted, updated and deleted rows as a
 * table's, and every DDL writes them, whoever runs it. (A catalog's lock is
 * no witness: PostgreSQL releases it when the statement closes the catalog.)
 * The counters start from zero after the flush every measured batch asks
 * (COUNTERS_BEFORE_FILE_PLPGSQL); any left from before only make it list. Without
 * track_counts (which the measurement turns on before the file) they stay
 * zero: then it always lists. A session that may set track_counts (a
 * superuser, or a role granted SET on it) may have turned it off around its
 * DDL and on again, so the counters are believed only where it may not, or
 * where the transaction has no ID: then it wrote nothing at all.
 */
const CATALOG_WRITTEN_PLPGSQL = `counters_settable := EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolsuper AND pg_catalog.pg_has_role(session_user, r.oid, 'MEMBER'));
  IF NOT counters_settable AND pg_catalog.current_setting('server_version_num')::int >= 150000 THEN
    -- Planned only where it runs: the function is not there before 15.
    counters_settable := pg_catalog.has_parameter_privilege(session_user, 'track_counts', 'SET');
  END IF;
  PERFORM pg_catalog.set_config('${CATALOG_WRITTEN}', CASE
    WHEN pg_catalog.pg_current_xact_id_if_assigned() IS NULL THEN 'off'
    WHEN NOT counters_settable AND pg_catalog.current_setting('track_counts') = 'on' AND NOT EXISTS (
      SELECT 1 FROM pg_catalog.unnest(ARRAY[${LISTED_CATALOGS.map((c) => `'pg_catalog.${c}'`).join(', ')}]::pg_catalog.regclass[]) AS c(oid)
       WHERE pg_catalog.pg_stat_get_xact_tuples_inserted(c.oid) + pg_catalog.pg_stat_get_xact_tuples_updated(c.oid)
           + pg_catalog.pg_stat_get_xact_tuples_deleted(c.oid) > 0)
    THEN 'off' ELSE 'on' END, true);`;

/** A table that held rows lost them: the migration is refused. */
export const LOSS_SQLSTATE = 'SCH04';
/** A table whose rows before the migration were not measured may have lost them: run again with it traced. */
export const SUSPECT_SQLSTATE = 'SCH06';

export interface Measurement {
  /** OIDs measured exactly before the file (the forecast's tables, the suspects of an earlier try); their partitions and children come along. */
  capture: readonly number[];
  /**
   * Tables of the capture whose columns' values are fingerprinted before the file (the suspects of an UPDATE of
   * every row, MAY_HAVE_UPDATED_EVERY_ROW): such an UPDATE is a loss where it changed the values of a column that held data.
   */
  values: readonly number[];
  /**
   * Tables whose UPDATEs the forecast read (with their partitions and children): it judged their WHERE itself
   * (an UPDATE without one that limits it is refused before the run), so the measurement does not judge their
   * updates again; or, where the migration also runs code the forecast could not read, judges them save the
   * columns those UPDATEs set (model/protect.ts UpdatesRead).
   */
  updatesRead: UpdatesRead;
  /**
   * Columns whose type the forecast judged a widening: a changed type there is no loss where the values are
   * those the widening gives (widenedBeforePlpgsql, then verifyWidenedPlpgsql before COMMIT).
   */
  widened: readonly Widened[];
  /** --force or the file's `-- schemata:force`: losses are recorded, not refused. */
  forced: boolean;
  /**
   * The highest OID of a table when the run began: what the run itself made
   * and filled is no loss, and a table made later has a higher OID. (After
   * an OID wraparound a table the run made can be taken for one that was
   * there: a second measurement, never a missed loss.)
   */
  tablesUpTo: number;
  /**
   * Nothing to measure (model/steps.ts unmeasuredOf): the database held no table when the run began and the
   * file's statements write no row. Its batch leaves the measurement out and records no rows.
   */
  unmeasured?: boolean;
  /**
   * The tables written are found from the row counters of the tables made since the run began, not from the
   * transaction's locks (WRITTEN_FROM_MADE): in the run's one transaction on a database that held no table
   * when the run began (model/steps.ts planSteps).
   */
  writtenFromMade?: boolean;
  /** Outside a transaction: the statements PostgreSQL refuses in a transaction block, which run unmeasured. */
  outside?: ReadonlyArray<{ line: number; column: number }>;
  /** Every table's storage as the session's last measurement left it (engine/session.ts): only tables made since are listed again. */
  storage?: StorageSeen | undefined;
  /** The row counters as the session's last measurement left them (CountersSeen). */
  counted?: string | undefined;
}

/*
 * CountersSeen: `xid|{"oid": [inserted, updated, deleted], ...}`, the row
 * counters of every table the session has written so far (and that still
 * has some), as a migration's measurement leaves them: the next migration
 * starts from it, where listing every table's counters grew with the
 * database.
 * - In the same transaction (the run's one, --single-transaction: every
 *   migration wrote, so the shortcut "no transaction ID, no counters" no
 *   longer held), its counters are taken as they are.
 * - In a later one, only its tables are asked: a table has counters only
 *   where this session wrote it (before 15, those of earlier transactions
 *   stay until the session reports them).
 * After a rollback (to a savepoint or not: the rows a failed try wrote still
 * count) the client drops it, and the next measurement lists every table.
 */

/**
 * Every table's storage (`,oid:relfilenode,` each) for the tables up to
 * `upTo`: listed whole by a session's first measurement, then carried from
 * one migration to the next, each adding the tables made since and changing
 * what it rewrote or dropped. What another session rewrote meanwhile only
 * looks replaced, which is measured again (a second run), never missed.
 */
export interface StorageSeen {
  nodes: string;
  upTo: number;
}

const USER_TABLE = (c: string) =>
  `${c}.relkind IN ('r', 'm') AND ${c}.relpersistence <> 't'
   AND ${c}.relnamespace <> ALL (ARRAY['pg_catalog'::pg_catalog.regnamespace, 'information_schema'::pg_catalog.regnamespace, 'pg_toast'::pg_catalog.regnamespace])
   AND ${c}.relnamespace IS DISTINCT FROM pg_catalog.to_regnamespace('schemata')`;

/** What the measurement of a run starts from, asked once before its first migration. */
export interface RunStart {
  /** The highest OID of a relation: a table made later has a higher one (read from pg_class's OID index). */
  tablesUpTo: number;
  /**
   * No table that could hold rows (USER_TABLE), and no event trigger that could write some as DDL runs:
   * every table the run meets is one it made, whose rows are never a loss.
   */
  nothingHeld: boolean;
}

export async function runStart(client: Client): Promise<RunStart> {
  const { rows } = await client.query<{ up_to: string; nothing_held: boolean }>(
    `SELECT COALESCE((SELECT pg_catalog.max(c.oid)::int8 FROM pg_catalog.pg_class c), 0) AS up_to,
            NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE ${USER_TABLE('c')})
              AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger e WHERE e.evtenabled <> 'D') AS nothing_held`,
  );
  return { tablesUpTo: Number(rows[0]!.up_to), nothingHeld: rows[0]!.nothing_held };
}

/** Rows of relation `oid` (of `c`, `n`) itself, counted up to the cap (catalog/rows.ts); -1 where this role cannot count them but pages hold some. */
function rowsSql(c: string, n: string): string {
  return `CASE WHEN ${c}.relkind = 'm' AND NOT ${c}.relispopulated THEN 0
     WHEN pg_catalog.pg_relation_size(${c}.oid) = 0 THEN 0
     WHEN NOT ${hasRowsSql(`${c}.oid`)} THEN 0
     WHEN NOT pg_catalog.has_table_privilege(${c}.oid, 'SELECT')
          OR (${c}.relrowsecurity AND NOT (SELECT rolsuper OR rolbypassrls FROM pg_catalog.pg_roles WHERE rolname = current_user)) THEN -1
     ELSE ${boundedCountSql(`${n}.nspname`, `${c}.relname`, true)} END`;
}

/**
 * PostgreSQL 15 and later flush the session's row counters when asked
 * (pg_stat_force_next_flush, asked in every measured batch, done when the
 * batch ends): the next one's start from zero. Before 15, those still pending from earlier transactions are
 * read first and subtracted; so are those of the migrations before it in the run's one transaction
 * (--single-transaction: its transaction has an ID once one of them wrote).
 */
const FLUSHES_COUNTERS = `pg_catalog.current_setting('server_version_num')::int >= 150000`;

/** Raised where track_counts is off and the role may not turn it on: the message is `login role|database`, whose setting a superuser changes. */
export const COUNTERS_OFF_SQLSTATE = 'SCH09';

/**
 * The counters the measurement reads, in PL/pgSQL, before the file:
 * - counted at all: with track_counts off (the server's, the database's or
 *   the role's setting) PostgreSQL counts no row, and a DELETE of every row
 *   in dynamic SQL went through unmeasured. Turned on for the transaction;
 *   a role that may not set it gets COUNTERS_OFF_SQLSTATE, before the file.
 * - flushed when this batch ends, however it ends (a retry after a rollback
 *   starts from zero too). PL/pgSQL plans a statement when it first runs,
 *   so before 15, where the function is not there, it is never planned.
 */
export const COUNTERS_BEFORE_FILE_PLPGSQL = `IF pg_catalog.current_setting('track_counts') = 'off' THEN
    BEGIN
      PERFORM pg_catalog.set_config('track_counts', 'on', true);
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE EXCEPTION USING ERRCODE = '${COUNTERS_OFF_SQLSTATE}', MESSAGE = session_user || '|' || pg_catalog.current_database();
    END;
  END IF;
  IF ${FLUSHES_COUNTERS} THEN
    PERFORM pg_catalog.pg_stat_force_next_flush();
  END IF;`;

/*
 * The settings that change how a value is written as text (a timestamp in
 * the session's DateStyle and TimeZone, a float with extra_float_digits,
 * money in lc_monetary): pinned while values are fingerprinted, so that a
 * file's own `SET DateStyle = 'German'` changes no fingerprint.
 */
const TEXT_OUTPUT: ReadonlyArray<readonly [string, string]> = [
  ['DateStyle', 'ISO, YMD'],
  ['IntervalStyle', 'postgres'],
  ['TimeZone', 'UTC'],
  ['extra_float_digits', '1'],
  ['bytea_output', 'hex'],
  ['lc_monetary', 'C'],
];
/** A PL/pgSQL block (`DECLARE ... END;`) run with TEXT_OUTPUT pinned, the values in force put back after, local to the transaction as they were. */
const withTextOutputPinned = (block: string) => `DECLARE
    pinned text[] := ARRAY[${TEXT_OUTPUT.map(([name]) => `pg_catalog.current_setting('${name}')`).join(', ')}];
  BEGIN
    PERFORM ${TEXT_OUTPUT.map(([name, value]) => `pg_catalog.set_config('${name}', '${value}', true)`).join(', ')};
    ${block}
    PERFORM ${TEXT_OUTPUT.map(([name], i) => `pg_catalog.set_config('${name}', pinned[${i + 1}], true)`).join(', ')};
  END;`;

/*
 * A fingerprint of the values of column %I (with a cast, %s) of table %s,
 * its own rows alone: how many rows, how many values, and the sum of their
 * texts' hashes, read as the migration's role reads them. Equal before and
 * after: the same values, whatever order the rows are in now.
 */
const FINGERPRINT_FORMAT = `'SELECT pg_catalog.count(*) || '':'' || pg_catalog.count(v) || '':'' || COALESCE(pg_catalog.sum(pg_catalog.hashtextextended(v, 0)::pg_catalog.numeric), 0)
     FROM (SELECT (%I%s)::pg_catalog.text AS v FROM ONLY %s) s'`;

/*
 * Before the file: the columns the forecast judged widened (`widened`, an
 * SQL expression of a JSON array of { oid, column, to }), with the same
 * column of their partitions and inheritance children, which change with
 * them, each kept in schemata.widened with its number and a fingerprint of
 * its values cast to the new type (`to`; none where the type stays): what
 * the widening will leave. A column that cannot be read so is left out, and
 * its type change judged as any other.
 */
export const widenedBeforePlpgsql = (widened: string) =>
  withTextOutputPinned(`DECLARE
    w record;
    fp text;
    kept jsonb := '[]';
  BEGIN
    FOR w IN
      WITH RECURSIVE widened(oid, "column", "to") AS (
        SELECT x.oid, x."column", x."to" FROM pg_catalog.jsonb_to_recordset((${widened})::jsonb) AS x(oid oid, "column" text, "to" text)
        UNION
        SELECT i.inhrelid, widened."column", widened."to" FROM widened CROSS JOIN LATERAL (SELECT i.inhrelid FROM pg_catalog.pg_inherits i WHERE i.inhparent = widened.oid OFFSET 0) i
      )
      -- Tables with rows of their own: a partitioned table has none, and the losses read only the others.
      -- Each probed by its index (OFFSET 0): a join may be planned as a read of the whole catalog.
      SELECT widened.*, a.attnum FROM widened
        CROSS JOIN LATERAL (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = widened.oid OFFSET 0) c
        CROSS JOIN LATERAL (SELECT a.attnum FROM pg_catalog.pg_attribute a
                             WHERE a.attrelid = widened.oid AND a.attname = widened."column" AND NOT a.attisdropped OFFSET 0) a
       WHERE c.relkind = 'r'
    LOOP
      BEGIN
        EXECUTE pg_catalog.format(${FINGERPRINT_FORMAT}, w."column", COALESCE('::' || w."to", ''), w.oid::pg_catalog.regclass) INTO fp;
      EXCEPTION WHEN lock_not_available THEN RAISE;
        WHEN OTHERS THEN CONTINUE;
      END;
      kept := kept || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('oid', w.oid::pg_catalog.int8, 'column', w."column", 'num', w.attnum, 'fp', fp));
    END LOOP;
    PERFORM pg_catalog.set_config('schemata.widened', kept::text, true);
  END;`);

/** The widenings as the fragments above read them: a JSON array of { oid, column, to }, as a literal. */
const widenedLiteral = (widened: readonly Widened[]) =>
  quoteLiteral(
    JSON.stringify(widened.map((w) => ({ oid: w.oid, column: w.column, to: w.to ?? null }))),
  );

/** With nothing traced, no widening and no table's values are read. */
export const NOTHING_FINGERPRINTED_PLPGSQL = `PERFORM pg_catalog.set_config('schemata.widened', '[]', true), pg_catalog.set_config('schemata.values', '[]', true);`;

/*
 * The query (a text expression) that reads the values of the columns `cols` lists (VALUES_COLUMNS) of table
 * `oid` in one read of its own rows: a jsonb object of each column's number and its fingerprint
 * (FINGERPRINT_FORMAT's count of values and sum of hashes), read as the migration's role reads them.
 */
const valuesQuery = (cols: string, oid: string) =>
  `'SELECT pg_catalog.jsonb_object(ARRAY[' || ${cols} || ']) FROM ONLY ' || ${oid}::pg_catalog.regclass::pg_catalog.text`;
/** Reads the values of `v.cols` of table `v.oid` into `fps`, in PL/pgSQL; NULL where they cannot be read. */
const READ_VALUES_PLPGSQL = `fps := NULL;
      IF v.cols IS NOT NULL THEN
        BEGIN
          EXECUTE ${valuesQuery('v.cols', 'v.oid')} INTO fps;
        EXCEPTION WHEN lock_not_available THEN RAISE;
          WHEN OTHERS THEN NULL;
        END;
      END IF;`;
/** The column list valuesQuery reads, from pg_attribute row `a`: one aggregate expression. */
const VALUES_COLUMNS = (a: string) =>
  `pg_catalog.string_agg(pg_catalog.format('%s, pg_catalog.count(%I) || '':'' || COALESCE(pg_catalog.sum(pg_catalog.hashtextextended(%I::pg_catalog.text, 0)::pg_catalog.numeric), 0)',
                                             pg_catalog.quote_literal(${a}.attnum), ${a}.attname, ${a}.attname), ', ' ORDER BY ${a}.attnum)`;

/*
 * Before the file: the values of each column of the tables in `values` (an
 * oid[] expression: suspects of an UPDATE of every row), kept in
 * schemata.values as [{ oid, fps }]. A table whose values cannot be read
 * so is kept without them (fps null), and no UPDATE of it is judged. Not
 * read: the columns an UPDATE the forecast read sets (schemata.updates_read),
 * whose new values it judged, and generated columns, whose values follow
 * from the others.
 */
export const valuesBeforePlpgsql = (values: string) =>
  withTextOutputPinned(`DECLARE
    v record;
    fps jsonb;
    kept jsonb := '[]';
  BEGIN
    FOR v IN
      SELECT c.oid, (SELECT ${VALUES_COLUMNS('a')} FROM pg_catalog.pg_attribute a
                      WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
                        AND NOT COALESCE((pg_catalog.current_setting('schemata.updates_read')::jsonb -> c.oid::pg_catalog.text) ? a.attname::pg_catalog.text, false)) AS cols
        FROM pg_catalog.unnest(${values}) AS x(oid)
        CROSS JOIN LATERAL (SELECT c.oid FROM pg_catalog.pg_class c WHERE c.oid = x.oid AND c.relkind = 'r' OFFSET 0) c
    LOOP
      ${READ_VALUES_PLPGSQL}
      -- Kept without values where they could not be read: no column judged, and no suspect again.
      kept := kept || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('oid', v.oid::pg_catalog.int8, 'fps', fps));
    END LOOP;
    PERFORM pg_catalog.set_config('schemata.values', kept::text, true);
  END;`);

/*
 * Before the losses are read: for each table of schemata.values, the columns
 * that held data before the file (a value at least) and are still there,
 * whose values are not those they held (`changed`, their names). A table
 * that could be read before and cannot now counts every such column changed.
 */
const VERIFY_VALUES_PLPGSQL = `IF pg_catalog.current_setting('schemata.values') <> '[]' THEN
    ${withTextOutputPinned(`DECLARE
      v record;
      fps jsonb;
      kept jsonb := '[]';
    BEGIN
      FOR v IN
        SELECT x.oid, x.fps, (SELECT ${VALUES_COLUMNS('a')} FROM pg_catalog.pg_attribute a
                               WHERE a.attrelid = x.oid AND a.attnum > 0 AND NOT a.attisdropped AND x.fps ? a.attnum::text) AS cols
          FROM pg_catalog.jsonb_to_recordset(pg_catalog.current_setting('schemata.values')::jsonb) AS x(oid oid, fps jsonb)
      LOOP
        ${READ_VALUES_PLPGSQL}
        kept := kept || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('oid', v.oid::pg_catalog.int8, 'fps', v.fps, 'changed', (
          SELECT COALESCE(pg_catalog.jsonb_agg(a.attname ORDER BY a.attnum), '[]')
            FROM pg_catalog.jsonb_each_text(v.fps) AS f(num, fp)
            CROSS JOIN LATERAL (SELECT a.attnum, a.attname FROM pg_catalog.pg_attribute a
                                 WHERE a.attrelid = v.oid AND a.attnum = f.num::int AND NOT a.attisdropped OFFSET 0) a
           WHERE pg_catalog.split_part(f.fp, ':', 1) <> '0' AND (fps ->> f.num) IS DISTINCT FROM f.fp)));
      END LOOP;
      PERFORM pg_catalog.set_config('schemata.values', kept::text, true);
    END;`)}
  END IF;`;

/*
 * Before the losses are read: a widened column counts as widened only where
 * its values now are those the widening gives (their fingerprint as before
 * the file). Another statement of the migration that changed the column again
 * (dynamic SQL: TYPE text USING NULL) leaves it judged as any type change.
 */
const VERIFY_WIDENED_PLPGSQL = `IF pg_catalog.current_setting('schemata.widened') <> '[]' THEN
    ${withTextOutputPinned(`DECLARE
      w record;
      fp text;
      kept jsonb := '[]';
    BEGIN
      FOR w IN
        SELECT x.*, a.attname FROM pg_catalog.jsonb_to_recordset(pg_catalog.current_setting('schemata.widened')::jsonb) AS x(oid oid, "column" text, num int, fp text, kept boolean)
          CROSS JOIN LATERAL (SELECT a.attname FROM pg_catalog.pg_attribute a
                               WHERE a.attrelid = x.oid AND a.attnum = x.num AND NOT a.attisdropped OFFSET 0) a
      LOOP
        fp := NULL;
        BEGIN
          EXECUTE pg_catalog.format(${FINGERPRINT_FORMAT}, w.attname, '', w.oid::pg_catalog.regclass) INTO fp;
        EXCEPTION WHEN lock_not_available THEN RAISE;
          WHEN OTHERS THEN NULL;
        END;
        kept := kept || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('oid', w.oid::pg_catalog.int8, 'column', w."column", 'num', w.num, 'fp', w.fp,
                                                                              'kept', fp IS NOT NULL AND fp = w.fp));
      END LOOP;
      PERFORM pg_catalog.set_config('schemata.widened', kept::text, true);
    END;`)}
  END IF;`;

/*
 * The same, around a statement that runs outside any transaction (a DO block
 * or CALL that COMMITs), for the widenings the forecast read in it: each in
 * a transaction of its own, in one round trip (behind a transaction pooler,
 * one server connection), the fingerprints kept by the client in between.
 * The result whose row has `widened` holds them.
 */
export const widenedBeforeBareSql = (widened: readonly Widened[]) =>
  `BEGIN; DO $schemata_widened$ BEGIN ${widenedBeforePlpgsql(widenedLiteral(widened))} END $schemata_widened$;
SELECT pg_catalog.current_setting('schemata.widened') AS widened; COMMIT`;
export const verifyWidenedBareSql = (before: string) =>
  `BEGIN; SELECT pg_catalog.set_config('schemata.widened', ${quoteLiteral(before)}, true);
DO $schemata_widened$ BEGIN ${VERIFY_WIDENED_PLPGSQL} END $schemata_widened$;
SELECT pg_catalog.current_setting('schemata.widened') AS widened; COMMIT`;

/** What the measurement before the file is given, each an SQL expression (literals in a batch, parameters in a function). */
export interface MeasureInputs {
  /** oid[] */
  capture: string;
  /** oid[] */
  values: string;
  /** text: a JSON object of each table's OID to null or the columns its read UPDATEs set (UpdatesRead) */
  updatesRead: string;
  /** text: a JSON array of { oid, column, to } */
  widened: string;
  /** boolean */
  forced: string;
  /** oid */
  tablesUpTo: string;
  /** text: the storage listed so far (StorageSeen.nodes), or NULL */
  nodes: string;
  /** oid: the tables it covers */
  nodesUpTo: string;
  /** text: the counters listed so far in this transaction (CountersSeen), or NULL */
  counted: string;
  /** boolean: Measurement.writtenFromMade */
  writtenFromMade: string;
}

/**
 * Before the file, in its transaction, with schemata's own settings: one statement, kept in settings local to the transaction.
 * `nothingTraced`: the capture is empty (most migrations: the forecast saw no loss), and the traced tables are
 * set to none without the statement that lists them, whose plan costs more to start than to run.
 */
export function measureBeforeBody(i: MeasureInputs, nothingTraced = false): string {
  // ",oid:relfilenode," for every table, looked up before COMMIT only for those written: what the session
  // listed before, and the tables made since (an index range of pg_class's OIDs).
  return `SELECT pg_catalog.set_config('schemata.nodes', COALESCE(${i.nodes}, ',') || COALESCE(made.nodes, ''), true),
       pg_catalog.set_config('schemata.nodes_grew', CASE WHEN ${i.nodes} IS NULL OR made.nodes IS NOT NULL THEN 'on' ELSE 'off' END, true),
       pg_catalog.set_config('schemata.up_to', (${i.tablesUpTo})::text, true),
       pg_catalog.set_config('schemata.dropped_before', ${DROPPED_BEFORE_SQL(`(${i.tablesUpTo})`, i.writtenFromMade)}, true),
       pg_catalog.set_config('schemata.written_from', CASE WHEN ${i.writtenFromMade} THEN 'made' ELSE 'locks' END, true),
       pg_catalog.set_config('schemata.forced', CASE WHEN ${i.forced} THEN 'on' ELSE 'off' END, true),
       -- What a force let through, this migration's own: set afresh before each file, read by its event.
       pg_catalog.set_config('schemata.lost', '', true),
       pg_catalog.set_config('schemata.updates_read', (${i.updatesRead})::text, true),
       -- The run's tables and their counters' sums (WRITTEN_FROM_MADE), carried after the counters: RESET ALL
       -- between migrations clears every setting, and they hold only in the transaction that kept them.
       pg_catalog.set_config('schemata.made', CASE WHEN pg_catalog.split_part(${i.counted}, '|', 1) = pg_catalog.pg_current_xact_id_if_assigned()::text
         THEN pg_catalog.split_part(${i.counted}, '|', 3) || '|' || pg_catalog.split_part(${i.counted}, '|', 4) ELSE '' END, true),
       pg_catalog.set_config('schemata.counted', CASE WHEN ${FLUSHES_COUNTERS} AND pg_catalog.pg_current_xact_id_if_assigned() IS NULL THEN '{}'
          WHEN pg_catalog.split_part(${i.counted}, '|', 1) = pg_catalog.pg_current_xact_id_if_assigned()::text THEN pg_catalog.split_part(${i.counted}, '|', 2)
          -- Only the tables this session wrote can have counters now (CountersSeen).
          WHEN ${i.counted} IS NOT NULL THEN (
          SELECT COALESCE(pg_catalog.jsonb_object_agg(s.oid::text, pg_catalog.jsonb_build_array(s.ins, s.upd, s.del)), '{}')::text
            FROM (SELECT k.oid, pg_catalog.pg_stat_get_xact_tuples_inserted(k.oid) AS ins, pg_catalog.pg_stat_get_xact_tuples_updated(k.oid) AS upd,
                         pg_catalog.pg_stat_get_xact_tuples_deleted(k.oid) AS del
                    FROM (SELECT k::pg_catalog.oid AS oid FROM pg_catalog.jsonb_object_keys(pg_catalog.split_part(${i.counted}, '|', 2)::jsonb) AS k) k) s
           WHERE s.ins + s.upd + s.del > 0)
          ELSE (
          SELECT COALESCE(pg_catalog.jsonb_object_agg(s.oid::text, pg_catalog.jsonb_build_array(s.ins, s.upd, s.del)), '{}')::text
            FROM (SELECT c.oid, pg_catalog.pg_stat_get_xact_tuples_inserted(c.oid) AS ins, pg_catalog.pg_stat_get_xact_tuples_updated(c.oid) AS upd,
                         pg_catalog.pg_stat_get_xact_tuples_deleted(c.oid) AS del
                    FROM pg_catalog.pg_class c WHERE ${USER_TABLE('c')}) s WHERE s.ins + s.upd + s.del > 0) END, true),
       ${nothingTraced ? `pg_catalog.set_config('schemata.traced', '[]', true)` : tracedSql(i)}
  FROM (SELECT pg_catalog.string_agg(c.oid::text || ':' || c.relfilenode::text || ',', '') AS nodes
          FROM pg_catalog.pg_class c WHERE ${USER_TABLE('c')} AND c.oid > ${i.nodesUpTo} AND c.oid <= ${i.tablesUpTo}) made`;
}

/*
 * The attributes of composite types that a column of type `typ` holds in its
 * values, through domains, arrays, ranges, multiranges and composites within
 * composites (a table's row type is one): a JSON array of { rel, num, what },
 * NULL where it holds none. Dropping one of them (ALTER TYPE ... DROP
 * ATTRIBUTE, or DROP COLUMN of a table whose row type a column uses) keeps
 * the column and its type, and loses that part of every value it held:
 * PostgreSQL refuses to change such an attribute's type, but not to drop it.
 * Built-in types hold no user composite: only types made in the database
 * (FirstNormalObjectId on) are walked.
 */
const COMPOSITE_PARTS = (typ: string) => `CASE WHEN ${typ} >= 16384 THEN (
  WITH RECURSIVE reach(typ) AS (
    SELECT ${typ}
    UNION
    SELECT nxt.typ FROM reach r CROSS JOIN LATERAL (
      SELECT t.typbasetype FROM pg_catalog.pg_type t WHERE t.oid = r.typ AND t.typtype = 'd'
      UNION ALL
      SELECT t.typelem FROM pg_catalog.pg_type t WHERE t.oid = r.typ AND t.typsubscript = 'pg_catalog.array_subscript_handler'::pg_catalog.regproc
      UNION ALL
      SELECT g.rngsubtype FROM pg_catalog.pg_range g WHERE g.rngtypid = r.typ
      UNION ALL
      SELECT g.rngsubtype FROM pg_catalog.pg_range g WHERE g.rngmultitypid = r.typ
      UNION ALL
      SELECT p.atttypid FROM pg_catalog.pg_type t JOIN pg_catalog.pg_attribute p ON p.attrelid = t.typrelid
       WHERE t.oid = r.typ AND t.typtype = 'c' AND p.attnum > 0 AND NOT p.attisdropped
    ) nxt(typ) WHERE nxt.typ >= 16384
  )
  SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('rel', p.attrelid, 'num', p.attnum,
           'what', pg_catalog.format('attribute %I of %I.%I', p.attname, tn.nspname, t.typname)))
    FROM reach r JOIN pg_catalog.pg_type t ON t.oid = r.typ AND t.typtype = 'c'
    JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace
    JOIN pg_catalog.pg_attribute p ON p.attrelid = t.typrelid AND p.attnum > 0 AND NOT p.attisdropped) END`;

/*
 * The relations with a column whose values hold an attribute of a relation
 * of `rels` (an oid[] expression: those this transaction dropped an
 * attribute of, COLUMN_DROPPED_NOW): a column of their row types, or of a
 * type built on one, at any depth (catalog/rows.ts typesBuiltOn, the walk the
 * forecast's probe takes). A FROM item of (oid).
 */
const HOLDING_DROPPED_PARTS = (rels: string) => `(
  WITH RECURSIVE up(typ) AS (
    SELECT c.reltype FROM pg_catalog.unnest(${rels}) AS r(oid)
      CROSS JOIN LATERAL (SELECT c.reltype FROM pg_catalog.pg_class c WHERE c.oid = r.oid OFFSET 0) c
     WHERE c.reltype <> 0
    UNION
    SELECT nxt.typ FROM up u CROSS JOIN LATERAL ${typesBuiltOn('u.typ')} nxt(typ)
  )
  SELECT DISTINCT d.objid AS oid FROM up u JOIN pg_catalog.pg_depend d
      ON d.refclassid = 'pg_catalog.pg_type'::pg_catalog.regclass AND d.refobjid = u.typ
     AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objsubid > 0)`;

/** The traced tables (the capture, their partitions and children), each with its storage, rows and columns: a set_config of schemata.traced. */
function tracedSql(i: MeasureInputs): string {
  return `pg_catalog.set_config('schemata.traced', (
  WITH RECURSIVE tree(oid, top) AS (
    SELECT c.oid, c.oid FROM pg_catalog.pg_class c WHERE c.oid = ANY (${i.capture})
    UNION
    SELECT i.inhrelid, t.top FROM tree t CROSS JOIN LATERAL (SELECT i.inhrelid FROM pg_catalog.pg_inherits i WHERE i.inhparent = t.oid OFFSET 0) i
  ), one AS (SELECT DISTINCT ON (oid) oid, top FROM tree ORDER BY oid, top)
  SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
           'oid', c.oid, 'identity', pg_catalog.format('%I.%I', n.nspname, c.relname),
           'top', CASE WHEN one.top <> c.oid THEN (SELECT pg_catalog.format('%I.%I', tn.nspname, tc.relname) FROM pg_catalog.pg_class tc JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace WHERE tc.oid = one.top) END,
           'node', c.relfilenode, 'rows', ${rowsSql('c', 'n')}, 'kind', c.relkind, 'persistence', c.relpersistence, 'am', c.relam,
           'cols', (SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('num', a.attnum, 'name', a.attname, 'type', pg_catalog.format_type(a.atttypid, a.atttypmod), 'typid', a.atttypid, 'typmod', a.atttypmod,
                                                                         'parts', ${COMPOSITE_PARTS('a.atttypid')})), '[]')
                      FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped))), '[]')::text
    -- Each traced table probed by its OID: a join the planner may turn into a scan of pg_class per migration (its
    -- statistics lag behind a history that adds tables), which made this cost grow with the database.
    FROM one CROSS JOIN LATERAL (SELECT c.* FROM pg_catalog.pg_class c WHERE c.oid = one.oid OFFSET 0) c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE ${USER_TABLE('c')}), true)`;
}

/** UpdatesRead as schemata.updates_read holds it: `{"16390": null, "16402": ["price"]}`. */
export const updatesReadJson = (read: UpdatesRead): string =>
  JSON.stringify(Object.fromEntries(read.map((r) => [String(Math.trunc(r.oid)), r.sets])));

const oids = (list: readonly number[]) =>
  `ARRAY[${list.map((oid) => Math.trunc(oid)).join(', ')}]::pg_catalog.oid[]`;

/** A measurement's inputs as literals, for a batch. */
export function measureLiterals(m: Measurement): MeasureInputs {
  return {
    capture: oids(m.capture),
    values: oids(m.values),
    updatesRead: quoteLiteral(updatesReadJson(m.updatesRead)),
    widened: widenedLiteral(m.widened),
    forced: m.forced ? 'true' : 'false',
    tablesUpTo: `${Math.trunc(m.tablesUpTo)}::pg_catalog.oid`,
    nodes: m.storage ? quoteLiteral(m.storage.nodes) : 'NULL::text',
    nodesUpTo: `${m.storage ? Math.trunc(m.storage.upTo) : 0}::pg_catalog.oid`,
    counted: m.counted ? quoteLiteral(m.counted) : 'NULL::text',
    writtenFromMade: m.writtenFromMade === true ? 'true' : 'false',
  };
}

/*
 * schemata.counted as jsonb, read once into a PL/pgSQL variable of each block
 * that compares: read in a statement, it was parsed again for every table the
 * statement probes, and in the run's one transaction it holds every table the
 * run wrote (the 300th migration of a run that fills a table each spent 40 ms
 * on it).
 */
const COUNTED_BEFORE = 'counted_before';
const COUNTED_BEFORE_DECLARED = `${COUNTED_BEFORE} jsonb := pg_catalog.current_setting('schemata.counted')::jsonb;`;

/*
 * The row counters of table `oid` since this migration began (inserted 0,
 * updated 1, deleted 2): the transaction's, less those measure_before found
 * (schemata.counted: in the run's one transaction, earlier migrations' and
 * a rolled-back try's, whose rows are gone with it).
 */
const sinceStart = (oid: string, counter: 0 | 1 | 2) =>
  `(pg_catalog.pg_stat_get_xact_tuples_${['inserted', 'updated', 'deleted'][counter]}(${oid})
    - COALESCE((${COUNTED_BEFORE} -> (${oid})::text ->> ${counter})::bigint, 0))`;

/*
 * The catalog read row by row, each by its index: a join, an anti-join or an EXISTS under an OR may be planned
 * as a read of the whole catalog (a hash, or a hashed subplan), and these statements run in every migration.
 * OFFSET 0 keeps each probe a subquery of its own.
 */
/** Relation `oid`'s pg_class row, for a LATERAL join. */
const CLASS_ROW = (oid: string) =>
  `(SELECT c.oid, c.relfilenode, c.relpersistence, c.relam, c.relkind FROM pg_catalog.pg_class c WHERE c.oid = ${oid} OFFSET 0)`;
/*
 * Whether traced table `t` kept its storage (relfilenode): PostgreSQL rewrote
 * none of its rows, so a type change there kept every stored value as it was,
 * read under a type that takes it unconverted (a binary-coercible cast: text
 * to citext, varchar to text; a longer varchar, more numeric digits). Every
 * type change that converts a value (a USING that computes, a cast by a
 * function) rewrites the table. Traced tables are tables with storage: a
 * partitioned table's rows are its partitions', each traced itself.
 */
const STORAGE_KEPT = (t: string) =>
  `((SELECT c.relfilenode FROM pg_catalog.pg_class c WHERE c.oid = ${t}.oid) = ${t}.node)`;
/** Whether relation `oid` is gone. */
const ABSENT = (oid: string) =>
  `((SELECT c.oid FROM pg_catalog.pg_class c WHERE c.oid = ${oid}) IS NULL)`;
/**
 * The value of relation `oid` in a list (`,oid:value,` each: the storage listing, the attributes dropped before
 * the file), as text, or NULL: found by plain text search (the storage listing holds every table of the
 * database, and a regular expression made anew for each table scanned it slower than PostgreSQL's substring
 * search).
 */
const listedValue = (list: string, oid: string) =>
  `NULLIF(pg_catalog.split_part(pg_catalog.split_part(${list}, ',' || ${oid}::text || ':', 2), ',', 1), '')`;
/** How many attributes of relation `oid` this transaction dropped (their pg_attribute rows are its own). */
const DROPPED_IN_TRANSACTION = (oid: string) =>
  `(SELECT pg_catalog.count(*) FROM pg_catalog.pg_attribute a WHERE a.attrelid = ${oid} AND a.attnum > 0 AND a.attisdropped AND pg_catalog.age(a.xmin) <= 0)`;
/**
 * Whether relation `oid` has a column (an attribute) this migration dropped: more dropped in the transaction
 * than before the file (schemata.dropped_before, DROPPED_BEFORE_SQL). In the run's one transaction, a column an
 * earlier migration dropped stays the transaction's, with the relation's lock: counted from the transaction, every
 * later migration took the relation for a suspect and ran twice.
 */
const COLUMN_DROPPED_NOW = (oid: string) =>
  `(${DROPPED_IN_TRANSACTION(oid)} > COALESCE(${listedValue("pg_catalog.current_setting('schemata.dropped_before', true)", oid)}::int8, 0))`;
/**
 * Before the file: `,oid:count,` for each relation there before the run that this transaction holds a lock to
 * rewrite and dropped attributes of (DROPPED_IN_TRANSACTION), '' where the transaction has written nothing yet
 * (a transaction per migration: no lock is held before the file) or where no relation was there before the
 * run (WRITTEN_FROM_MADE: pg_locks, which copies every lock of the server, is not read for nothing in a run of
 * a thousand migrations). Read where an earlier migration of the run's one transaction may have dropped some.
 * (The first transaction ID the file writes with cannot be asked instead: a snapshot's xmax follows the newest
 * completed transaction, and this one's earlier subtransactions are still in progress.)
 */
const DROPPED_BEFORE_SQL = (
  upTo: string,
  writtenFromMade: string,
) => `CASE WHEN ${writtenFromMade} OR pg_catalog.pg_current_xact_id_if_assigned() IS NULL THEN '' ELSE COALESCE((
    SELECT ',' || pg_catalog.string_agg(d.oid::text || ':' || d.n::text, ',') || ','
      FROM (SELECT l.relation AS oid, ${DROPPED_IN_TRANSACTION('l.relation')} AS n FROM pg_catalog.pg_locks l
             WHERE l.pid = pg_catalog.pg_backend_pid() AND l.locktype = 'relation'
               AND l.mode IN ('ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock') AND l.relation <= ${upTo}) d
     WHERE d.n > 0), '') END`;

/*
 * Whether table `oid` holds rows again and none of those it held: no row is
 * older than the transaction, and no more rows look the transaction's than
 * this migration inserted. A row is the transaction's when its xmin is not
 * older than the transaction's own ID (a subtransaction's, of a savepoint or
 * a PL/pgSQL block with an EXCEPTION clause, is younger still). A row it
 * held and updated looks the transaction's too (an UPDATE writes the row
 * anew), and so do rows an earlier migration of the run's one transaction
 * wrote and a row frozen so long ago that its ID compares as younger: with
 * those, more rows look the transaction's than it inserted. (Unless it also
 * deleted at least as many of the rows it inserted as it kept and updated:
 * then a refusal too many, never a loss let through.)
 */
const OLDER_ROWS = (oid: string) => hasRowsSql(oid, `'pg_catalog.age(xmin) > 0'`);
const MORE_NEW_ROWS_THAN_INSERTED = (oid: string) =>
  hasRowsSql(oid, `'pg_catalog.age(xmin) <= 0'`, sinceStart(oid, 0));
const REFILLED = (oid: string) =>
  `(NOT ${OLDER_ROWS(oid)}
    AND NOT ${MORE_NEW_ROWS_THAN_INSERTED(oid)})`;

/*
 * Whether table `oid` was written by this migration (its transaction holds
 * ROW EXCLUSIVE on it) while none of its row counters moved: the counters
 * were off (a superuser's file may turn track_counts off around its writes,
 * and on again), or the write matched no row. Either way the counters tell
 * nothing, and whether it is empty now is read from the table. (Not whether
 * every row it holds is this transaction's: age(xmin) cannot tell on a busy
 * server, where rows frozen more than 2^31 transactions ago look younger
 * than any, and a write that matched no row would be refused.) A table counted
 * before this migration (schemata.counted: an earlier migration of the
 * run's one transaction wrote it, and holds its lock) is not one; before 15
 * that also leaves out a table the session wrote in an earlier transaction
 * whose counters are still pending.
 */
const UNCOUNTED = (oid: string) =>
  `(pg_catalog.pg_stat_get_xact_tuples_inserted(${oid}) + pg_catalog.pg_stat_get_xact_tuples_updated(${oid})
      + pg_catalog.pg_stat_get_xact_tuples_deleted(${oid}) = 0
    AND (${COUNTED_BEFORE} -> (${oid})::text) IS NULL)`;
const UNCOUNTED_WRITE = (oid: string) =>
  `(${UNCOUNTED(oid)} AND EXISTS (SELECT 1 FROM row_locked r WHERE ${oid} = ANY (r.oids)))`;

/**
 * The tables the transaction holds ROW EXCLUSIVE on, read from pg_locks once (it copies every session's
 * locks) and only where UNCOUNTED_WRITE asks: a CTE of LOSSES_SQL.
 */
const ROW_LOCKED_CTE = `row_locked AS MATERIALIZED (
    SELECT COALESCE(pg_catalog.array_agg(l.relation), '{}') AS oids FROM pg_catalog.pg_locks l
     WHERE l.pid = pg_catalog.pg_backend_pid() AND l.locktype = 'relation' AND l.mode = 'RowExclusiveLock'
  )`;

/*
 * Whether this transaction gave a generated column of table `oid` a new
 * expression (ALTER COLUMN ... SET EXPRESSION, PostgreSQL 17 and later): that
 * rewrite computes the column again from the others, which it keeps.
 */
const REGENERATED = (oid: string) =>
  `COALESCE((SELECT true FROM pg_catalog.pg_attrdef d
             CROSS JOIN LATERAL (SELECT a.attgenerated FROM pg_catalog.pg_attribute a WHERE a.attrelid = d.adrelid AND a.attnum = d.adnum OFFSET 0) a
             WHERE d.adrelid = ${oid} AND a.attgenerated <> '' AND pg_catalog.age(d.xmin) <= 0 LIMIT 1), false)`;

/*
 * Whether traced table `t` (pg_class row `c` now) can be asked REFILLED:
 * whether it lost every row it held while it holds rows again, as after a
 * DELETE of every row or a TRUNCATE, then INSERTs. Asked only where that
 * proves it: a table, not a materialized view (a REFRESH writes every row
 * anew by design), and since this migration began
 * - its storage kept and rows deleted; or
 * - its storage replaced with its columns, their types, its persistence and
 *   its access method as they were: a rewrite that changes none of them
 *   (CLUSTER, SET TABLESPACE) keeps the rows' IDs, and one that does write
 *   every row anew (ALTER COLUMN ... TYPE, a volatile DEFAULT of a new
 *   column, SET LOGGED) changes one of them.
 */
const REFILLABLE = (t: string, c: string) =>
  `${t}.kind = 'r'
                   AND CASE WHEN ${c}.relfilenode = ${t}.node
                     THEN ${sinceStart(`${t}.oid`, 2)} > 0
                     ELSE ${REWRITE_KEPT_IDS(t, c)} END`;

/*
 * Whether traced table `t` (pg_class row `c` now), its storage replaced,
 * was rewritten with its columns, their types, its persistence and its
 * access method as they were: CLUSTER, VACUUM FULL or SET TABLESPACE, which
 * keep each row's ID (xmin). Every other rewrite writes each row anew.
 */
const REWRITE_KEPT_IDS = (t: string, c: string) => {
  const then = `SELECT col.num, col.typid, col.typmod FROM pg_catalog.jsonb_to_recordset(${t}.cols) AS col(num int, typid oid, typmod int)`;
  const now = `SELECT a.attnum::int, a.atttypid, a.atttypmod FROM pg_catalog.pg_attribute a WHERE a.attrelid = ${t}.oid AND a.attnum > 0 AND NOT a.attisdropped`;
  return `(${c}.relpersistence::text = ${t}.persistence AND ${c}.relam = ${t}.am
                      AND NOT EXISTS ((${then} EXCEPT ${now}) UNION ALL (${now} EXCEPT ${then})))`;
};

/*
 * Whether table `oid`, a plain table, may have had every row it holds
 * updated by this migration: it updated rows, holds some, and none is older
 * than the transaction (OLDER_ROWS: an UPDATE writes the row anew). Not
 * asked of the tables whose UPDATEs the forecast read and judged wholly
 * (null in schemata.updates_read): it judged their WHERE; where it lists the
 * columns they set, the other columns are judged (valuesBeforePlpgsql). A
 * suspect: measured again with the table's rows and
 * values read before the file (LOSSES_SQL judges it). Where this role
 * cannot read the rows (row-level security, no SELECT), hasRowsSql answers
 * that older ones are there: not judged.
 */
const MAY_HAVE_UPDATED_EVERY_ROW = (oid: string) =>
  `CASE WHEN ${sinceStart(oid, 1)} > 0
          AND (pg_catalog.current_setting('schemata.updates_read')::jsonb -> ${oid}::pg_catalog.text) IS DISTINCT FROM 'null'::jsonb
          AND (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = ${oid}) = 'r'
        THEN ${hasRowsSql(oid)} AND NOT ${OLDER_ROWS(oid)} ELSE false END`;

/**
 * The losses of the traced tables so far in the transaction: `lost`, one
 * text (NULL: none), and `held`, the tables that lost rows with their rows
 * (a JSON array of model/protect.ts Holder), for the refusal. Before COMMIT,
 * and after each statement of a refused migration run again to tell which
 * statement it was.
 */
const LOSSES_SQL = `  WITH ${ROW_LOCKED_CTE}, traced AS MATERIALIZED (
    SELECT x.*, CASE WHEN x.rows < 0 THEN 'rows this role cannot count'
                     WHEN x.rows > ${ROW_COUNT_CAP} THEN 'more than ${groupedDigits(ROW_COUNT_CAP)} rows'
                     ELSE x.rows || CASE WHEN x.rows = 1 THEN ' row' ELSE ' rows' END END AS held,
           -- By its name now, and the one it had where the migration began if the migration renamed or moved it.
           COALESCE(NULLIF(now.identity, x.identity) || ' (' || x.identity || ' before this migration)', x.identity)
             || COALESCE(' (of ' || x.top || ')', '') AS shown
      FROM pg_catalog.jsonb_to_recordset(pg_catalog.current_setting('schemata.traced')::jsonb)
           AS x(oid oid, identity text, top text, node oid, rows bigint, kind text, persistence text, am oid, cols jsonb)
      LEFT JOIN LATERAL (SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) AS identity
                           FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                          WHERE c.oid = x.oid OFFSET 0) now ON true
     WHERE x.rows <> 0
  )
  SELECT pg_catalog.string_agg(losses.what, '; ') AS lost,
         pg_catalog.jsonb_agg(DISTINCT pg_catalog.jsonb_build_object('table', losses.identity,
           'rows', CASE WHEN losses.rows >= 0 THEN LEAST(losses.rows, ${ROW_COUNT_CAP}) END, 'more', losses.rows > ${ROW_COUNT_CAP}))::text AS held
    FROM (
    SELECT pg_catalog.format('table %s held %s and is gone', t.shown, t.held) AS what, t.identity, t.rows
      FROM traced t WHERE ${ABSENT('t.oid')}
    UNION ALL
    SELECT CASE WHEN NOT e.has_rows
             THEN pg_catalog.format('table %s held %s and is now empty (%s)', e.shown, e.held, e.how)
             WHEN e.refilled
             THEN pg_catalog.format('table %s held %s and none of them is left (%s, and every row it holds now was written by this migration)', e.shown, e.held, e.how)
             ELSE pg_catalog.format('table %s held %s and every one of them was written anew by a rewrite that kept each column''s type: ALTER COLUMN ... TYPE ... USING computed new values', e.shown, e.held) END, e.identity, e.rows
      FROM (SELECT k.*, CASE WHEN k.none_kept THEN NOT ${MORE_NEW_ROWS_THAN_INSERTED('k.oid')} ELSE false END AS refilled
              FROM (SELECT t.oid, t.shown, t.held, t.identity, t.rows, c.relfilenode <> t.node AS replaced,
                           CASE WHEN c.relfilenode <> t.node THEN 'its storage was replaced: TRUNCATE or a rewrite' ELSE 'its rows were deleted' END AS how,
                           ${hasRowsSql('t.oid')} AS has_rows,
                           -- no row it holds is older than the transaction, where that tells (REFILLABLE)
                           CASE WHEN ${REFILLABLE('t', 'c')} THEN NOT ${OLDER_ROWS('t.oid')} ELSE false END AS none_kept
                      FROM traced t CROSS JOIN LATERAL ${CLASS_ROW('t.oid')} c
                     -- Written with no counter moving (UNCOUNTED_WRITE): whether it is empty now is asked too.
                     WHERE c.relfilenode <> t.node OR pg_catalog.pg_stat_get_xact_tuples_deleted(t.oid) > 0 OR ${UNCOUNTED_WRITE('t.oid')} OFFSET 0) k OFFSET 0) e
     -- Empty; refilled; or every row written anew by a rewrite that changed no column's type, which only a USING
     -- does (CLUSTER and SET TABLESPACE keep every row's ID; a new generated expression computes its column again).
     WHERE NOT e.has_rows OR e.refilled OR (e.replaced AND e.none_kept AND NOT ${REGENERATED('e.oid')})
    UNION ALL
    -- An UPDATE of every row: every row it held updated (at least as many updates as rows, and none older than the
    -- transaction, its rows' IDs kept by any rewrite), and a column that held data holds other values now.
    SELECT pg_catalog.format('table %s held %s, and this migration updated every one of them and changed the values of column %s, as an UPDATE without a WHERE that limits it does',
             t.shown, t.held, (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(n), ', ') FROM pg_catalog.jsonb_array_elements_text(v.changed) AS n)),
           t.identity, t.rows
      FROM traced t
      CROSS JOIN LATERAL (SELECT v.changed FROM pg_catalog.jsonb_to_recordset(pg_catalog.current_setting('schemata.values')::jsonb) AS v(oid oid, changed jsonb)
                           WHERE v.oid = t.oid LIMIT 1) v
      CROSS JOIN LATERAL ${CLASS_ROW('t.oid')} c
     WHERE t.rows > 0 AND t.kind = 'r' AND v.changed <> '[]'
       AND CASE WHEN ${sinceStart('t.oid', 1)} >= t.rows AND (c.relfilenode = t.node OR ${REWRITE_KEPT_IDS('t', 'c')})
           THEN ${hasRowsSql('t.oid')} AND NOT ${OLDER_ROWS('t.oid')} ELSE false END
    UNION ALL
    SELECT pg_catalog.format('column %I of table %s held data (%s) and is gone', col.name, t.shown, t.held), t.identity, t.rows
      FROM traced t, pg_catalog.jsonb_to_recordset(t.cols) AS col(num int, name text, type text, typid oid, typmod int)
     -- The table is there, and the column is not (or is dropped).
     WHERE NOT ${ABSENT('t.oid')}
       AND COALESCE((SELECT a.attisdropped FROM pg_catalog.pg_attribute a WHERE a.attrelid = t.oid AND a.attnum = col.num), true)
    UNION ALL
    -- A column there with its type, whose values held an attribute of a composite type that is dropped now
    -- (COMPOSITE_PARTS). Where the whole type is gone, so is what held it: an attribute of a composite reported
    -- here, or the column itself (above).
    SELECT pg_catalog.format('column %I of table %s held data (%s) and lost %s from every value: the attribute was dropped from its type', col.name, t.shown, t.held, gone.what),
           t.identity, t.rows
      FROM traced t CROSS JOIN LATERAL pg_catalog.jsonb_to_recordset(t.cols) AS col(num int, name text, typid oid, parts jsonb)
      CROSS JOIN LATERAL (SELECT pg_catalog.string_agg(p.what, ', ' ORDER BY p.what) AS what
                            FROM pg_catalog.jsonb_to_recordset(col.parts) AS p(rel oid, num int, what text)
                           WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = p.rel AND a.attnum = p.num AND a.attisdropped)) gone
     WHERE gone.what IS NOT NULL
       AND (SELECT a.atttypid FROM pg_catalog.pg_attribute a WHERE a.attrelid = t.oid AND a.attnum = col.num AND NOT a.attisdropped) = col.typid
    UNION ALL
    SELECT CASE WHEN w.kept IS NULL
             THEN pg_catalog.format('column %I of table %s (%s) changed type from %s to %s, and the forecast allowed no widening there (a USING, or a statement it could not read, may have computed new values)', col.name, t.shown, t.held, col.type, pg_catalog.format_type(a.atttypid, a.atttypmod))
             ELSE pg_catalog.format('column %I of table %s (%s) changed type from %s to %s, and its values are not those the widening gives: another statement of the migration changed them (an UPDATE, or dynamic SQL)', col.name, t.shown, t.held, col.type, pg_catalog.format_type(a.atttypid, a.atttypmod)) END,
           t.identity, t.rows
      FROM traced t CROSS JOIN LATERAL pg_catalog.jsonb_to_recordset(t.cols) AS col(num int, name text, type text, typid oid, typmod int)
      CROSS JOIN LATERAL (SELECT a.atttypid, a.atttypmod FROM pg_catalog.pg_attribute a WHERE a.attrelid = t.oid AND a.attnum = col.num AND NOT a.attisdropped OFFSET 0) a
      -- The forecast's widening of the column, and whether its values are those it gives (VERIFY_WIDENED_PLPGSQL).
      LEFT JOIN LATERAL (SELECT w.kept FROM pg_catalog.jsonb_to_recordset(pg_catalog.current_setting('schemata.widened')::jsonb) AS w(oid oid, "column" text, kept boolean)
                          WHERE w.oid = t.oid AND w."column" = col.name LIMIT 1) w ON true
     WHERE (a.atttypid, a.atttypmod) IS DISTINCT FROM (col.typid, col.typmod)
       AND w.kept IS NOT TRUE
       AND NOT ${STORAGE_KEPT('t')}
  ) losses`;

/** Reads LOSSES_SQL into the PL/pgSQL variables `lost` and `held`. */
const READ_LOSSES = `SELECT l.lost, l.held INTO lost, held FROM (
${LOSSES_SQL}
  ) l;`;

/** Raises LOSS_SQLSTATE with the losses as the message and the tables with their rows as the detail (engine/session.ts reads both). */
const RAISE_LOSS = `RAISE EXCEPTION USING ERRCODE = '${LOSS_SQLSTATE}', MESSAGE = lost, DETAIL = COALESCE(held, '[]');`;

/** The storage of table `oid` in a listing (`,oid:relfilenode,` each), or NULL (listedValue). */
const nodeOf = (nodes: string, oid: string) => `${listedValue(nodes, oid)}::pg_catalog.oid`;

/** How many tables a lookup in the storage listing takes one at a time (nodeOf); more, and the listing is read once. */
const NODES_ONE_BY_ONE = 100;

/**
 * The storage of each of the tables `oids` (an oid[] without duplicates) in a listing, as rows (oid, node; node
 * NULL where the listing has none): a FROM item. A few are looked up one by one; past NODES_ONE_BY_ONE (an ALTER
 * of a partitioned table locks every partition), the listing is split once and joined, where a search of it for
 * each of a thousand tables cost 40 ms. The condition on the count is checked once: the other branch never runs.
 */
const nodesOf = (nodes: string, oids: string) => `(
    SELECT w.oid, ${nodeOf(nodes, 'w.oid')} AS node FROM pg_catalog.unnest(${oids}) AS w(oid)
     WHERE pg_catalog.cardinality(${oids}) <= ${NODES_ONE_BY_ONE}
    UNION ALL
    SELECT w.oid, l.node FROM pg_catalog.unnest(${oids}) AS w(oid)
      LEFT JOIN (SELECT pg_catalog.split_part(e, ':', 1)::pg_catalog.oid AS oid, NULLIF(pg_catalog.split_part(e, ':', 2), '')::pg_catalog.oid AS node
                   FROM pg_catalog.unnest(pg_catalog.string_to_array(${nodes}, ',')) AS e WHERE e <> '') l ON l.oid = w.oid
     WHERE pg_catalog.cardinality(${oids}) > ${NODES_ONE_BY_ONE})`;

/** The sum of table `oid`'s row counters in this transaction: it only grows, so an equal sum means none moved. */
const COUNTERS_SUM = (oid: string) =>
  `pg_catalog.pg_stat_get_xact_tuples_inserted(${oid}) + pg_catalog.pg_stat_get_xact_tuples_updated(${oid}) + pg_catalog.pg_stat_get_xact_tuples_deleted(${oid})`;

/*
 * The written tables in the run's one transaction on a database that held no
 * table when the run began (Measurement.writtenFromMade): there the
 * transaction's locks pile up with every migration (a table, its indexes,
 * sequence and TOAST each), and pg_locks, which copies them all, made each
 * migration cost more than the one before (the 1,000th read 12,000 locks).
 * No table there can have held rows: none of the storage listing's is
 * written or rewritten, and the tables whose rows this migration wrote are
 * among those made since the run began.
 *
 * Those are kept as two arrays in OID order, the tables and the sum of each
 * one's counters at the last measurement (schemata.made, carried from one
 * migration to the next after the counters, schemata.counted, and like them
 * only within the transaction that kept them), with the tables made since
 * read by an index range of pg_class's OIDs above the last one kept (a table
 * made later has a higher one). The candidates are those whose sum moved: a pass
 * over plain arrays, where reading each run-made table's pg_class row and
 * comparing its counters as JSON made the 1,000th migration of a run spend
 * 3 ms on it. The counters only grow, so a table whose sum is unchanged
 * moved in no counter since the last measurement, nor since this migration
 * began; the candidates' counters are then compared with those
 * measure_before kept (schemata.counted), as every written table's are. A
 * table dropped since it was kept stays in the arrays; its counters stay as
 * they were, and a moved one has no pg_class row for the event to count.
 */
const WRITTEN_FROM_MADE = `written_tables := '{}';
    rewritten := '{}';
    made_oids := COALESCE(NULLIF(pg_catalog.split_part(pg_catalog.current_setting('schemata.made', true), '|', 1), ''), '{}')::pg_catalog.oid[];
    made_sums := COALESCE(NULLIF(pg_catalog.split_part(pg_catalog.current_setting('schemata.made', true), '|', 2), ''), '{}')::pg_catalog.int8[];
    SELECT COALESCE(pg_catalog.array_agg(t.oid ORDER BY t.oid), '{}'), COALESCE(pg_catalog.array_agg(t.now ORDER BY t.oid), '{}'),
           COALESCE(pg_catalog.array_agg(t.oid) FILTER (WHERE t.now <> t.kept), '{}')
      INTO made_oids, made_sums, row_written
      FROM (SELECT k.oid, k.kept, ${COUNTERS_SUM('k.oid')} AS now
              FROM ROWS FROM (pg_catalog.unnest(made_oids), pg_catalog.unnest(made_sums)) AS k(oid, kept)
            UNION ALL
            SELECT c.oid, 0, ${COUNTERS_SUM('c.oid')}
              FROM pg_catalog.pg_class c
             WHERE c.oid > COALESCE(made_oids[pg_catalog.cardinality(made_oids)], pg_catalog.current_setting('schemata.up_to')::pg_catalog.oid)
               AND ${USER_TABLE('c')}) t;
    made := '|' || made_oids::text || '|' || made_sums::text;
    SELECT COALESCE(pg_catalog.array_agg(w.oid), '{}'), COALESCE(pg_catalog.jsonb_object_agg(w.oid::text, w.counts), '{}')
      INTO row_written, counts_moved
      FROM (SELECT r.oid, pg_catalog.jsonb_build_array(pg_catalog.pg_stat_get_xact_tuples_inserted(r.oid),
                     pg_catalog.pg_stat_get_xact_tuples_updated(r.oid), pg_catalog.pg_stat_get_xact_tuples_deleted(r.oid)) AS counts
              FROM pg_catalog.unnest(row_written) AS r(oid)) w
     WHERE w.counts IS DISTINCT FROM ${COUNTED_BEFORE} -> (w.oid::text);`;

/** Whether relation `c` (in schema `n`) is a table whose row counters go into the history event. */
const COUNTED = (c: string, n: string) => `${c}.relkind IN ('r', 'm') AND ${c}.relpersistence <> 't'
             AND ${n}.nspname NOT IN ('schemata', 'pg_catalog', 'information_schema') AND NOT pg_catalog.starts_with(${n}.nspname, 'pg_toast')`;

/** A loss so far raises LOSS_SQLSTATE: checked after each statement when telling which statement lost the rows. */
export const LOSS_CHECK_SQL = `DO $schemata_loss$ DECLARE lost text; held text; ${COUNTED_BEFORE_DECLARED} BEGIN
  -- Nothing traced, nothing lost.
  IF pg_catalog.current_setting('schemata.traced') <> '[]' THEN
    ${VERIFY_WIDENED_PLPGSQL}
    ${VERIFY_VALUES_PLPGSQL}
    ${READ_LOSSES}
  END IF;
  IF lost IS NOT NULL THEN ${RAISE_LOSS} END IF;
END $schemata_loss$`;

/*
 * Before COMMIT: compares, keeps the row counters in schemata.rows for the
 * event, and raises on a loss (unless forced) or a suspect. The written
 * tables are those this transaction holds a write lock on: DROP, TRUNCATE,
 * ALTER, DELETE and UPDATE all take one, whoever runs them.
 */
/** The PL/pgSQL block of the measurement before COMMIT: in a function, or in a DO block where there is none. */
export const MEASURE_AFTER_BODY = `DECLARE
  lost text;
  held text;
  suspects text;
  valued text;
  counters jsonb;
  nodes text;
  grew boolean;
  moved record;
  written_tables pg_catalog.oid[];
  row_written pg_catalog.oid[];
  rewritten pg_catalog.oid[];
  made_oids pg_catalog.oid[];
  made_sums pg_catalog.int8[];
  made text := '';
  counts_moved jsonb;
  counters_settable boolean;
  parts_dropped pg_catalog.oid[] := '{}';
  holders text;
  ${COUNTED_BEFORE_DECLARED}
BEGIN
  -- Nothing traced (most migrations), nothing lost: the losses' statement, a plan that costs more to start than
  -- to run, is left out.
  IF pg_catalog.current_setting('schemata.traced') <> '[]' THEN
    ${VERIFY_WIDENED_PLPGSQL}
    ${VERIFY_VALUES_PLPGSQL}
    ${READ_LOSSES}
  END IF;
  IF pg_catalog.current_setting('schemata.written_from') = 'made' THEN
    ${WRITTEN_FROM_MADE}
  ELSE
  -- The tables this transaction locked to write, read once: pg_locks copies every session's locks. Only the
  -- rows the three lists keep are aggregated.
  SELECT COALESCE(pg_catalog.array_agg(DISTINCT l.relation) FILTER (
           WHERE l.mode IN ('RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')
             AND l.relation <= pg_catalog.current_setting('schemata.up_to')::pg_catalog.oid), '{}'),
         -- The system catalogs' (below FirstNormalObjectId), which DDL itself writes, are never counted.
         COALESCE(pg_catalog.array_agg(DISTINCT l.relation) FILTER (WHERE l.mode = 'RowExclusiveLock' AND l.relation >= 16384), '{}'),
         COALESCE(pg_catalog.array_agg(DISTINCT l.relation) FILTER (
           WHERE l.mode IN ('ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')
             AND l.relation <= pg_catalog.current_setting('schemata.up_to')::pg_catalog.oid), '{}')
    INTO written_tables, row_written, rewritten
    FROM pg_catalog.pg_locks l
   WHERE l.pid = pg_catalog.pg_backend_pid() AND l.locktype = 'relation'
     AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())
     AND ((l.mode IN ('RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')
           AND l.relation <= pg_catalog.current_setting('schemata.up_to')::pg_catalog.oid)
          OR (l.mode = 'RowExclusiveLock' AND l.relation >= 16384));
  -- The relations (composite types, tables) this transaction dropped an attribute of: a column elsewhere whose
  -- values hold their row type lost that part of every value, with its own table untouched (HOLDING_DROPPED_PARTS).
  SELECT COALESCE(pg_catalog.array_agg(r.oid), '{}') INTO parts_dropped FROM pg_catalog.unnest(rewritten) AS r(oid)
   WHERE ${COLUMN_DROPPED_NOW('r.oid')};
  -- The row counters (inserted, updated, deleted) of the relations whose counters moved in this migration, against
  -- those measure_before found, read once: in the run's one transaction it holds ROW EXCLUSIVE on every relation the
  -- run wrote (tables, their indexes and TOAST), and the statements below look at these few.
  SELECT COALESCE(pg_catalog.jsonb_object_agg(w.oid::text, w.counts), '{}') INTO counts_moved
    FROM (SELECT r.oid, pg_catalog.jsonb_build_array(pg_catalog.pg_stat_get_xact_tuples_inserted(r.oid),
                   pg_catalog.pg_stat_get_xact_tuples_updated(r.oid), pg_catalog.pg_stat_get_xact_tuples_deleted(r.oid)) AS counts
            FROM pg_catalog.unnest(row_written) AS r(oid)) w
   WHERE w.counts <> '[0, 0, 0]' AND w.counts IS DISTINCT FROM ${COUNTED_BEFORE} -> (w.oid::text);
  END IF;
  ${CATALOG_WRITTEN_PLPGSQL}
  -- Nothing traced, no table of the storage listing locked to write, and no rows written but to schemata's own
  -- tables (most DDL): no suspect, no row counted, the counters and the listing as they were. The statements
  -- below are left out.
  IF pg_catalog.current_setting('schemata.traced') = '[]' AND pg_catalog.cardinality(parts_dropped) = 0
     AND NOT EXISTS (SELECT 1 FROM ${nodesOf("pg_catalog.current_setting('schemata.nodes')", 'written_tables')} w
                      WHERE w.node IS NOT NULL)
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.jsonb_object_keys(counts_moved) AS r(oid)
                      CROSS JOIN LATERAL (SELECT c.relkind, c.relpersistence, c.relnamespace FROM pg_catalog.pg_class c WHERE c.oid = r.oid::pg_catalog.oid OFFSET 0) c
                      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE ${COUNTED('c', 'n')}) THEN
    PERFORM pg_catalog.set_config('schemata.rows', '[]', true),
            pg_catalog.set_config('schemata.counted_now', COALESCE(pg_catalog.pg_current_xact_id_if_assigned()::text, '') || '|' || (${COUNTED_BEFORE} || counts_moved)::text || made, true),
            pg_catalog.set_config('schemata.nodes_now', CASE WHEN pg_catalog.current_setting('schemata.nodes_grew') = 'on' THEN pg_catalog.current_setting('schemata.nodes') ELSE '' END, true);
    RETURN;
  END IF;
  -- Only tables there before the run are in the listing: the locks on those the run made (in the run's one
  -- transaction, every earlier migration's too) are left out before the listing is searched for each.
  WITH before AS MATERIALIZED (
    SELECT w.oid, w.node FROM ${nodesOf("pg_catalog.current_setting('schemata.nodes')", 'written_tables')} w
  ), untraced AS MATERIALIZED (
    SELECT b.oid, b.node, c.oid IS NOT NULL AS alive, c.relfilenode AS node_now
      FROM before b LEFT JOIN LATERAL ${CLASS_ROW('b.oid')} c ON true
     WHERE b.node IS NOT NULL AND b.oid <= pg_catalog.current_setting('schemata.up_to')::pg_catalog.oid
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.jsonb_to_recordset(pg_catalog.current_setting('schemata.traced')::jsonb) AS x(oid oid) WHERE x.oid = b.oid)
  )
  SELECT (SELECT pg_catalog.string_agg(u.oid::text, ',') FROM untraced u
   WHERE NOT u.alive OR u.node_now <> u.node
      OR ${COLUMN_DROPPED_NOW('u.oid')}
      OR (pg_catalog.pg_stat_get_xact_tuples_deleted(u.oid) > 0 AND NOT ${hasRowsSql('u.oid')})
      OR (${sinceStart('u.oid', 2)} > 0
          AND (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = u.oid) = 'r'
          AND ${REFILLED('u.oid')})
      -- Written with no counter moving (UNCOUNTED_WRITE), where it has pages (rows once) and is empty now.
      OR (u.oid = ANY (row_written) AND ${UNCOUNTED('u.oid')}
          AND pg_catalog.pg_relation_size(u.oid) > 0 AND NOT ${hasRowsSql('u.oid')})),
         -- Traced or not, a table whose values were not read before the file and that may have had every row updated.
         (SELECT pg_catalog.string_agg(b.oid::text, ',') FROM before b
           WHERE b.node IS NOT NULL AND b.oid <= pg_catalog.current_setting('schemata.up_to')::pg_catalog.oid
             AND NOT EXISTS (SELECT 1 FROM pg_catalog.jsonb_to_recordset(pg_catalog.current_setting('schemata.values')::jsonb) AS v(oid oid) WHERE v.oid = b.oid)
             AND ${MAY_HAVE_UPDATED_EVERY_ROW('b.oid')})
    INTO suspects, valued;
  -- The tables there before the run whose columns hold an attribute dropped now: traced in a second run, which
  -- judges whether they held rows (LOSSES_SQL, the columns' parts).
  IF pg_catalog.cardinality(parts_dropped) > 0 THEN
    SELECT pg_catalog.string_agg(h.oid::text, ',') INTO holders FROM ${HOLDING_DROPPED_PARTS('parts_dropped')} h
     WHERE h.oid <= pg_catalog.current_setting('schemata.up_to')::pg_catalog.oid
       AND ${nodeOf("pg_catalog.current_setting('schemata.nodes')", 'h.oid')} IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.jsonb_to_recordset(pg_catalog.current_setting('schemata.traced')::jsonb) AS x(oid oid) WHERE x.oid = h.oid);
    suspects := NULLIF(pg_catalog.concat_ws(',', suspects, holders), '');
  END IF;
  SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('table', d.identity, 'inserted', d.inserted, 'updated', d.updated, 'deleted', d.deleted) ORDER BY d.identity)
    INTO counters
    FROM (SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) AS identity, w.inserted, w.updated, w.deleted
            -- Each table probed by its OID: planned once, on a catalog the run then grows (in its one transaction, by
            -- every table it makes), a join became a scan of pg_class per migration.
            FROM (SELECT m.key::pg_catalog.oid AS relation,
                         (m.value->>0)::bigint - COALESCE((${COUNTED_BEFORE} -> m.key ->> 0)::bigint, 0) AS inserted,
                         (m.value->>1)::bigint - COALESCE((${COUNTED_BEFORE} -> m.key ->> 1)::bigint, 0) AS updated,
                         (m.value->>2)::bigint - COALESCE((${COUNTED_BEFORE} -> m.key ->> 2)::bigint, 0) AS deleted
                    FROM pg_catalog.jsonb_each(counts_moved) AS m
                   OFFSET 0) w
            CROSS JOIN LATERAL (SELECT c.oid, c.relname, c.relnamespace, c.relkind, c.relpersistence FROM pg_catalog.pg_class c WHERE c.oid = w.relation OFFSET 0) c
            JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
           WHERE w.inserted + w.updated + w.deleted > 0 AND ${COUNTED('c', 'n')}) d;
  PERFORM pg_catalog.set_config('schemata.rows', COALESCE(counters, '[]')::text, true);
  -- The counters as this migration leaves them, for the next one in the same transaction (CountersSeen): those
  -- listed before it, with those that moved.
  PERFORM pg_catalog.set_config('schemata.counted_now', COALESCE(pg_catalog.pg_current_xact_id_if_assigned()::text, '') || '|' || (${COUNTED_BEFORE} || counts_moved)::text || made, true);
  -- The storage listing as this migration leaves it, for the next one (only where it changed).
  nodes := pg_catalog.current_setting('schemata.nodes');
  grew := pg_catalog.current_setting('schemata.nodes_grew') = 'on';
  FOR moved IN
    SELECT w.oid, w.node, c.relfilenode AS now
      FROM ${nodesOf('nodes', 'rewritten')} w
      LEFT JOIN LATERAL ${CLASS_ROW('w.oid')} c ON true
     WHERE w.node IS NOT NULL AND w.node IS DISTINCT FROM c.relfilenode
  LOOP
    nodes := pg_catalog.replace(nodes, ',' || moved.oid::text || ':' || moved.node::text || ',',
                                ',' || COALESCE(moved.oid::text || ':' || moved.now::text || ',', ''));
    grew := true;
  END LOOP;
  PERFORM pg_catalog.set_config('schemata.nodes_now', CASE WHEN grew THEN nodes ELSE '' END, true);
  -- Forced or not, a suspect is measured (a second run): what a force let through is recorded exactly.
  IF suspects IS NOT NULL OR valued IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = '${SUSPECT_SQLSTATE}', MESSAGE = COALESCE(suspects, '') || '|' || COALESCE(valued, '');
  END IF;
  IF pg_catalog.current_setting('schemata.forced') = 'on' THEN
    PERFORM pg_catalog.set_config('schemata.lost', COALESCE(lost, ''), true);
  ELSIF lost IS NOT NULL THEN
    ${RAISE_LOSS}
  END IF;
END`;

/** The measurement before COMMIT as a DO block, where schemata's functions are not there. */
export const MEASURE_AFTER_SQL = `DO $schemata_measure$\n${MEASURE_AFTER_BODY}\n$schemata_measure$`;
