import { BEFORE_ROWS, effectsSql, listingSql, snapshotRows } from './effects.js';
import type { EventValues } from './effects.js';
import type { Client } from './connect.js';
import { quoteLiteral } from '../sql/quote.js';
import type { ObjectKind } from '../catalog/listing.js';

/** An object by its kind and identity, as the catalog listing names it. */
export interface NamedObject {
  kind: ObjectKind;
  identity: string;
}

/**
 * What the catalog must hold after a migration's down (SPEC §12): the
 * objects its up made gone, those its up dropped or renamed as they were.
 */
export interface Reversal {
  /** The up's file, for the messages. */
  up: string;
  /** What the up made (and what it renamed to): gone after the down. */
  absent: NamedObject[];
  /** What the up dropped (and what it renamed from): there again after the down. */
  present: NamedObject[];
  /** Who an object the down brings back is credited to, when the history does not say who made it: the newest migration that stays applied. */
  fallback: { version: string; file: string };
}

/** The error the check raises: its message lists the differences. */
export const NOT_REVERSED_SQLSTATE = 'SCH07';

const AFTER_SQL = `pg_catalog.current_setting('schemata.after')::json`;

interface EffectsRow {
  effects: {
    created?: NamedObject[];
    dropped?: NamedObject[];
    renamed?: Array<{ kind: ObjectKind; from: string; to: string }>;
  } | null;
}

/**
 * What the down of `version` must undo, read from tracking: the objects the
 * expected state credits to it now (the later migrations are rolled back
 * first, so that is what it made), and what its events since it was last
 * applied say it dropped and renamed.
 */
export async function readReversal(
  client: Client,
  set: string,
  version: string,
  up: string,
  fallback: Reversal['fallback'],
): Promise<Reversal> {
  const made = await client.query<NamedObject>(
    'SELECT kind, identity FROM schemata.objects WHERE set_name = $1 AND version = $2',
    [set, version],
  );
  const events = await client.query<EffectsRow>(
    `SELECT effects FROM schemata.migrations
      WHERE set_name = $1 AND version = $2 AND event IN ('applied', 'repaired')
        AND id > COALESCE((SELECT max(id) FROM schemata.migrations WHERE set_name = $1 AND version = $2 AND event = 'rolled-back'), 0)
      ORDER BY id`,
    [set, version],
  );
  const key = (o: NamedObject) => `${o.kind} ${o.identity}`;
  const present = new Map<string, NamedObject>();
  const absent = new Map<string, NamedObject>(made.rows.map((o) => [key(o), o]));
  for (const { effects } of events.rows) {
    for (const o of effects?.dropped ?? [])
      present.set(key(o), { kind: o.kind, identity: o.identity });
    for (const r of effects?.renamed ?? []) {
      present.set(key({ kind: r.kind, identity: r.from }), { kind: r.kind, identity: r.from });
      absent.set(key({ kind: r.kind, identity: r.to }), { kind: r.kind, identity: r.to });
    }
  }
  // Dropped and made again by the up (an index ALTER ... TYPE rebuilt): there before, there after.
  for (const k of present.keys()) absent.delete(k);
  return { up, absent: [...absent.values()], present: [...present.values()], fallback };
}

const objectsOf = (objects: readonly NamedObject[]) =>
  `pg_catalog.jsonb_to_recordset(${quoteLiteral(JSON.stringify(objects))}::jsonb) AS x(kind text, identity text)`;

/**
 * After the down, in its transaction: the catalog as it is now (kept in a
 * setting for the check and the record), then the check, which raises
 * NOT_REVERSED_SQLSTATE with every difference, each named once (a part of
 * a table named with its table is not named again).
 */
export function reversalCheckSql(r: Reversal): string {
  const up = quoteLiteral(r.up);
  const category = (order: number, words: string, rows: string) =>
    `SELECT ${order} AS o, kind, identity, parent, ${words} AS words FROM (${rows}) c`;
  return `SELECT pg_catalog.set_config('schemata.after', ${listingSql('all')}::text, true);
DO $schemata_reversal$
DECLARE
  found text;
BEGIN
  WITH b AS MATERIALIZED (SELECT * FROM ${BEFORE_ROWS}),
  a AS MATERIALIZED (SELECT * FROM ${snapshotRows(AFTER_SQL)}),
  absent AS MATERIALIZED (SELECT * FROM ${objectsOf(r.absent)}),
  present AS MATERIALIZED (SELECT * FROM ${objectsOf(r.present)}),
  differences AS MATERIALIZED (
    ${category(1, "'leaves'", 'SELECT a.kind, a.identity, a.parent FROM a JOIN absent e ON e.kind = a.kind AND e.identity = a.identity')}
    UNION ALL
    ${category(2, "'does not bring back'", 'SELECT e.kind, e.identity, NULL::text AS parent FROM present e WHERE NOT EXISTS (SELECT 1 FROM a WHERE a.kind = e.kind AND a.identity = e.identity)')}
    UNION ALL
    ${category(3, `'drops'`, 'SELECT b.kind, b.identity, b.parent FROM b WHERE NOT EXISTS (SELECT 1 FROM a WHERE a.kind = b.kind AND a.identity = b.identity) AND NOT EXISTS (SELECT 1 FROM absent e WHERE e.kind = b.kind AND e.identity = b.identity)')}
    UNION ALL
    ${category(4, `'makes'`, 'SELECT a.kind, a.identity, a.parent FROM a WHERE NOT EXISTS (SELECT 1 FROM b WHERE b.kind = a.kind AND b.identity = a.identity) AND NOT EXISTS (SELECT 1 FROM present e WHERE e.kind = a.kind AND e.identity = a.identity)')}
  )
  SELECT pg_catalog.string_agg(d.words || ' ' || d.kind || ' ' || d.identity
           || CASE d.o WHEN 3 THEN ', which ' || ${up} || ' did not make' WHEN 4 THEN ', which was not there before ' || ${up} ELSE '' END,
           '; ' ORDER BY d.o, d.identity)
    INTO found
    FROM differences d
   WHERE d.parent IS NULL OR NOT EXISTS (SELECT 1 FROM differences p WHERE p.o = d.o AND p.identity = d.parent);
  IF found IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = '${NOT_REVERSED_SQLSTATE}', MESSAGE = found;
  END IF;
END
$schemata_reversal$;`;
}

/*
 * After the check, one statement: the expected state brought back by the
 * effects statement every migration records with (engine/effects.ts), the
 * snapshot after the down being the one the check read. What the down makes
 * again is expected of the migration whose event says it made it (else of
 * the newest that stays applied). The `rolled-back` event keeps the effects
 * as data.
 */
export function rolledBackSql(i: EventValues, r: Reversal, creates: readonly string[]): string {
  const fallback = quoteLiteral(JSON.stringify([r.fallback.version, r.fallback.file]));
  const madeBy = `COALESCE(
        (SELECT pg_catalog.jsonb_build_array(e.version, e.file) FROM schemata.migrations e
          WHERE e.set_name = ${i.set} AND e.version <> ${i.version} AND e.event IN ('applied', 'repaired')
            AND e.effects->'created' @> pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('kind', m.kind, 'identity', m.identity))
          ORDER BY e.id DESC LIMIT 1),
        ${fallback}::jsonb)`;
  return effectsSql({
    ...i,
    after: snapshotRows(AFTER_SQL),
    creates: `ARRAY[${creates.map(quoteLiteral).join(', ')}]::text[]`,
    madeBy,
  });
}
