import { readFileSync } from 'node:fs';
import pg from 'pg';
import { join, relative } from 'node:path';
import { compareVersions, type MigrationFile } from '../config/discover.js';
import type { Client } from './connect.js';
import { TOOLS } from '../tools/index.js';
import { manifestPath, readManifest } from '../tools/manifest.js';
import { type HistoryRow, listed, type ToolName, toolNamed } from '../tools/tool.js';
import { readCatalogModel } from '../catalog/model.js';
import { type AdoptedFrom, readTracking } from './tracking.js';
import { ConfigError, ValidationError } from '../errors.js';
import { adoptableUpTo, missingObjects, partlyMade } from '../model/baseline.js';
import { schemasNamed } from '../model/catalog.js';
import { describeRef, type ObjectRef } from '../sql/operations.js';
import { adoptObjects, operationsOfFile } from './adopt.js';
import { type Run, type RunOptions, type SetRun, whereOf } from './context.js';
import { trackingDenied } from './privileges.js';
import { asSchemataError, execute } from './execute.js';
import { entryOf, newReport, recordError, type Report, type SetReport } from './report.js';
import type { Task } from './tasks.js';
import { isFleet } from './fleet.js';

/*
 * Another tool's timestamps as the server writes them: the driver parses
 * ISO text only and gives null for any other DateStyle (a database's
 * 'SQL, DMY'), and a null finished_at reads as a Prisma migration that never
 * finished. Only whether one is there, and its text for messages, count.
 */
const TIMESTAMPS_AS_TEXT = new pg.TypeOverrides();
for (const type of [
  pg.types.builtins.TIMESTAMPTZ,
  pg.types.builtins.TIMESTAMP,
  pg.types.builtins.DATE,
])
  TIMESTAMPS_AS_TEXT.setTypeParser(type, 'text', (value: string) => value);

/**
 * `baseline <set> [--version V]`: adopt a database that already has the
 * objects. Checks that what the set's migrations up to V (default: all)
 * create is there, then records them as baselined without running them,
 * together with the objects that exist, each credited to the migration that
 * makes it: from then on they are checked like those of applied migrations.
 * What is missing is listed and refused unless `force`.
 */
