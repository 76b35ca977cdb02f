import { relative } from 'node:path';
import type { MigrationFile } from '../config/discover.js';
import { openDatabase, type Client } from './connect.js';
import type { SnapshotScope } from '../catalog/listing.js';
import { lazyCatalogModel } from '../catalog/model.js';
import { probe } from '../catalog/rows.js';
import {
  type CatalogModel,
  existenceOf,
  functionNames,
  partitionAncestors,
  refExists,
  schemasNamed,
} from '../model/catalog.js';
import {
  type ExpectedObject,
  readRecordedRows,
  readTracking,
  type TrackedMigration,
  type Tracking,
} from './tracking.js';
import { checkDrift, strictCreates } from '../model/drift.js';
import { type Plan, planMigrate, type Problem } from '../model/plan.js';
import {
  type AddedConstraint,
  comesAlong,
  dropsAbsent,
  dropsMissing,
  strictDrops,
  editNeverRan,
  identityParts,
  planRepair,
  type Replay,
  replayOf,
  scopeRerun,
  withSettings,
} from '../model/repair.js';
import { adoptableUpTo, finalObjects } from '../model/baseline.js';
import { compareVersions, readContents } from '../config/discover.js';
import { adoptObjects, operationsOfFile } from './adopt.js';
import { functionsMade, snapshotScope } from '../model/snapshot.js';
import { planSteps, singleTransactionOf, type Step } from '../model/steps.js';
import { ownOpening } from './apply.js';
import { type ReadMigration, readMigration, readMigrationShowing } from '../sql/read.js';
import {
  findHazards,
  type GuardedMigration,
  guardScope,
  type Judgement,
  type UpdatesRead,
  judgeHazards,
} from '../model/protect.js';
import {
  type Classification,
  insideOwnBlocks,
  runsInTransaction,
  twoPhaseCommitOf,
} from '../sql/classify.js';
import type { Mentioned } from '../sql/footprint.js';
import { lintFile } from '../sql/lint.js';
import { TWO_PHASE_COMMIT_FIX, twoPhaseCommitMessage } from '../sql/rules/two-phase-commit.js';
import { runStart } from './measure.js';
import { insertTargetOf, type ObjectRef, type Operation } from '../sql/operations.js';
import { loadDeparser, loadParser } from '../sql/parse.js';
import { retargetPart } from '../sql/retarget.js';
import { addConstraintsFrom, replaceStatement } from '../sql/add-constraint.js';
import { quoteIdent } from '../sql/quote.js';
import {
  type Location,
  markerComments,
  nodeKind,
  type Parser,
  type Statement,
} from '../sql/statements.js';
import { type Run, type SetRun, whereOf } from './context.js';
import { trackingDenied } from './privileges.js';
import { entryOf, type SetReport, schemasOf } from './report.js';

/** A pending migration, read and judged: what engine/apply.ts needs to run it. */
export interface PreparedMigration {
  file: MigrationFile;
  path: string;
  statements: Statement[];
  classification: Classification;
  /** What its statements do, in order: drift, data protection and repair read it. */
  operations: Operation[];
  transactional: boolean;
  /** A leading BEGIN with an isolation level, or SET TRANSACTION (engine/apply.ts ownOpening). */
  ownIsolation: boolean;
  /** A `-- schemata:force` line: data protection allows this file's own destructive steps. */
  forced: boolean;
  /** What its server-side data check covers (model/protect.ts guardScope). */
  guard: 'all' | number[];
  /** The tables whose UPDATEs the forecast read, and what the measurement leaves to it (model/protect.ts UpdatesRead). */
  updatesRead: UpdatesRead;
  /** The names its statements mention (sql/footprint.ts), and what its catalog snapshot covers (model/snapshot.ts). */
  mentioned: Mentioned;
  snapshot: SnapshotScope;
  judgements: Judgement[];
  /** Statements PostgreSQL refuses in a transaction block. */
  outside: Location[];
  /** Run again by --repair. */
  rerun: boolean;
  /** Its latest tracking event now (null: none). */
  expectedEvent: number | null;
  /** With --repair on a file that changes rows: the statements (by position) that re-create what is missing, the only ones run. */
  only?: Location[] | undefined;
}

export interface SetPlan {
  client: Client;
  tracked: TrackedMigration[];
  plan: Plan;
  migrations: PreparedMigration[];
  /** What engine/apply.ts runs, in order; --dry-run prints it. */
  steps: Step[];
  /** With --repair: changed files whose new checksum is recorded. */
  rechecksum: MigrationFile[];
  repairNotes: string[];
}

export interface PlanOptions {
  lock: boolean;
  /** Judge the pending files' destructive steps against the catalog (migrate, validate, dry-run). */
  judge: boolean;
  force: boolean;
  repair?: boolean;
  /** status: ask every table of the expected schemas whether it holds rows, and list the objects no migration made. */
  withData?: boolean;
  /** migrate: ask whether each expected schema holds data (hasData), without listing extra objects. */
  askData?: boolean;
  /** Where to say how far the reading of a long file got. */
  progress?: ((text: string) => void) | undefined;
  /** migrate: the run's migrations in one transaction (true), each in its own (false), or as model/steps.ts singleTransactionOf decides (undefined). */
  singleTransaction?: boolean | undefined;
  /** The set's tracking, read already (readSetTracking) under the same lock, or why it could not be: not read again. */
  tracking?: Promise<Tracking> | undefined;
}

