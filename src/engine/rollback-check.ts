import { randomBytes } from 'node:crypto';
import { relative } from 'node:path';
import {
  type DefinedObject,
  DEFINED_NAMED_OBJECTS_SQL,
  DEFINED_OBJECTS_SQL,
  differences,
} from '../catalog/definitions.js';
import type { SnapshotScope } from '../catalog/listing.js';
import { readCatalogModel } from '../catalog/model.js';
import { functionNames, schemasNamed } from '../model/catalog.js';
import { functionsMade, snapshotScope } from '../model/snapshot.js';
import type { Operation } from '../sql/operations.js';
import type { Mentioned } from '../sql/footprint.js';
import {
  discoverDowns,
  discoverMigrations,
  type MigrationFile,
  readContents,
} from '../config/discover.js';
import { loadProjectConfig, type ProjectConfig, projectRoot, selectSets } from '../config/file.js';
import { ConfigError, ConnectionError } from '../errors.js';
import { type Client, clientConfig } from './connect.js';
import type { Run, RunOptions } from './context.js';
import { execute } from './execute.js';
import { ProblemsFound, type Report, type SetReport } from './report.js';
import type { Task } from './tasks.js';
import type { Problem } from '../model/plan.js';
import { loadParser } from '../sql/parse.js';
import { readMigration } from '../sql/read.js';
import type { Parser, Statement } from '../sql/statements.js';
import { maskSecrets, redactUrl } from '../targets/redact.js';
import { BEGIN_OWN } from './own-settings.js';

export interface CheckDownsOptions extends RunOptions {
  set: string;
  /** A server to make the scratch database on; default the embedded one. */
  scratchUrl?: string | undefined;
}

/**
 * `rollback <set> --check` (SPEC §12): proves every down file on a scratch
 * database, never on the set's own: the sets before it are applied, then for
 * each migration in order its up, its down, a comparison of the catalog (each
 * object and its definition) with the one before the up, and its up again.
 * A down that leaves anything different, or fails, is named (exit 3). The
 * scratch database is dropped afterwards.
 */
export async function checkDowns(options: CheckDownsOptions): Promise<Report> {
  // A fleet's downs are proved like any set's: its tenants are not expanded.
  return execute('rollback', { ...options, sets: [options.set], listing: true }, (run, reports) =>
    run.sets.map((set): Task => {
      const report = reports.get(set.config.name)!;
      report.checked = [];
      return {
        title: `${set.config.name}: prove the downs on a scratch database`,
        run: async (setTitle) => {
          const project = loadProjectConfig({ cwd: run.cwd, configPath: options.config });
          const scratch = await openScratch(run, project, options.scratchUrl);
          try {
            await proveDowns(run, project, set.config.name, scratch.client, report, setTitle);
          } finally {
            await scratch.drop();
          }
        },
      };
    }),
  );
}

interface Scratch {
  client: Client;
  /** Drops the database, and stops the embedded server where this check started it. */
  drop(): Promise<void>;
}

/** A new database on the scratch server, dropped by `drop`. */
async function openScratch(
  run: Run,
  project: ProjectConfig,
  url: string | undefined,
): Promise<Scratch> {
  const { default: pg } = await import('pg');
  const name = `schemata_check_${randomBytes(6).toString('hex')}`;
  let serverUrl: string;
  // The embedded server, stopped when the check ends (where the run's sets use it too, it was running already
  // and stays: stop does nothing then). Left running, it kept the process alive: the check never exited.
  let stopServer = (): Promise<void> => Promise.resolve();
  if (url === undefined) {
    const { startEmbedded } = await import('../targets/embedded.js');
    const server = await startEmbedded(projectRoot(project, run.cwd), []);
    serverUrl = server.urlFor('postgres');
    stopServer = () => server.stop();
  } else {
    serverUrl = url;
  }
  const shown = redactUrl(serverUrl);
  const admin = new pg.Client(clientConfig(serverUrl));
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}`);
    // Thrown away afterwards: its commits need not wait for the disk.
    await admin.query(
      `ALTER DATABASE ${admin.escapeIdentifier(name)} SET synchronous_commit = off`,
    );
  } catch (error) {
    await admin.end().catch(() => {});
    await stopServer().catch(() => {});
    throw new ConnectionError(
      `rollback --check could not make its scratch database on ${shown}: ${maskSecrets((error as Error).message)}.`,
      url === undefined
        ? 'Run it again; or give a server where this role may CREATE DATABASE: --scratch-url <url>'
        : "Give a server where this role may CREATE DATABASE (the set's own database is never used): --scratch-url <url>",
      { cause: error },
    );
  }
  const client = new pg.Client({ ...clientConfig(serverUrl), database: name });
  const drop = async () => {
    await client.end().catch(() => {});
    await admin
      .query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(name)} WITH (FORCE)`)
      .catch(() => {});
    await admin.end().catch(() => {});
    await stopServer().catch(() => {});
  };
  try {
    await client.connect();
  } catch (error) {
    await drop();
    throw new ConnectionError(
      `rollback --check could not connect to its scratch database on ${shown}: ${maskSecrets((error as Error).message)}.`,
      'Run it again; the scratch database it made was dropped.',
      { cause: error },
    );
  }
  return { client, drop };
}