function baselineTasks(
  run: Run,
  reports: Map<string, SetReport>,
  options: {
    version?: string | undefined;
    force: boolean;
    from?: ToolName | undefined;
    table?: string | undefined;
  },
): Task[] {
  return run.sets.map((set): Task => {
    const report = reports.get(set.config.name)!;
    const name = set.config.name;
    return {
      title: `${name} → ${set.target.display}: baseline`,
      run: async (setTitle) => {
        const upTo = options.version === undefined ? undefined : parseVersion(options.version);
        const client = await run.connection(set, { lock: true });
        const tracked = (
          await readTracking(client, name).catch(async (error: unknown) => {
            throw await trackingDenied(client, whereOf(set), error);
          })
        ).migrations;
        const trackedVersions = new Set(tracked.map((t) => t.version));
        const history = options.from
          ? await otherToolsHistory(client, run.cwd, set, options.from, options.table)
          : undefined;
        const chosen =
          history?.files ??
          set.files.filter((f) => upTo === undefined || compareVersions(f.version, upTo) <= 0);
        const toRecord = chosen.filter((f) => !trackedVersions.has(f.version));
        if (toRecord.length === 0) {
          setTitle(
            history
              ? `${name}: nothing to baseline: ${chosen.length === 0 ? `${history.tool}'s table ${history.table} records no migration` : `every migration ${history.tool} ran is tracked`}`
              : `${name}: nothing to baseline${chosen.length === 0 ? ' (no file up to that version)' : ': every migration up to it is tracked'}`,
          );
          return;
        }
        const operations = await Promise.all(
          toRecord.map(async (file) => ({
            file: file.file,
            operations: await operationsOfFile(run.cwd, name, file),
          })),
        );
        const model = await readCatalogModel(
          client,
          schemasNamed(
            set.config.schemas,
            operations.map((o) => o.operations),
          ),
        );
        const missing = missingObjects(model, operations);
        if (missing.length > 0 && !options.force) {
          const listed = missing
            .slice(0, 10)
            .map((e) => `${describeRef(e.ref)} (${e.file})`)
            .join(', ');
          // The version that works, where the objects of the files before it all exist.
          const upTo = adoptableUpTo(
            model,
            toRecord.map((f, i) => ({ ...f, operations: operations[i]!.operations })),
          );
          // Under --from, the versions to record are the other tool's to say: --version or a bare --force would record migrations it never ran here.
          const again = history
            ? `schemata baseline ${name} --from ${history.tool}${options.table === undefined ? '' : ` --table ${history.table}`}`
            : undefined;
          // What the other tool's rows say of those files: a row its user wrote by hand (Prisma's migrate resolve --applied) explains a file that never ran here.
          const rowsSaid = history
            ? [...new Set(missing.map((e) => e.file))]
                .slice(0, 3)
                .map((file) => {
                  const version = toRecord.find((f) => f.file === file)?.version;
                  const row = version === undefined ? undefined : history.from.get(version)?.row;
                  return row === undefined ? undefined : `${file}: ${row}`;
                })
                .filter((said) => said !== undefined)
            : [];
          const names = (refs: ObjectRef[]) =>
            `${refs.slice(0, 5).map(describeRef).join(', ')}${refs.length > 5 ? ` and ${refs.length - 5} more` : ''}`;
          // The first file to record after those that can be, made in part by hand: migrate would stop on drift at
          // what exists.
          const next = upTo === undefined ? 0 : toRecord.findIndex((f) => f.version === upTo) + 1;
          const partly =
            again === undefined ? partlyMade(model, operations.slice(next, next + 1)) : undefined;
          const inPart =
            partly &&
            `${partly.file} is made here in part: the database has ${names(partly.present)} but lacks ${names(partly.missing)}, so migrate would stop on what exists. Re-create what is missing, then run: schemata baseline ${name} --version ${toRecord[next]!.version}; or make ${partly.file} re-runnable (IF NOT EXISTS, OR REPLACE, or a guarded DO block), then run: schemata migrate ${name}`;
          throw new ValidationError(
            `Set "${name}": cannot baseline: the database lacks what these migrations make: ${listed}${missing.length > 10 ? ` and ${missing.length - 10} more` : ''}${rowsSaid.length > 0 ? `. ${history!.tool}'s table says of ${rowsSaid.length === 1 ? 'it' : 'them'}: ${rowsSaid.join('; ')}` : ''}. Nothing was recorded.`,
            again
              ? `Re-create what is missing, then run: ${again}; or record what ${history!.tool} ran here without it (what is missing is then not expected): ${again} --force`
              : upTo === undefined
                ? (inPart ??
                  `Run the migrations instead (schemata migrate ${name}), or record them anyway with: schemata baseline ${name} --force`)
                : `Baseline the migrations whose objects exist, up to ${toRecord[next - 1]!.file}: schemata baseline ${name} --version ${upTo}; ${inPart ? `then ${inPart}` : `then the later ones run with: schemata migrate ${name}`}`,
          );
        }
        if (missing.length > 0)
          report.warnings.push(
            `baseline recorded ${toRecord.length} migrations although ${missing.length} of their objects are missing (--force).`,
          );
        await run.ensureTracking(set);
        const objects = await adoptObjects(client, run.cwd, set, toRecord, {
          event: 'baselined',
          files: toRecord,
          from: history?.from,
          leave: history?.own,
        });
        report.applied = toRecord.map((f) => ({
          ...entryOf(f),
          ...(history ? { from: history.tool } : {}),
        }));
        report.pending = set.files
          .filter((f) => !trackedVersions.has(f.version) && !toRecord.includes(f))
          .map((f) => entryOf(f));
        setTitle(
          history
            ? `${name}: recorded the ${toRecord.length} migration${toRecord.length === 1 ? '' : 's'} ${history.tool} ran here (${history.table}) as applied, with ${objects} object${objects === 1 ? '' : 's'} they made; ${report.pending.length} pending`
            : `${name}: recorded ${toRecord.length} migration${toRecord.length === 1 ? '' : 's'} as applied, up to ${toRecord[toRecord.length - 1]!.file}, with ${objects} object${objects === 1 ? '' : 's'} they made`,
        );
      },
    };
  });
}

/**
 * The migrations another tool ran on this database (SPEC §11): its table,
 * read and never written, judged as that tool judges it, against the
 * migrations `import` wrote (the set's import.json). A failed or dirty
 * history, a checksum that does not match its file, a row of a migration the
 * files lack, or a table that is not the tool's: refused, exit 3.
 */