/** How many times a plan is read while other runs keep writing the set's tracking. */
const PLAN_READS = 3;

/**
 * Reads a set's plan (`read`, given which reading this is), and reads it
 * again where the set's tracking moved meanwhile (run.trackingMark): another
 * run wrote it while this one read the tracking, then the catalog, and the
 * two disagreed (a migration's table there, its record not). Up to
 * PLAN_READS readings; the report is as it was before each. Not where this
 * run holds the database's lock, under which nothing else writes the
 * tracking; `unlocked`: a command that takes no lock (status, validate, a
 * dry run).
 */
export async function readSteadily<T>(
  run: Run,
  set: SetRun,
  report: SetReport,
  read: (reads: number) => Promise<T>,
  unlocked = false,
): Promise<T> {
  const before = structuredClone(report);
  // The mark is read on the set's connection: made here where no lock made it first.
  if (unlocked) await run.connection(set, { listing: true });
  for (let reads = 1; ; reads++) {
    const mark = await run.trackingMark(set, { unlocked });
    const result = await read(reads);
    if (
      mark === undefined ||
      reads >= PLAN_READS ||
      (await run.trackingMark(set, { unlocked })) === mark
    )
      return result;
    Object.assign(report, structuredClone(before));
  }
}

/** A set's tracking, read on its connection; a role that may not read it gets the grant to ask for. */
export async function readSetTracking(run: Run, set: SetRun, lock: boolean): Promise<Tracking> {
  const client = await run.connection(set, { lock });
  return readTracking(client, set.config.name).catch(async (error: unknown) => {
    throw await trackingDenied(client, whereOf(set), error);
  });
}

/** The set's files that tracking does not record. */
function pendingFilesOf(set: SetRun, tracked: readonly TrackedMigration[]): MigrationFile[] {
  const versions = new Set(tracked.map((t) => t.version));
  return set.files.filter((f) => !versions.has(f.version));
}

/** Whether planning a set with this tracking reads a file: a pending one, or with --repair an applied one. */
export function readsFiles(set: SetRun, tracking: Tracking, repair: boolean): boolean {
  return (
    pendingFilesOf(set, tracking.migrations).length > 0 ||
    (repair && tracking.migrations.length > 0)
  );
}

const FORCE = '-- schemata:force';
const at = (path: string, loc: Location) => `${path}:${loc.line}:${loc.column}`;

/**
 * Reads tracking and the catalog for a set and plans its run: the stored
 * expected state against the catalog (a constant number of queries, whatever
 * the length of the history), then every pending file parsed, its drift
 * judged in file order and (with `judge`) its destructive steps against the
 * catalog, so that nothing runs when anything would be refused.
 */