const CLEAN_SCRATCH_SQL = 'RESET SESSION AUTHORIZATION; RESET ROLE; RESET ALL;';

interface Reading {
  outside: boolean;
  statements: Statement[];
  operations: Operation[];
  mentioned: Mentioned;
}

/** Whether a file must run outside a transaction, its statements and what they name; read once, though each up runs twice. */
const readings = new WeakMap<MigrationFile, Reading>();

function readingOf(parser: Parser, file: MigrationFile): Reading {
  let reading = readings.get(file);
  if (!reading) {
    const read = readMigration(parser, file.sql);
    if (!read.ok) throw new Error(`does not parse: ${read.problem.message}`);
    const { classification, statements, operations, mentioned } = read;
    reading = {
      outside:
        classification.nonTransactional.length > 0 ||
        classification.transactionControl.length > 0 ||
        file.sql.includes('-- schemata:no-transaction'),
      statements,
      operations,
      mentioned,
    };
    readings.set(file, reading);
  }
  return reading;
}

/** Runs a file as migrate would: in one transaction, or statement by statement where it must run outside one. */
async function runFile(parser: Parser, client: Client, file: MigrationFile): Promise<void> {
  const reading = readingOf(parser, file);
  const { outside, statements } = reading;
  // The next file starts clean, as under migrate (in the same round trip when it succeeds); the listing's named statement is kept.
  try {
    if (!outside)
      await client.query(`${BEGIN_OWN};\n${file.sql}\n;\nCOMMIT;\n${CLEAN_SCRATCH_SQL}`);
    else {
      for (const s of statements) await client.query(file.sql.slice(s.start, s.end));
      await client.query(CLEAN_SCRATCH_SQL);
    }
  } catch (error) {
    await client.query(`ROLLBACK; ${CLEAN_SCRATCH_SQL}`).catch(() => {});
    throw error;
  }
}

/**
 * The objects an up and its down can reach, with their definitions: those of
 * the names they mention, as migrate's snapshot scopes them, or the whole
 * catalog where the text cannot bound it (DO with dynamic SQL, CASCADE, a
 * call of a function of the user's). Named statements: planned once for the
 * scratch session, not twice per migration, by their generic plan (the
 * server's own choice planned the listing of names anew at every call: 3 ms,
 * where running the generic plan takes 0.6). The setting holds for the
 * listing alone: the files run with the session's.
 */
const listing = async (client: Client, scope: SnapshotScope) => {
  await client.query('SET plan_cache_mode = force_generic_plan');
  try {
    return (
      scope === 'all'
        ? await client.query<DefinedObject>({
            name: 'schemata_defined_objects',
            text: DEFINED_OBJECTS_SQL,
          })
        : await client.query<DefinedObject>({
            name: 'schemata_defined_named_objects',
            text: DEFINED_NAMED_OBJECTS_SQL,
            values: [scope],
          })
    ).rows;
  } finally {
    await client.query('RESET plan_cache_mode');
  }
};

/** What an up and its down can reach together. */
function bothReach(up: SnapshotScope, down: SnapshotScope): SnapshotScope {
  return up === 'all' || down === 'all' ? 'all' : [...new Set([...up, ...down])];
}

