import type { Client } from '../engine/connect.js';
import {
  type CatalogFacts,
  type CatalogModel,
  catalogModel,
  type Existence,
  existenceOf,
  namesOf,
  type RelationKind,
  ruleEvents,
  triggerEvents,
} from '../model/catalog.js';
import { foreignKeyAction, type ObjectRef, searchPathOf } from '../sql/operations.js';
import { loadParser } from '../sql/parse.js';
import { ARGUMENT_TYPES_SQL } from './listing.js';
import { BEGIN_OWN_READ_ONLY, OWN_SETTINGS_SQL } from '../engine/own-settings.js';

/**
 * What the model reads: every schema, or these (the set's, those its files
 * name); the session's search_path is always added, and the partitions,
 * inheritance children and ancestors of what is read, whatever their schema.
 */
export type ModelScope = 'all' | { schemas: readonly string[] };

const SYSTEM = (n: string) =>
  `(${n} IN ('pg_catalog', 'information_schema') OR pg_catalog.starts_with(${n}, 'pg_toast') OR pg_catalog.starts_with(${n}, 'pg_temp_'))`;

/*
 * One round trip. A tenant of a fleet reads its own schema and the path's
 * (SPEC §10), at the cost of those whatever the size of the rest of the
 * catalog: every part of a relation is an index lookup by the relation.
 * $2, names (NULL: all): only the relations, types and functions of those
 * names (and an index's table), for existence alone (lazyCatalogModel's
 * `existence`): a deploy's strict CREATE TABLE asked of a model of 1,000
 * tables read them all.
 */