export async function planSet(
  run: Run,
  set: SetRun,
  report: SetReport,
  options: PlanOptions,
): Promise<SetPlan> {
  const name = set.config.name;
  const client = await run.connection(set, { lock: options.lock });
  const extra = options.withData ?? false;
  // The catalog's listing for the missing-object check, the longest reading of a no-op run, goes out
  // first, on a session beside this one (engine/context.ts), while this one reads tracking and the facts.
  let missingReading = run.missingObjects(set, { extra });
  // Not awaited where tracking cannot be read, nor where this set's file cannot be: those errors are the plan's.
  missingReading.catch(() => undefined);
  let tracking = await (options.tracking ?? readSetTracking(run, set, options.lock));
  const adopting = tracking.adoptPending && options.lock;
  if (adopting) {
    // A database tracked by schemata 0.1: upgrade the tables and adopt what its migrations made.
    await run.ensureTracking(set);
    await adoptObjects(client, run.cwd, set, tracking.migrations);
    tracking = await readTracking(client, name);
    // What adoption just wrote is read afresh.
    await missingReading.catch(() => undefined);
    missingReading = run.missingObjects(set, { fresh: true, extra });
    missingReading.catch(() => undefined);
  }
  if (tracking.adoptPending) {
    report.warnings.push(
      `the tracking table was written by schemata 0.1: objects are checked from the next migrate on, which upgrades it (schemata migrate ${name}).`,
    );
  }
  const tracked = tracking.migrations;
  const trackedVersions = new Set(tracked.map((t) => t.version));
  const pendingFiles = pendingFilesOf(set, tracked);
  // The parser (WebAssembly: some 120 ms of the client's time to load) loads while the server
  // reads the catalog below; the longest of those readings goes first, so that it has the most to hide.
  const parsing = readsFiles(set, tracking, options.repair ?? false) ? loadParser() : undefined;
  // Its failure is thrown where it is awaited, not as an unhandled rejection while the catalog is read.
  parsing?.catch(() => undefined);
  const factsReading = run.schemaFacts(set, {
    withData: options.withData ?? false,
    askData: options.askData ?? false,
  });
  factsReading.catch(() => undefined);
  // The run's files are read and hashed while the server answers: once the questions have gone out,
  // when the promises above have run their course. Another set's unreadable file is that set's
  // planning's to report, on its own task.
  await new Promise((resolve) => setImmediate(resolve));
  readContents(set.files);
  for (const other of run.sets)
    try {
      readContents(other.files);
    } catch {
      continue;
    }
  const facts = await factsReading;
  const { missing, extra: extraFound } = await missingReading;
  if (extraFound) report.extra = extraFound.map((o) => `${o.kind} ${o.identity}`);
  const parser = await parsing;
  const read = new Map<string, ReadMigration>();
  for (const f of pendingFiles)
    read.set(f.version, await readPending(parser!, run.cwd, f, options.progress));
  const pendingSchemas = new Set(
    [...read.values()].flatMap((r) =>
      r.ok
        ? r.operations.flatMap((op) =>
            op.kind === 'create' && op.object.kind === 'schema' ? [op.object.name] : [],
          )
        : [],
    ),
  );
  // The operations whose names the catalog model covers: the pending files', and with --repair the applied ones'.
  let operationsAsked = (): Promise<Array<readonly Operation[]>> =>
    Promise.resolve([...read.values()].flatMap((r) => (r.ok ? [r.operations] : [])));
  // A tenant's names resolve with its schema's path, whatever the session's (SPEC §10).
  const catalog = lazyCatalogModel(
    client,
    async () => schemasNamed(set.config.schemas, await operationsAsked()),
    set.target.searchPath,
  );
  const state = {
    set: name,
    schemas: set.config.schemas,
    files: set.files,
    tracked,
    facts,
    missing,
    pendingSchemas,
  };
  let plan = planMigrate(state);
  // "Adopt it with baseline" records every file: where the newest files made nothing here yet, only those before them.
  const untracked = plan.problems.find((p) => p.kind === 'untracked');
  const readAll = set.files.map((f) => read.get(f.version));
  if (untracked && readAll.every((r) => r?.ok)) {
    const upTo = adoptableUpTo(
      await catalog(),
      set.files.map((f, i) => ({
        version: f.version,
        file: f.file,
        operations: (readAll[i] as Extract<ReadMigration, { ok: true }>).operations,
      })),
    );
    const last = set.files.at(-1);
    if (upTo !== undefined && last && upTo !== last.version) {
      const through = set.files.find((f) => f.version === upTo)!;
      untracked.hint = `The database holds what the migrations up to ${through.file} make, not what the later ones make: adopt those with: schemata baseline ${name} --version ${upTo}; then the later ones run with: schemata migrate ${name}`;
    }
  }
  const result: SetPlan = {
    client,
    tracked,
    plan,
    migrations: [],
    steps: [],
    rechecksum: [],
    repairNotes: [],
  };
  let rerun = new Set<string>();
  let replay: Replay = {
    madeAs: new Map(),
    statements: new Map(),
    along: new Set(),
    added: new Map(),
    retargeted: new Map(),
  };
  if (options.repair) {
    // The applied migrations from `version` on, each read once for the replay and the changed checksums.
    const applied = new Set(tracked.filter((t) => t.state === 'applied').map((t) => t.version));
    const readOnce = new Map<string, Promise<Operation[]>>();
    const appliedFrom = (version: string) =>
      Promise.all(
        set.files
          .filter((f) => applied.has(f.version) && compareVersions(f.version, version) >= 0)
          .map(async (f) => {
            if (!readOnce.has(f.version))
              readOnce.set(f.version, operationsOfFile(run.cwd, name, f));
            return { version: f.version, file: f.file, operations: await readOnce.get(f.version)! };
          }),
      );
    // What repair asks the catalog about comes from every tracked file, applied or failed.
    const pendingOperations = operationsAsked;
    operationsAsked = async () => [
      ...(await pendingOperations()),
      ...(await Promise.all(
        set.files
          .filter((f) => trackedVersions.has(f.version))
          .map((f) => {
            if (!readOnce.has(f.version))
              readOnce.set(f.version, operationsOfFile(run.cwd, name, f));
            // One that does not parse names what no text tells: the whole catalog is read.
            return readOnce
              .get(f.version)!
              .catch((): Operation[] => [
                { kind: 'opaque', why: 'does not parse', at: { line: 1, column: 1 } },
              ]);
          }),
      )),
    ];
    // What is missing comes back through its history: the applied migrations from the first one credited with it on.
    if (missing.length > 0)
      replay = replayOf(
        await appliedFrom(missing.map((e) => e.version).sort(compareVersions)[0]!),
        missing,
      );
    // What comes back with a partition made again runs nothing of its own migration.
    const repair = planRepair(
      {
        ...state,
        missing: missing.filter((e) => !replay.along.has(e)),
        replayed: [...replay.statements.keys()],
      },
      plan,
    );
    plan = result.plan = repair.plan;
    rerun = new Set(repair.rerun.map((f) => f.version));
    result.repairNotes = repair.notes;
    // A changed file is recorded with its new checksum only where what it makes now is there.
    const neverRan = await editsNeverRun(catalog, repair.rechecksum, appliedFrom);
    for (const { file, unmade } of neverRan)
      plan.problems.push(editNeverRan(name, relative(run.cwd, file.path) || file.path, unmade));
    result.rechecksum = repair.rechecksum.filter((f) => !neverRan.some((n) => n.file === f));
  }
  report.pending = plan.pending.map((f) => entryOf(f));
  report.schemas = schemasOf(facts);
  if (plan.pending.length > 0) {
    for (const file of plan.pending)
      if (!read.has(file.version))
        read.set(file.version, await readPending(parser!, run.cwd, file, options.progress));
    result.migrations = prepareFiles(
      parser!,
      run.cwd,
      name,
      plan,
      read,
      rerun,
      new Map([...tracking.rolledBack, ...tracked.map((t) => [t.version, t.eventId] as const)]),
    );
    // A file that holds no statement (as create writes it) is not applied: recorded, filling it in later would be a checksum error.
    for (const m of result.migrations.filter((m) => m.statements.length === 0)) {
      report.warnings.push(
        `${m.path} holds no statement yet: it is not applied and stays pending until it does.`,
      );
    }
    result.migrations = result.migrations.filter((m) => m.statements.length > 0);
    const reruns = result.migrations.filter((m) => m.rerun);
    const recorded = await readRecordedRows(
      client,
      name,
      reruns.map((m) => m.file.version),
    );
    // A re-run that creates, without IF NOT EXISTS, what still exists would fail whole (Prisma's and drizzle's files).
    const rerunsAsPending = reruns.map((m) => ({
      path: m.path,
      version: m.file.version,
      operations: m.operations,
    }));
    const rerunStrict = strictCreates(rerunsAsPending);
    // Or one that drops, without IF EXISTS, what is not there: missing (DROP INDEX i; CREATE INDEX i ..., i
    // dropped by hand), or dropped by the file itself when it ran (DROP INDEX old; CREATE INDEX new ...).
    const rerunDrops = rerunsAsPending.flatMap((r) => strictDrops(r.operations));
    const survivors =
      rerunStrict.length > 0 || rerunDrops.length > 0
        ? existenceOf(await catalog(), [...rerunStrict, ...rerunDrops])
        : undefined;
    const notRerunnable = (version: string) => {
      const operations = rerunsAsPending.find((r) => r.version === version)?.operations ?? [];
      if (
        survivors !== undefined &&
        checkDrift(
          name,
          rerunsAsPending.filter((r) => r.version === version),
          survivors.existing,
          survivors.creationSchema,
          survivors.indexTables,
        ).length > 0
      )
        return 'creates what still exists';
      if (dropsMissing(operations, missing)) return 'drops, without IF EXISTS, what is missing';
      if (survivors !== undefined && dropsAbsent(operations, survivors.existing))
        return 'drops, without IF EXISTS, what is not there';
      return undefined;
    };
    // A partition's index, row trigger or foreign key comes back with its partitioned table's.
    const partTables = missing.flatMap((e) =>
      (e.kind === 'index' || e.kind === 'trigger' || e.kind === 'constraint') && e.parent !== null
        ? [e.parent]
        : [],
    );
    const along = new Set([
      ...replay.along,
      ...(reruns.length > 0 && partTables.length > 1
        ? comesAlong(missing, ancestorsOf(await catalog(), partTables))
        : []),
    ]);
    // Re-runs repair refused: their refusal says what to do; what running them would also hit is not said again.
    const stopped = new Set<(typeof reruns)[number]>();
    for (const m of reruns) {
      const replayed = replay.statements.get(m.file.version) ?? [];
      const lines = (at: readonly Location[]) =>
        `line${at.length === 1 ? '' : 's'} ${at.map((l) => l.line).join(', ')}`;
      // Run again only for what it renamed, moved or dropped of what is made again: those statements alone.
      const replayOnly =
        !missing.some((e) => e.version === m.file.version) &&
        tracked.find((t) => t.version === m.file.version)?.state === 'applied';
      if (replayOnly) {
        m.only = withSettings(m.operations, replayed);
        result.repairNotes.push(
          `${m.file.file} renamed, moved or altered what is made again: ${lines(replayed)} run again.`,
        );
        continue;
      }
      const scope = scopeRerun({
        set: name,
        path: m.path,
        operations: m.operations,
        statements: m.statements,
        inserts: insertsOf(parser!, m.statements),
        missing: missing.filter((e) => e.version === m.file.version),
        dirty: tracked.find((t) => t.version === m.file.version)?.state !== 'applied',
        recorded: recorded.get(m.file.version),
        setMissing: missing,
        notRerunnable: notRerunnable(m.file.version),
        madeAs: replay.madeAs,
        along,
        added: replay.added,
        force: options.force,
      });
      if (scope.kind === 'stop') {
        plan.problems.push(scope.problem);
        stopped.add(m);
      }
      // A constraint of a table still there: the statement that defined it runs as ALTER TABLE ... ADD CONSTRAINT.
      const added =
        scope.kind === 'part' ? await addConstraints(parser!, name, m, missing, replay) : [];
      // An index, trigger or policy of a table renamed or moved since: its statement names the table as it is now.
      if (scope.kind === 'part') added.push(...(await retargetParts(parser!, m, missing, replay)));
      for (const a of added)
        if ('kind' in a) plan.problems.push(a);
        else
          result.repairNotes.push(
            `${m.file.file}:${a.at.line} runs as ${a.text.replace(/\s+/g, ' ')}.`,
          );
      if (scope.kind === 'part') {
        const only = [
          ...scope.statements,
          ...replayed.filter(
            (at) => !scope.statements.some((s) => s.line === at.line && s.column === at.column),
          ),
        ];
        m.only = withSettings(m.operations, only);
        // All it made that is missing comes back with another migration's statement (a partition's parts).
        if (m.only.length === 0) {
          result.repairNotes.push(
            `${m.file.file} runs nothing again: what it made comes back with the objects it belongs to.`,
          );
          continue;
        }
        // Where running it whole would also go wrong, the note says why.
        const why =
          scope.why === 'rows'
            ? 'changes rows'
            : scope.why === 'not re-runnable'
              ? (notRerunnable(m.file.version) ?? 'cannot run whole')
              : undefined;
        result.repairNotes.push(
          why === undefined
            ? `${m.file.file} runs again only what re-creates the missing objects: ${lines(m.only)}.`
            : `${m.file.file} ${why}, so only what re-creates the missing objects runs again: ${lines(m.only)}.`,
        );
      }
    }
    const idle = new Set(result.migrations.filter((m) => m.only?.length === 0));
    if (idle.size > 0) {
      result.migrations = result.migrations.filter((m) => !idle.has(m));
      plan.pending = plan.pending.filter(
        (f) => ![...idle].some((m) => m.file.version === f.version),
      );
      report.pending = plan.pending.map((f) => entryOf(f));
    }
    // Re-runs too: a strict CREATE of what survived fails the re-run (of a part, only what runs counts).
    const inRunOrder = result.migrations
      .filter((m) => !stopped.has(m))
      .map((m) => ({
        path: m.path,
        version: m.file.version,
        operations: runningOperations(m),
        rerun: m.rerun,
      }));
    const strict = strictCreates(inRunOrder);
    // An untracked set's every CREATE of what is there is that one problem, said once (adopt it with baseline), not once per object.
    if (strict.length > 0 && !plan.problems.some((p) => p.kind === 'untracked')) {
      // The whole model where the forecast reads it next; else the objects of these names alone.
      const { existing, creationSchema, indexTables } = await catalog.existence(
        strict,
        readsModelAfterDrift(result.migrations, options.judge),
      );
      plan.problems.push(...checkDrift(name, inRunOrder, existing, creationSchema, indexTables));
    }
    const judged = options.judge
      ? await protect(client, catalog, name, result, options.force, undefined, (database) =>
          openDatabase(set.target, database),
        )
      : false;
    // Whether a call is a built-in one is the catalog's to say: asked only where a file calls a function.
    const functions =
      judged || callsAny(result.migrations)
        ? new Set([...functionNames(await catalog()), ...functionsMade(result.migrations)])
        : undefined;
    for (const m of result.migrations)
      m.snapshot = snapshotScope(m.mentioned, m.operations, functions);
    for (const m of result.migrations) {
      for (const j of m.judgements.filter((j) => j.verdict === 'forced')) {
        report.warnings.push(
          j.elsewhere
            ? `${at(m.path, j.at)}: ${j.step}${j.via ? ` (in ${j.via})` : ''}, and ${j.reason}; allowed (${options.force ? '--force' : FORCE}).`
            : `${at(m.path, j.at)}: ${j.step} runs although ${j.reason} (${options.force ? '--force' : FORCE}).`,
        );
      }
      if (m.transactional && (options.force || m.forced))
        report.warnings.push(
          `${m.path}: a loss the measurement sees in its transaction is allowed and recorded, not refused (${options.force ? '--force' : FORCE}).`,
        );
    }
  }
  report.problems.push(...plan.problems);
  // What the run itself makes and fills is no loss: the measurement looks at the tables there before it.
  const start =
    options.lock && result.migrations.length > 0
      ? await runStart(client)
      : { tablesUpTo: 0, nothingHeld: false };
  result.steps = planSteps(result.migrations, result.rechecksum, {
    force: options.force,
    ...start,
    singleTransaction: singleTransactionOf(
      options.singleTransaction,
      name.includes('/') || set.config.tenants !== undefined,
    ),
  });
  // Outside a transaction the server-side check cannot roll back what commits on its own: what the text cannot tell is a warning.
  for (const step of result.steps)
    if (step.kind === 'apply') report.warnings.push(...step.warnings);
  return result;
}