async function otherToolsHistory(
  client: Client,
  cwd: string,
  set: SetRun,
  toolName: ToolName,
  tableName: string | undefined,
): Promise<{
  tool: ToolName;
  table: string;
  files: MigrationFile[];
  from: Map<string, AdoptedFrom>;
  own: string[];
}> {
  const tool = TOOLS[toolName];
  const name = set.config.name;
  const manifest = readManifest(set.config, tool.name, relative(cwd, manifestPath(set.config.dir)));
  const files = new Map(set.files.map((f) => [f.file, f]));
  const lacking = manifest.migrations.filter((m) => !files.has(m.file)).map((m) => m.file);
  if (lacking.length > 0)
    throw new ConfigError(
      `Set "${name}": import.json names ${listed(lacking)}, which ${relative(cwd, set.config.dir) || '.'} lacks. Nothing was recorded.`,
      `Restore them (git checkout -- ${relative(cwd, set.config.dir) || '.'}), then run: schemata baseline ${name} --from ${tool.name}`,
    );
  const wanted = tableName ?? tool.table.name;
  const bare = (table: string) => table.replace(/^.*\./, '');
  let found: { name: string; columns: string[]; schema: string; relname: string } | undefined;
  try {
    found = (
      await client.query<{ name: string; columns: string[]; schema: string; relname: string }>(
        `SELECT c.oid::pg_catalog.regclass::text AS name, pg_catalog.array_agg(a.attname::text) AS columns,
                n.nspname::text AS schema, c.relname::text AS relname
           FROM pg_catalog.pg_class c
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
          WHERE c.oid = pg_catalog.to_regclass($1) GROUP BY c.oid, n.nspname`,
        [wanted],
      )
    ).rows[0];
  } catch (error) {
    throw new ConfigError(
      `Set "${name}": --table "${wanted}" is not a table name: ${(error as Error).message}.`,
      `Name it as schema.table, as in: schemata baseline ${name} --from ${tool.name} --table public.${bare(tool.table.name)}`,
      { cause: error },
    );
  }
  const lackingColumns = found
    ? tool.table.columns.filter((c) => !found.columns.includes(c))
    : [...tool.table.columns];
  const other = found
    ? Object.values(TOOLS).find(
        (t) =>
          t !== tool &&
          bare(t.table.name) === bare(found.name) &&
          t.table.columns.length > tool.table.columns.length &&
          t.table.columns.every((c) => found.columns.includes(c)),
      )
    : undefined;
  if (!found || lackingColumns.length > 0 || other) {
    // Where the tool may have kept it instead: Prisma's ?schema=, drizzle's migrationsSchema, a renamed table.
    const elsewhere = (await tablesWithColumns(client, tool.table.columns)).filter(
      (t) => t !== found?.name,
    );
    const again = (table?: string) =>
      `schemata baseline ${name} --from ${tool.name}${table ? ` --table ${table}` : ''}`;
    const where = found
      ? `${found.name} is not ${tool.name}'s table: ${other ? `it has ${other.name}'s columns (${other.table.columns.join(', ')})` : `it has no column ${lackingColumns.join(', ')}`}`
      : `${tool.name}'s table ${wanted} is not in this database (${set.target.display}), or not on its search path`;
    const seen =
      elsewhere.length > 0
        ? `; ${elsewhere.length === 1 ? 'a table' : 'tables'} with ${tool.name}'s columns ${elsewhere.length === 1 ? 'is' : 'are'} here: ${listed(elsewhere, 5)}`
        : `; no table here has ${tool.name}'s columns (${tool.table.columns.join(', ')})`;
    throw new ValidationError(
      `Set "${name}": ${where}${seen}. Nothing was recorded.`,
      other
        ? `If ${other.name} kept it: schemata baseline ${name} --from ${other.name}`
        : elsewhere.length > 0
          ? `If ${tool.name} kept ${elsewhere[0]!}: ${again(elsewhere[0])}`
          : `Point ${set.variable} at the database ${tool.name} kept, then run: ${again(tableName)}`,
    );
  }
  const rows = (
    await client.query<HistoryRow>({ text: tool.rowsSql(found.name), types: TIMESTAMPS_AS_TEXT })
  ).rows;
  const verdict = tool.judge(rows, manifest.migrations, (file) =>
    readFileSync(join(set.config.dir, file)),
  );
  if (verdict.problems.length > 0)
    throw new ValidationError(
      `Set "${name}": cannot adopt ${tool.name}'s history (${found.name}): ${listed(verdict.problems)}. Nothing was recorded.`,
      `Settle it with ${tool.name} itself (or restore the files it ran), then run: schemata baseline ${name} --from ${tool.name}${tableName === undefined ? '' : ` --table ${found.name}`}`,
    );
  // The tool's own tables (its table, knex's lock table) are never an object a migration made: as catalog identities.
  const own = (
    await client.query<{ identity: string }>(
      `SELECT pg_catalog.format('%I.%I', $1::text, t) AS identity FROM pg_catalog.unnest($2::text[]) AS t`,
      [found.schema, [found.relname, ...(tool.beside?.(found.relname) ?? [])]],
    )
  ).rows.map((r) => r.identity);
  const from = new Map<string, AdoptedFrom>();
  const chosen: MigrationFile[] = [];
  for (const m of manifest.migrations) {
    const row = verdict.applied.get(m.id);
    if (row === undefined) continue;
    const file = files.get(m.file)!;
    chosen.push(file);
    from.set(file.version, { tool: tool.name, table: found.name, id: m.id, row });
  }
  return { tool: tool.name, table: found.name, files: chosen, from, own };
}