export const MODEL_SQL = `
WITH RECURSIVE ns AS MATERIALIZED (
  SELECT n.oid, n.nspname FROM pg_catalog.pg_namespace n
   WHERE ($1::text[] IS NULL AND NOT ${SYSTEM('n.nspname')})
      OR n.nspname = ANY($1::text[]) OR n.nspname = ANY(pg_catalog.current_schemas(false))
      OR n.nspname IN ('pg_catalog', current_user)
), own AS MATERIALIZED (
  SELECT oid, nspname FROM ns WHERE NOT ${SYSTEM('nspname')}
), scoped AS MATERIALIZED (
  SELECT c.oid FROM pg_catalog.pg_class c JOIN own ON own.oid = c.relnamespace
   WHERE c.relkind <> 't' AND ($2::text[] IS NULL OR c.relname = ANY($2::text[]))
), up(oid) AS (
  SELECT oid FROM scoped
  -- Read by names, an index's table comes with it: what drift asks of an index is its table.
  UNION SELECT x.indrelid FROM pg_catalog.pg_index x WHERE $2::text[] IS NOT NULL AND x.indexrelid IN (SELECT oid FROM scoped)
  UNION SELECT i.inhparent FROM up JOIN pg_catalog.pg_inherits i ON i.inhrelid = up.oid
), down(oid) AS (
  SELECT oid FROM scoped
  UNION SELECT i.inhrelid FROM down JOIN pg_catalog.pg_inherits i ON i.inhparent = down.oid
), referencing(oid) AS (
  -- The tables whose foreign keys reference what is read, wherever they live: a DELETE's CASCADE reaches them
  -- (not asked of a model for existence alone). Found through pg_depend's index on what is referenced (a foreign
  -- key depends on the columns it references): pg_constraint has no index on confrelid, and a chain of 250
  -- tables read it whole 250 times.
  SELECT oid FROM scoped
  UNION SELECT k.conrelid FROM referencing
    JOIN pg_catalog.pg_depend d ON d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = referencing.oid
         AND d.classid = 'pg_catalog.pg_constraint'::pg_catalog.regclass
    JOIN pg_catalog.pg_constraint k ON k.oid = d.objid AND k.confrelid = referencing.oid AND k.contype = 'f'
   WHERE $2::text[] IS NULL
), rel AS MATERIALIZED (
  SELECT c.oid, c.relkind, c.relname, n.nspname, c.relispartition, pg_catalog.format('%I.%I', n.nspname, c.relname) AS identity
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE c.oid IN (SELECT oid FROM up UNION SELECT oid FROM down UNION SELECT oid FROM referencing)
)
SELECT pg_catalog.current_setting('search_path') AS search_path, current_user AS "user",
  (SELECT pg_catalog.array_agg(nspname::text) FROM ns) AS schemas,
  (SELECT COALESCE(pg_catalog.json_agg(pg_catalog.json_build_array(
      r.oid::int8, r.nspname, r.relname,
      CASE r.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'm' THEN 'materialized view'
                     WHEN 'v' THEN 'view' WHEN 'S' THEN 'sequence' WHEN 'i' THEN 'index' WHEN 'I' THEN 'index'
                     WHEN 'f' THEN 'foreign table' ELSE 'other' END,
      r.identity,
      (SELECT pg_catalog.format('%I.%I', tn.nspname, t.relname) FROM pg_catalog.pg_index x
         JOIN pg_catalog.pg_class t ON t.oid = x.indrelid JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
        WHERE x.indexrelid = r.oid),
      (SELECT pg_catalog.array_agg(pg_catalog.format('%I.%I', pn.nspname, pc.relname) ORDER BY i.inhseqno)
         FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class pc ON pc.oid = i.inhparent
         JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace WHERE i.inhrelid = r.oid),
      r.relispartition,
      CASE WHEN r.relkind NOT IN ('i', 'I', 'S') THEN (SELECT pg_catalog.array_agg(a.attname) FROM pg_catalog.pg_attribute a
         WHERE a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped) END,
      (SELECT pg_catalog.array_agg(k.conname) FROM pg_catalog.pg_constraint k WHERE k.conrelid = r.oid),
      (SELECT pg_catalog.array_agg(g.tgname) FROM pg_catalog.pg_trigger g WHERE g.tgrelid = r.oid),
      (SELECT pg_catalog.array_agg(p.polname) FROM pg_catalog.pg_policy p WHERE p.polrelid = r.oid),
      -- A partition's clone of its parent's row trigger is left out: the forecast fires the parent's.
      (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(g.tgname, g.tgtype, fn.nspname, fp.proname, g.tgenabled IN ('O', 'A')))
         FROM pg_catalog.pg_trigger g JOIN pg_catalog.pg_proc fp ON fp.oid = g.tgfoid
         JOIN pg_catalog.pg_namespace fn ON fn.oid = fp.pronamespace
        WHERE g.tgrelid = r.oid AND NOT g.tgisinternal AND g.tgparentid = 0),
      (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(k.conname, pg_catalog.format('%I.%I', kn.nspname, kc.relname), k.confdeltype, k.confupdtype))
         FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class kc ON kc.oid = k.confrelid
         JOIN pg_catalog.pg_namespace kn ON kn.oid = kc.relnamespace
        WHERE k.conrelid = r.oid AND k.contype = 'f' AND k.conparentid = 0),
      -- Its rules, disabled ones too (the run may enable them), each with whether it fires for a migration.
      (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(w.rulename, w.ev_type, pg_catalog.pg_get_ruledef(w.oid), w.ev_enabled IN ('O', 'A')))
         FROM pg_catalog.pg_rewrite w
        WHERE w.ev_class = r.oid AND w.rulename <> '_RETURN'),
      -- A view PostgreSQL can update or delete from: its query, whose one table such a write reaches.
      CASE WHEN r.relkind = 'v' AND pg_catalog.pg_relation_is_updatable(r.oid, false) & 20 <> 0
           THEN pg_catalog.pg_get_viewdef(r.oid) END
    )), '[]') FROM rel r) AS relations,
  -- Types as listing.ts renders a function's argument types: pg_catalog's by format_type, the others qualified.
  (SELECT COALESCE(pg_catalog.json_agg(pg_catalog.json_build_array(t.oid::int8, ns.nspname, t.typname,
      CASE WHEN ns.nspname = 'pg_catalog' THEN pg_catalog.format_type(t.oid, NULL) ELSE pg_catalog.format('%I.%I', ns.nspname, t.typname) END)), '[]')
     FROM pg_catalog.pg_type t JOIN ns ON ns.oid = t.typnamespace
    WHERE NOT (t.typtype = 'b' AND t.typcategory = 'A' AND t.typelem <> 0) AND ($2::text[] IS NULL OR t.typname = ANY($2::text[]))
      AND NOT (t.typtype = 'c' AND EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid AND c.relkind <> 'c'))) AS types,
  -- The functions of the schemas read, and those the triggers read fire wherever they live; bodies of SQL and PL/pgSQL only.
  (SELECT COALESCE(pg_catalog.json_agg(pg_catalog.json_build_array(ns.nspname, p.proname, p.prokind = 'p', a.args,
      pg_catalog.format('%I.%I(%s)', ns.nspname, p.proname, a.args),
      (SELECT pg_catalog.substr(c, 13) FROM pg_catalog.unnest(p.proconfig) AS c WHERE pg_catalog.starts_with(c, 'search_path=') LIMIT 1),
      CASE WHEN l.lanname IN ('sql', 'plpgsql') THEN l.lanname END,
      CASE WHEN l.lanname NOT IN ('sql', 'plpgsql') THEN NULL
           WHEN p.prosqlbody IS NOT NULL THEN pg_catalog.pg_get_function_sqlbody(p.oid) ELSE p.prosrc END,
      p.prosqlbody IS NOT NULL,
      p.prorettype = 'pg_catalog.trigger'::pg_catalog.regtype, p.pronargdefaults, p.provariadic <> 0)), '[]')
     FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace ns ON ns.oid = p.pronamespace
     JOIN pg_catalog.pg_language l ON l.oid = p.prolang
     CROSS JOIN LATERAL (SELECT ${ARGUMENT_TYPES_SQL} AS args) a
    WHERE (p.pronamespace IN (SELECT oid FROM own) AND ($2::text[] IS NULL OR p.proname = ANY($2::text[])))
       OR p.oid IN (SELECT g.tgfoid FROM pg_catalog.pg_trigger g WHERE g.tgrelid IN (SELECT oid FROM rel))) AS functions,
  ARRAY(SELECT extname::text FROM pg_catalog.pg_extension) AS extensions`;