/**
 * What the changed files make as they are now (replayed with the applied
 * migrations after them, whose drops and renames count) that the database
 * does not have.
 */
async function editsNeverRun(
  catalog: () => Promise<CatalogModel>,
  changed: readonly MigrationFile[],
  appliedFrom: (
    version: string,
  ) => Promise<ReadonlyArray<{ file: string; operations: readonly Operation[] }>>,
): Promise<Array<{ file: MigrationFile; unmade: ObjectRef[] }>> {
  if (changed.length === 0) return [];
  const model = await catalog();
  const { creationSchema } = existenceOf(model, []);
  const found: Array<{ file: MigrationFile; unmade: ObjectRef[] }> = [];
  for (const file of changed) {
    const migrations = await appliedFrom(file.version);
    const made = finalObjects(migrations, creationSchema).filter((e) => e.file === file.file);
    const unmade = made.filter((e) => !refExists(model, e.ref)).map((e) => e.ref);
    if (unmade.length > 0) found.push({ file, unmade });
  }
  return found;
}

/**
 * Replaces, in a migration that --repair runs a part of, each statement
 * (CREATE TABLE, or ALTER TABLE: ADD CONSTRAINT, ADD COLUMN, SET NOT NULL)
 * that defines a missing constraint of a table still there by the ALTER
 * TABLE ... ADD CONSTRAINT that adds it (sql/add-constraint.ts, through
 * the deparser): the plan, --dry-run, drift and data protection then read
 * the statement that runs. A definition it cannot find is a problem.
 */