async function proveDowns(
  run: Run,
  project: ProjectConfig,
  name: string,
  client: Client,
  report: SetReport,
  setTitle: (title: string) => void,
): Promise<void> {
  const parser = await loadParser();
  const all = selectSets(project, []);
  const index = all.findIndex((s) => s.name === name);
  const path = (f: MigrationFile) => relative(run.cwd, f.path) || f.path;
  // What this set's migrations build on: the sets before it in the config, applied as they are.
  // Every file read first: one that cannot be read is a ConfigError of its own, not a failure on the scratch database.
  const earlierFiles = all.slice(0, index).map((earlier) => {
    const files = discoverMigrations(earlier);
    readContents(files);
    return { earlier, files };
  });
  for (const { earlier, files: earlierSetFiles } of earlierFiles)
    for (const file of earlierSetFiles) {
      await runFile(parser, client, file).catch((error: unknown) => {
        throw new ConfigError(
          `rollback --check: ${path(file)} (set "${earlier.name}", applied first because set "${name}" comes after it) fails on the scratch database: ${maskSecrets((error as Error).message)}.`,
          `Fix ${path(file)}, or prove the downs on a server that has what it needs: --scratch-url <url>`,
        );
      });
    }
  const set = all[index]!;
  const files = discoverMigrations(set);
  const downs = discoverDowns(set);
  const problems: Problem[] = [];
  // A call of a function of the user's can make anything: those of the catalog and those the set makes.
  const readings = [...files, ...downs.values()].map((f) => readingOf(parser, f));
  const model = await readCatalogModel(
    client,
    schemasNamed(
      set.schemas,
      readings.map((r) => r.operations),
    ),
  );
  const functions = new Set([...functionNames(model), ...functionsMade(readings)]);
  const scopeOf = (f: MigrationFile) => {
    const r = readingOf(parser, f);
    return snapshotScope(r.mentioned, r.operations, functions);
  };
  let done = 0;
  for (const file of files) {
    if (run.signal?.aborted) return;
    setTitle(`${name}: proving the downs on a scratch database: ${done}/${files.length}`);
    const down = downs.get(file.version);
    const scope = down ? bothReach(scopeOf(file), scopeOf(down)) : [];
    const before = down ? await listing(client, scope) : [];
    await runFile(parser, client, file).catch((error: unknown) => {
      throw new ConfigError(
        `rollback --check: ${path(file)} fails on the scratch database, after the migrations before it: ${maskSecrets((error as Error).message)}. The downs after it were not proved.`,
        `Fix ${path(file)}, or prove the downs on a server that has what the set needs (an extension, a role): --scratch-url <url>`,
      );
    });
    done += 1;
    if (!down) {
      report.checked!.push({ file: file.file, down: 'none' });
      continue;
    }
    const failed = await runFile(parser, client, down).then(
      () => undefined,
      (error: unknown) => maskSecrets((error as Error).message),
    );
    const found = failed ? [`fails: ${failed}`] : differences(before, await listing(client, scope));
    if (found.length > 0) {
      report.checked!.push({ file: file.file, down: 'broken' });
      problems.push({
        kind: 'not-reversed',
        message: `Set "${name}": the down of ${file.file} (${path(down)}) ${found.length === 1 ? found[0]! : `does not undo it: ${found.join('; ')}`}.`,
        hint: `Make ${path(down)} undo exactly what ${file.file} does, then prove it again: schemata rollback ${name} --check`,
      });
    } else report.checked!.push({ file: file.file, down: 'proved' });
    // Back to where the history goes on: the up again, unless its down failed (then it is still applied).
    if (!failed) {
      await runFile(parser, client, file).catch((error: unknown) => {
        // Over what a down that does not undo its up left (its table, say), the up may fail: that down is what
        // to fix, named as such (exit 3), and the later downs cannot be proved on this history.
        if (found.length > 0) {
          const broken = problems.pop()!;
          problems.push({
            ...broken,
            message: `${broken.message} Its up then failed when applied again (${maskSecrets((error as Error).message)}): the downs after it were not proved.`,
          });
          report.problems.push(...problems);
          throw ProblemsFound.of(name, problems);
        }
        throw new ConfigError(
          `rollback --check: ${path(file)} fails when applied again after its down: ${maskSecrets((error as Error).message)}. The downs after it were not proved.`,
          `Make ${path(down)} undo it fully, then prove it again: schemata rollback ${name} --check`,
        );
      });
    }
  }
  const proved = report.checked!.filter((c) => c.down === 'proved').length;
  const none = report.checked!.filter((c) => c.down === 'none').map((c) => c.file);
  if (none.length > 0)
    report.warnings.push(
      `${none.length} migration${none.length === 1 ? ' has' : 's have'} no down file and cannot be rolled back: ${none.join(', ')}.`,
    );
  report.problems.push(...problems);
  if (problems.length > 0) throw ProblemsFound.of(name, problems);
  setTitle(
    `${name}: ${proved} down${proved === 1 ? '' : 's'} proved on a scratch database (up, down, compare, up again)`,
  );
}