type RelationRow = [
  number,
  string,
  string,
  RelationKind,
  string,
  string | null,
  string[] | null,
  boolean,
  string[] | null,
  string[] | null,
  string[] | null,
  string[] | null,
  Array<[string, number, string, string, boolean]> | null,
  Array<[string, string, string, string]> | null,
  Array<[string, string, string, boolean]> | null,
  string | null,
];

interface ModelRow {
  search_path: string;
  user: string;
  schemas: string[];
  relations: RelationRow[];
  types: Array<[number, string, string, string]>;
  functions: Array<
    [
      string,
      string,
      boolean,
      string,
      string,
      string | null,
      'sql' | 'plpgsql' | null,
      string | null,
      boolean,
      boolean,
      number,
      boolean,
    ]
  >;
  extensions: string[];
}

/**
 * One query: the model of what the run can reach, in a read-only transaction
 * of its own with schemata's own settings. `searchPath` (SQL): a tenant
 * schema's path, which its files resolve names with, set in that transaction,
 * so that behind PgBouncer the setting and the question share a server
 * connection.
 */
export async function readCatalogModel(
  client: Client,
  scope: ModelScope,
  searchPath?: string,
  /** Only the objects of these names (model/catalog.ts namesOf): a model for existence alone. */
  names?: readonly string[],
): Promise<CatalogModel> {
  const ask = () =>
    client.query<ModelRow>(MODEL_SQL, [
      scope === 'all' ? null : [...new Set(scope.schemas)],
      names === undefined ? null : [...names],
    ]);
  let rows: ModelRow[];
  // schemata's own settings (SPEC §13): with jit = on the planner finds this question expensive and LLVM compiles it.
  await client.query(
    `${BEGIN_OWN_READ_ONLY}; ${OWN_SETTINGS_SQL}${searchPath === undefined ? '' : `; SET LOCAL search_path = ${searchPath}`}`,
  );
  try {
    ({ rows } = await ask());
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  const row = rows[0]!;
  const parser = await loadParser();
  const facts: CatalogFacts = {
    searchPath: searchPathOf(parser, row.search_path) ?? [],
    user: row.user,
    schemas: row.schemas,
    relations: row.relations.map(
      ([
        oid,
        schema,
        name,
        kind,
        identity,
        table,
        parents,
        partition,
        columns,
        constraints,
        triggers,
        policies,
        fires,
        references,
        rules,
        view,
      ]) => ({
        oid,
        schema,
        name,
        kind,
        identity,
        table: table ?? undefined,
        parents: parents ?? undefined,
        partition,
        columns: columns ?? undefined,
        constraints: constraints ?? undefined,
        triggers: triggers ?? undefined,
        policies: policies ?? undefined,
        fires: fires?.map(([trigger, tgtype, fnSchema, fnName, enabled]) => ({
          trigger,
          events: triggerEvents(tgtype),
          function: { schema: fnSchema, name: fnName },
          // TRIGGER_TYPE_ROW
          row: (tgtype & 1) !== 0,
          enabled,
        })),
        references: references?.map(([constraint, table, onDelete, onUpdate]) => ({
          constraint,
          table,
          onDelete: foreignKeyAction(onDelete),
          onUpdate: foreignKeyAction(onUpdate),
        })),
        rules: rules?.map(([ruleName, evType, definition, enabled]) => ({
          name: ruleName,
          events: ruleEvents(evType),
          definition,
          enabled,
        })),
        view: view ?? undefined,
      }),
    ),
    types: row.types.map(([oid, schema, name, rendering]) => ({ oid, schema, name, rendering })),
    functions: row.functions.map(
      ([
        schema,
        name,
        procedure,
        args,
        identity,
        path,
        language,
        source,
        standardBody,
        trigger,
        defaults,
        variadic,
      ]) => ({
        schema,
        name,
        kind: procedure ? 'procedure' : 'function',
        args,
        identity,
        defaults,
        variadic,
        searchPath: path === null ? undefined : (searchPathOf(parser, path) ?? undefined),
        body:
          language === null || source === null
            ? undefined
            : { language, source, standardBody, trigger },
      }),
    ),
    extensions: row.extensions,
  };
  return catalogModel(facts);
}

/**
 * The model read at most once, on the first question: a run that asks none
 * (nothing pending, nothing to repair) reads nothing. `scope` is called then,
 * when the files whose names it covers have been read.
 */
export function lazyCatalogModel(
  client: Client,
  scope: () => ModelScope | Promise<ModelScope>,
  searchPath?: string,
): LazyCatalogModel {
  let model: Promise<CatalogModel> | undefined;
  const whole = () =>
    (model ??= Promise.resolve(scope()).then((s) => readCatalogModel(client, s, searchPath)));
  return Object.assign(whole, {
    existence: async (refs: readonly ObjectRef[], wholeLater: boolean) =>
      existenceOf(
        model !== undefined || wholeLater
          ? await whole()
          : await readCatalogModel(client, await scope(), searchPath, namesOf(refs)),
        refs,
      ),
  });
}

/** The model read at most once, and the existence of a few objects without it. */
export interface LazyCatalogModel {
  (): Promise<CatalogModel>;
  /**
   * Which of `refs` exist (model/catalog.ts existenceOf): from the whole model where it is read, or will be
   * (`wholeLater`), else from a model of their names alone, which nothing else may ask.
   */
  existence: (refs: readonly ObjectRef[], wholeLater: boolean) => Promise<Existence>;
}