async function addConstraints(
  parser: Parser,
  set: string,
  m: PreparedMigration,
  missing: readonly ExpectedObject[],
  replay: Replay,
): Promise<Array<Problem | { at: Location; text: string }>> {
  const done: Array<{ at: Location; text: string }> = [];
  const byPlace = new Map<string, Array<[ExpectedObject, AddedConstraint]>>();
  for (const e of missing) {
    const added = e.version === m.file.version ? replay.added.get(e) : undefined;
    if (!added) continue;
    const key = `${added.at.line}:${added.at.column}`;
    byPlace.set(key, [...(byPlace.get(key) ?? []), [e, added]]);
  }
  for (const group of byPlace.values()) {
    const [first, { at }] = group[0]!;
    const create = m.statements.find((s) => s.at.line === at.line && s.at.column === at.column);
    const [schema, table] = identityParts(first.parent ?? '');
    const node = create && parser.parseSync(create.text).stmts?.[0]?.stmt;
    const alter =
      node &&
      addConstraintsFrom(
        node,
        { schema: schema!, name: table! },
        group.map(([e, added]) => ({ as: added.as, name: e.name, columns: added.columns })),
      );
    if (!alter) {
      const where = `${m.path}:${at.line}`;
      return [
        {
          kind: 'repair-refused',
          message: `Set "${set}": --repair cannot re-create constraint ${first.name} on ${first.parent ?? ''}: ${where} defines it on a table that still exists, and repair cannot read its definition there. Nothing was run.`,
          hint: `Re-create it by hand as ${where} defines it (ALTER TABLE ${first.parent ?? ''} ADD CONSTRAINT ${quoteIdent(first.name)} ...), then check with: schemata validate ${set}`,
        },
      ];
    }
    const text = (await loadDeparser())(alter);
    done.push({ at, text });
    const replaced = replaceStatement(m.file.sql, m.statements, at, text, alter);
    m.file = { ...m.file, sql: replaced.sql };
    m.statements = replaced.statements;
    m.operations = [
      ...m.operations.filter((op) => op.at.line !== at.line || op.at.column !== at.column),
      ...group.map(([e]): Operation => ({
        kind: 'create',
        object: { kind: 'constraint', schema: schema!, table: table!, name: e.name },
        ifNotExists: false,
        at,
      })),
    ];
  }
  return done;
}