/** Ordinary tables of the database (outside the system schemas) that have every one of `columns`, qualified. */
async function tablesWithColumns(client: Client, columns: readonly string[]): Promise<string[]> {
  const rows = await client.query<{ name: string }>(
    `SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS name
       FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND NOT pg_catalog.starts_with(n.nspname, 'pg_')
      GROUP BY n.nspname, c.relname
     HAVING pg_catalog.array_agg(a.attname::text) @> $1::text[]
      ORDER BY 1`,
    [columns],
  );
  return rows.rows.map((r) => r.name);
}

function parseVersion(version: string): string {
  if (!/^\d+$/.test(version.trim())) {
    throw new ConfigError(
      `--version "${version}" is not a migration version (its leading digits, e.g. 003 or 20250612152230).`,
      'Pass the version part of a migration file name.',
    );
  }
  return BigInt(version.trim()).toString();
}

/**
 * Adopts a database that already has the objects: records the set's
 * migrations up to `version` (default: all) as applied without running them,
 * after checking that what they make exists (refused, exit 3, unless `force`).
 *
 * @example
 * const report = await baseline({ set: 'data', version: '3' });
 */
export async function baseline(options: BaselineOptions): Promise<Report> {
  let from: ToolName | undefined;
  try {
    // Flags are checked before anything connects.
    from = options.from === undefined ? undefined : toolNamed(options.from);
    if (from && options.version !== undefined)
      throw new ConfigError(
        `baseline --from ${from} records what ${from} ran; --version does not go with it.`,
        `Run: schemata baseline ${options.set} --from ${from}`,
      );
    if (!from && options.table !== undefined)
      throw new ConfigError(
        `--table names another tool's table, for --from.`,
        `For example: schemata baseline ${options.set} --from drizzle --table drizzle.__drizzle_migrations`,
      );
  } catch (error) {
    const report = newReport('baseline', 'single');
    recordError(report, asSchemataError(error));
    return report;
  }
  if (isFleet({ ...options, sets: [options.set] })) {
    const adopting = from ? `${from}'s table there` : 'the objects there';
    return execute('baseline', { ...options, sets: [options.set], listing: true }, () => {
      // A fleet's tenants each keep their own history (SPEC §10): one reading of the set's
      // database would credit every tenant with what one schema, or the search path, holds.
      throw new ConfigError(
        `Set "${options.set}" is a fleet of tenants: baseline adopts the history of one database and set (${adopting}), not yet each tenant's own. Nothing was recorded.`,
        from
          ? `Keep migrating the fleet with ${from} for now; a set without "tenants" can be adopted from it today.`
          : undefined,
      );
    });
  }
  return execute('baseline', { ...options, sets: [options.set] }, (run, reports) =>
    baselineTasks(run, reports, {
      version: options.version,
      force: options.force ?? false,
      from,
      table: options.table,
    }),
  );
}

export type BaselineOptions = RunOptions & {
  set: string;
  version?: string | undefined;
  force?: boolean | undefined;
  /** Adopt another tool's history (SPEC §11): record exactly what its table says it ran here. */
  from?: string | undefined;
  /** That tool's table, when not its usual one. */
  table?: string | undefined;
};