/**
 * Replaces, in a migration that --repair runs a part of, each statement
 * that made a missing index, trigger or policy of a table renamed, moved or
 * with columns renamed since by the same statement naming the table and
 * columns as they are now (sql/retarget.ts, through the deparser).
 */
async function retargetParts(
  parser: Parser,
  m: PreparedMigration,
  missing: readonly ExpectedObject[],
  replay: Replay,
): Promise<Array<{ at: Location; text: string }>> {
  const done: Array<{ at: Location; text: string }> = [];
  for (const e of missing) {
    const moved = e.version === m.file.version ? replay.retargeted.get(e) : undefined;
    if (!moved) continue;
    const { at } = moved;
    const made = m.statements.find((s) => s.at.line === at.line && s.at.column === at.column);
    const node = made && parser.parseSync(made.text).stmts?.[0]?.stmt;
    const now = node && retargetPart(node, moved.table, e.name, moved.columns);
    // Another statement (none makes these today) runs as written, and says so if it fails.
    if (!now) continue;
    const text = (await loadDeparser())(now);
    done.push({ at, text });
    const replaced = replaceStatement(m.file.sql, m.statements, at, text, now);
    m.file = { ...m.file, sql: replaced.sql };
    m.statements = replaced.statements;
  }
  return done;
}

/** The top-level INSERTs of a file and the table each adds rows to; the reading keeps no tree, so each is parsed again. */
function insertsOf(
  parser: Parser,
  statements: readonly Statement[],
): Array<{ at: Location; into: ObjectRef }> {
  return statements.flatMap((s) => {
    if (nodeKind(s.node) !== 'InsertStmt') return [];
    const node = parser.parseSync(s.text).stmts?.[0]?.stmt;
    const into = node ? insertTargetOf(node) : undefined;
    return into ? [{ at: s.at, into }] : [];
  });
}

/** Files this long are read with their progress shown: a seed of 50,000 INSERTs takes seconds to parse. */
const SHOWN_CHARS = 1024 * 1024;

export async function readPending(
  parser: Parser,
  cwd: string,
  file: MigrationFile,
  progress: PlanOptions['progress'],
): Promise<ReadMigration> {
  if (!progress || file.sql.length < SHOWN_CHARS) return readMigration(parser, file.sql);
  const path = relative(cwd, file.path) || file.path;
  let shown = -1;
  return readMigrationShowing(parser, file.sql, (done) => {
    const percent = Math.floor(done * 10) * 10;
    if (percent === shown) return;
    shown = percent;
    progress(`reading ${path}: ${percent}%`);
  });
}

/** Pending files (or downs) read into what engine/apply.ts runs; what cannot run becomes a problem of `plan`. */
export function prepareFiles(
  parser: Parser,
  cwd: string,
  set: string,
  plan: Plan,
  read: ReadonlyMap<string, ReadMigration>,
  rerun: ReadonlySet<string>,
  latestEvents: ReadonlyMap<string, number | null>,
): PreparedMigration[] {
  const migrations: PreparedMigration[] = [];
  for (const file of plan.pending) {
    const path = relative(cwd, file.path) || file.path;
    const parsed = read.get(file.version)!;
    if (!parsed.ok) {
      // lint knows why some syntax errors happen (ADD CONSTRAINT IF NOT EXISTS) and how to write them instead.
      const finding = lintFile(parser, file.sql).find((f) => f.severity === 'error');
      const loc = finding?.at ?? parsed.problem.at;
      plan.problems.push({
        kind: 'syntax',
        message: `Set "${set}": ${at(path, loc)} does not parse: ${finding?.message ?? parsed.problem.message}. Nothing was applied.`,
        hint: `${finding ? `${finding.fix.split('\n')[0]} ` : ''}Fix the file (schemata lint ${set} shows each error with its fix), then run the command again.`,
      });
      continue;
    }
    const { classification, operations, mentioned } = parsed;
    const comments = markerComments(parser, file.sql);
    // A file with BEGIN ... COMMIT blocks of its own, or a COMMIT or ROLLBACK in its middle, runs outside schemata's transaction as psql would run it.
    const transactional = runsInTransaction(classification, comments);
    // As psql runs the file: a CONCURRENTLY inside one of its own BEGIN ... COMMIT blocks is refused by PostgreSQL;
    // before or after its blocks it runs (the file then runs outside schemata's transaction).
    const refusedInBlock = insideOwnBlocks(parsed.statements, classification.nonTransactional);
    if (refusedInBlock.length > 0) {
      const why = refusedInBlock[0]!;
      const control = [...classification.transactionControl]
        .reverse()
        .find((c) => c.start < why.statement.start)!;
      plan.problems.push({
        kind: 'transaction-conflict',
        message:
          `Set "${set}": ${path} has its own ${control.text.toUpperCase()} at line ${control.at.line} but must run outside a transaction ` +
          `(${why.reason} at line ${why.statement.at.line}): PostgreSQL refuses that inside BEGIN ... COMMIT.`,
        hint: `Remove BEGIN/COMMIT from ${path}, or move the ${why.reason} into a migration of its own.`,
      });
      continue;
    }
    // psql would send the rows after it; sent as SQL, it fails at run time with "No source stream defined".
    if (classification.copiesFromClient.length > 0) {
      const copy = classification.copiesFromClient[0]!;
      const finding = lintFile(parser, copy.text).find((f) => f.rule === 'copy-from-stdin');
      plan.problems.push({
        kind: 'unrunnable',
        message: `Set "${set}": ${at(path, copy.at)}: ${finding?.message ?? 'COPY ... FROM STDIN reads its rows from the client, and schemata sends none.'} Nothing was applied.`,
        hint: `${finding?.fix ?? ''} Then run the command again.`.trim(),
      });
      continue;
    }
    const [twoPhase] = classification.transactionControl.flatMap((c) => {
      const words = twoPhaseCommitOf(c);
      return words === undefined ? [] : [{ at: c.at, words }];
    });
    if (twoPhase) {
      plan.problems.push({
        kind: 'unrunnable',
        message: `Set "${set}": ${at(path, twoPhase.at)}: ${twoPhaseCommitMessage(twoPhase.words)} Nothing was applied.`,
        hint: `${TWO_PHASE_COMMIT_FIX} Then run the command again.`,
      });
      continue;
    }
    if (transactional && classification.resetsAll.length > 0) {
      const reset = classification.resetsAll[0]!;
      plan.problems.push({
        kind: 'transaction-conflict',
        message:
          `Set "${set}": ${path}:${reset.at.line}:${reset.at.column} has RESET ALL: schemata runs each migration in one transaction together with its snapshot of the catalog ` +
          'and its data check, which it keeps in settings of that transaction, and RESET ALL would reset them too. Nothing was applied.',
        hint: `Remove it from ${path} (schemata gives every migration a clean session of its own), or RESET by name what the file SET (RESET search_path).`,
      });
      continue;
    }
    migrations.push({
      file,
      path,
      statements: parsed.statements,
      classification,
      operations,
      transactional,
      ownIsolation: ownOpening(parsed.statements) !== undefined,
      forced: comments.includes(FORCE),
      guard: 'all',
      updatesRead: [],
      mentioned,
      snapshot: 'all',
      judgements: [],
      outside: classification.nonTransactional.map((n) => n.statement.at),
      rerun: rerun.has(file.version),
      expectedEvent: latestEvents.get(file.version) ?? null,
    });
  }
  return migrations;
}

/** Whether an operation can destroy data: only then is the catalog asked. Any write may fire a trigger or rule. */
const mayDestroy = (op: Operation) =>
  op.kind === 'drop' ||
  op.kind === 'alter-type' ||
  op.kind === 'drop-owned' ||
  op.kind === 'drop-database' ||
  op.kind === 'call' ||
  op.kind === 'delete-rows' ||
  op.kind === 'write-rows' ||
  (op.kind === 'opaque' && op.elsewhere === true);

type Running = ReadonlyArray<Pick<PreparedMigration, 'operations' | 'only'>>;

/** Whether a statement that runs may destroy data: only then does the forecast (protect) read the catalog. */
const mayDestroyAny = (migrations: Running) =>
  migrations.some((m) => runningOperations(m).some(mayDestroy));

/** Whether a file calls a function: whether it is a built-in one is the catalog's to say. */
const callsAny = (migrations: Running) =>
  migrations.some((m) => m.operations.some((op) => op.kind === 'call'));

/** Whether planning reads the whole model after the drift check: the forecast's, or a call's. */
const readsModelAfterDrift = (migrations: Running, judge: boolean) =>
  (judge && mayDestroyAny(migrations)) || callsAny(migrations);

/** The operations of the statements that run: every one, or those of the part of a file that --repair runs again. */
function runningOperations(
  m: Pick<PreparedMigration, 'operations' | 'only'>,
): readonly Operation[] {
  const only = m.only;
  if (only === undefined) return m.operations;
  return m.operations.filter((op) =>
    only.some((at) => at.line === op.at.line && at.column === op.at.column),
  );
}

/** Each table's partitioned ancestors (identities), for those that are partitions. */
function ancestorsOf(model: CatalogModel, tables: readonly string[]): Map<string, string[]> {
  return new Map(tables.map((t) => [t, partitionAncestors(model, t)]));
}

/**
 * Judges every destructive step of the pending migrations in run order,
 * names resolved as the server will through the catalog model; refusals
 * become problems. Whether it asked the catalog: the model and a probe when
 * any step may destroy data, nothing otherwise.
 */
export async function protect(
  client: Client,
  catalog: () => Promise<CatalogModel>,
  set: string,
  setPlan: Pick<SetPlan, 'migrations' | 'plan'>,
  force: boolean,
  again = `schemata migrate ${set}`,
  /** Another database of the server, for what DROP DATABASE would take. */
  openOther?: (database: string) => Promise<Client>,
): Promise<boolean> {
  // Of a part of a file that --repair runs again, only the statements that run are judged.
  const running = setPlan.migrations.map(runningOperations);
  if (!mayDestroyAny(setPlan.migrations)) {
    setPlan.migrations.forEach((m, index) => {
      m.guard = guardScope(running[index]!, [], []);
    });
    return false;
  }
  const model = await catalog();
  const guarded: GuardedMigration[] = setPlan.migrations.map((m, index) => ({
    path: m.path,
    operations: running[index]!,
    forced: m.forced,
    transactional: m.transactional,
    statements: m.statements,
  }));
  const { hazards, probes, updatesRead } = findHazards(model, guarded, await loadParser());
  setPlan.migrations.forEach((m, index) => {
    m.updatesRead = updatesRead[index]!;
    m.guard = guardScope(
      running[index]!,
      hazards.filter((h) => h.migration === index),
      probes,
    );
  });
  const judgements = judgeHazards(
    hazards,
    await probe(client, probes, openOther),
    guarded,
    force,
    probes,
  );
  for (const j of judgements) {
    const migration = setPlan.migrations[j.migration]!;
    migration.judgements.push(j);
    if (j.verdict === 'refused') setPlan.plan.problems.push(refusal(set, migration, j, again));
  }
  return true;
}

function refusal(set: string, migration: PreparedMigration, j: Judgement, again: string): Problem {
  const statement = `Statement: ${j.statement.replace(/\s+/g, ' ').slice(0, 160)}. Data protection refused it, so nothing of this run was applied.`;
  if (j.elsewhere)
    return {
      kind: 'refused',
      message: `Set "${set}": ${at(migration.path, j.at)}: ${j.step}${j.via ? ` (in ${j.via})` : ''}, and ${j.reason}. ${statement}`,
      hint: `Do that work apart from the migration; where what it does is safe, add the line "${FORCE}" to ${migration.path} (it then travels with the file), or run: ${again} --force`,
      holders: [],
    };
  return {
    kind: 'refused',
    message: `Set "${set}": ${at(migration.path, j.at)}: ${j.step}${j.via ? ` (in ${j.via})` : ''} would destroy data: ${j.reason}. ${statement}`,
    hint: `Move or back up the data first; if losing it is intended, add the line "${FORCE}" to ${migration.path} (it then travels with the file), or run: ${again} --force`,
    holders: j.holders,
  };
}
