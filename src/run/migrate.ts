import { relative } from 'node:path';
import { applyMigration, applyWithoutTransaction, dropInvalidIndexes } from '../apply/apply.js';
import type { MigrationFile } from '../config/discover.js';
import type { Client } from '../db/connect.js';
import { readSchemaFacts } from '../db/introspect.js';
import { existingRefs } from '../db/objects.js';
import { defaultSearchPath, lookUp } from '../db/protection.js';
import { extraObjects, missingObjects, readTracking, recordWithoutRunning, type TrackedMigration } from '../db/tracking.js';
import { MigrationFailedError, RefusedError } from '../errors.js';
import { checkDrift, strictCreates } from '../plan/drift.js';
import { checkAfterMigrate, type Plan, planMigrate, type Problem } from '../plan/plan.js';
import { planRepair } from '../plan/repair.js';
import { readMigration } from '../sql/read.js';
import { type Judgement, judgeMigration, lookupsFor } from '../plan/protect.js';
import type { Classification } from '../sql/classify.js';
import { lintFile } from '../sql/lint.js';
import type { Operation } from '../sql/operations.js';
import { loadParser } from '../sql/parse.js';
import { commentsOf, type Location, nodeKind, type Parser, type Statement } from '../sql/statements.js';
import { adoptObjects } from './adopt.js';
import type { Run, SetRun } from './context.js';
import { entryOf, ProblemsFound, type SetReport, schemasOf } from './report.js';
import type { Task } from './tasks.js';

/** A pending migration, read and judged: what apply/ needs to run it. */
export interface PreparedMigration {
  file: MigrationFile;
  path: string;
  statements: Statement[];
  classification: Classification;
  /** What its statements do to objects, in order: drift and the re-run of an index read it. */
  operations: Operation[];
  transactional: boolean;
  judgements: Judgement[];
  /** Names created by earlier migrations of the run, for the re-check right before it runs. */
  createdBefore: Set<string>;
  /** Run again by --repair. */
  rerun: boolean;
}

export interface SetPlan {
  client: Client;
  tracked: TrackedMigration[];
  plan: Plan;
  migrations: PreparedMigration[];
  defaultPath: string[];
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
}

const NO_TRANSACTION = '-- schemata:no-transaction';
const at = (path: string, loc: Location) => `${path}:${loc.line}:${loc.column}`;

/**
 * Reads tracking and the catalog for a set and plans its run: the stored
 * expected state against the catalog (a constant number of queries, whatever
 * the length of the history), then every pending file parsed, its drift
 * judged in file order and (with `judge`) its destructive steps against the
 * catalog, so that nothing runs when anything would be refused.
 */
export async function planSet(run: Run, set: SetRun, report: SetReport, options: PlanOptions): Promise<SetPlan> {
  const name = set.config.name;
  const client = await run.connection(set, { lock: options.lock });
  let tracking = await readTracking(client, name);
  if (tracking.adoptPending && options.lock) {
    // A database tracked by schemata 0.1: upgrade the tables and adopt what its migrations made.
    await run.ensureTracking(set);
    await adoptObjects(client, run.cwd, set, tracking.migrations);
    tracking = await readTracking(client, name);
  }
  if (tracking.adoptPending) {
    report.warnings.push(
      `the tracking table was written by schemata 0.1: objects are checked from the next migrate on, which upgrades it (schemata migrate ${name}).`,
    );
  }
  const tracked = tracking.migrations;
  const facts = await readSchemaFacts(client, set.config.schemas, { withData: options.withData ?? false });
  const missing = await missingObjects(client, name, tracking);
  if (options.withData) report.extra = (await extraObjects(client, set.config.schemas, tracking)).map((o) => `${o.kind} ${o.identity}`);

  const trackedVersions = new Set(tracked.map((t) => t.version));
  const pendingFiles = set.files.filter((f) => !trackedVersions.has(f.version));
  const parser = pendingFiles.length > 0 || (options.repair && tracked.length > 0) ? await loadParser() : undefined;
  const read = new Map(pendingFiles.map((f) => [f.version, readMigration(parser!, f.sql)]));
  const pendingSchemas = new Set(
    [...read.values()].flatMap((r) => (r.ok ? r.operations.flatMap((op) => (op.kind === 'create' && op.object.kind === 'schema' ? [op.object.name] : [])) : [])),
  );
  const state = { set: name, schemas: set.config.schemas, files: set.files, tracked, facts, missing, pendingSchemas };
  let plan = planMigrate(state);
  const result: SetPlan = { client, tracked, plan, migrations: [], defaultPath: [], rechecksum: [], repairNotes: [] };
  let rerun = new Set<string>();
  if (options.repair) {
    const repair = planRepair(state, plan);
    plan = result.plan = repair.plan;
    rerun = new Set(repair.rerun.map((f) => f.version));
    result.rechecksum = repair.rechecksum;
    result.repairNotes = repair.notes;
  }
  report.pending = plan.pending.map((f) => entryOf(f));
  report.schemas = schemasOf(facts);
  if (plan.pending.length > 0) {
    for (const file of plan.pending) if (!read.has(file.version)) read.set(file.version, readMigration(parser!, file.sql));
    result.migrations = prepareFiles(parser!, run.cwd, name, plan, read, rerun);
    // Re-runs too: a strict CREATE of what survived fails the re-run.
    const inRunOrder = result.migrations.map((m) => ({ path: m.path, version: m.file.version, operations: m.operations }));
    const strict = strictCreates(inRunOrder);
    if (strict.length > 0) {
      const { existing, creationSchema } = await existingRefs(client, strict);
      plan.problems.push(...checkDrift(name, inRunOrder, existing, creationSchema));
    }
    if (options.judge) await protect(client, name, result, options.force);
    for (const m of result.migrations) {
      if (m.statements.length === 0) report.warnings.push(`${m.path} holds no statement: it is recorded as applied and changes nothing.`);
      for (const o of m.classification.opaque) report.warnings.push(`${at(m.path, o.statement.at)}: ${o.reason}.`);
      for (const j of m.judgements.filter((j) => j.verdict === 'forced')) {
        report.warnings.push(`${at(m.path, j.at)}: ${j.step} runs although ${j.reason} (--force).`);
      }
    }
  }
  report.problems.push(...plan.problems);
  return result;
}

function prepareFiles(parser: Parser, cwd: string, set: string, plan: Plan, read: ReadonlyMap<string, ReturnType<typeof readMigration>>, rerun: ReadonlySet<string>): PreparedMigration[] {
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
    const { classification, operations } = parsed;
    // The scanner confirms the line is a comment; the cheap test spares it the files without one.
    const forced = file.sql.includes(NO_TRANSACTION) && commentsOf(parser, file.sql).some((c) => c.trim() === NO_TRANSACTION);
    const transactional = classification.nonTransactional.length === 0 && !forced;
    if (!transactional && classification.transactionControl.length > 0) {
      const control = classification.transactionControl[0]!;
      const why = classification.nonTransactional[0];
      plan.problems.push({
        kind: 'transaction-conflict',
        message:
          `Set "${set}": ${path} has its own ${control.text.toUpperCase()} at line ${control.at.line} but must run outside a transaction ` +
          `(${why ? `${why.reason} at line ${why.statement.at.line}` : `its ${NO_TRANSACTION} line`}): PostgreSQL refuses that inside BEGIN ... COMMIT.`,
        hint: `Remove BEGIN/COMMIT from ${path}, or move the ${why?.reason ?? 'statement'} into a migration of its own.`,
      });
      continue;
    }
    // Keep what apply/ needs of each statement, not its syntax tree: a thousand trees
    // would stay in memory for the whole run.
    for (const statement of parsed.statements) {
      const kind = nodeKind(statement.node);
      if (kind !== 'TransactionStmt') statement.node = { [kind]: {} } as Statement['node'];
    }
    migrations.push({
      file,
      path,
      statements: parsed.statements,
      classification,
      operations,
      transactional,
      judgements: [],
      createdBefore: new Set(),
      rerun: rerun.has(file.version),
    });
  }
  return migrations;
}

/** Judges every destructive step of the pending migrations, in run order; refusals become problems. */
async function protect(client: Client, set: string, setPlan: SetPlan, force: boolean): Promise<void> {
  const created = new Set<string>();
  // What a migration creates matters only to a destructive step at or after it.
  const lastDestructive = setPlan.migrations.findLastIndex((m) => m.classification.destructive.length > 0);
  for (const [index, migration] of setPlan.migrations.entries()) {
    if (index > lastDestructive) break;
    migration.createdBefore = new Set(created);
    const { destructive, creates } = migration.classification;
    if (destructive.length + creates.length === 0) continue;
    if (setPlan.defaultPath.length === 0) setPlan.defaultPath = await defaultSearchPath(client);
    migration.judgements = await judge(client, migration, created, { force, createdWins: false }, setPlan.defaultPath);
    for (const j of migration.judgements.filter((j) => j.verdict === 'refused')) setPlan.plan.problems.push(refusal(set, migration, j));
  }
}

async function judge(
  client: Client,
  migration: PreparedMigration,
  created: Set<string>,
  options: { force: boolean; createdWins: boolean },
  defaultPath: string[],
): Promise<Judgement[]> {
  const looked = lookupsFor(migration.classification, defaultPath);
  const facts = await lookUp(client, looked.lookups); // no query when there is nothing to look up
  return judgeMigration(migration.classification, looked, facts, created, options);
}

function refusal(set: string, migration: PreparedMigration, j: Judgement): Problem {
  return {
    kind: 'refused',
    message:
      `Set "${set}": ${at(migration.path, j.at)}: ${j.step} would destroy data: ${j.reason}. ` +
      `Statement: ${j.statement.replace(/\s+/g, ' ').slice(0, 160)}. Data protection refused it, so nothing of this run was applied.`,
    hint: `Move or back up the data first; if losing it is intended, run: schemata migrate ${set} --force`,
  };
}

/**
 * The task tree of `migrate`: per set, connect, validate, apply each pending
 * file, validate again. Every set is planned before the first migration of
 * the run is applied, so that a refusal or a problem in a later set leaves
 * nothing half-done.
 */
export function migrateTasks(run: Run, reports: Map<string, SetReport>, options: { force: boolean; repair: boolean }): Task[] {
  let planning: Promise<Map<string, SetPlan>> | undefined;
  const planAll = () =>
    (planning ??= (async () => {
      const plans = new Map<string, SetPlan>();
      for (const set of run.sets) {
        plans.set(set.config.name, await planSet(run, set, reports.get(set.config.name)!, { lock: true, judge: true, force: options.force, repair: options.repair }));
      }
      return plans;
    })());

  return run.sets.map((set): Task => {
    const name = set.config.name;
    const report = reports.get(name)!;
    let planned: SetPlan;
    const appliedNow: ReturnType<typeof entryOf>[] = [];

    const applyTask = (migration: PreparedMigration): Task => ({
      title: migration.file.file,
      run: async (setTitle) => {
        if (migration.classification.destructive.length > 0) await recheck(migration);
        await run.ensureTracking(set);
        const context = { client: planned.client, set: name, cwd: run.cwd };
        let ms: number;
        try {
          // A failed CREATE INDEX CONCURRENTLY leaves an INVALID index that would block its re-run.
          if (migration.rerun && !migration.transactional) {
            await dropInvalidIndexes(planned.client, migration.operations.flatMap((op) => (op.kind === 'create' ? [op.object] : [])));
          }
          const event = migration.rerun ? 'repaired' : 'applied';
          ms = migration.transactional
            ? await applyMigration(context, migration.file, migration.statements, event)
            : await applyWithoutTransaction(context, migration.file, migration.statements, event);
        } catch (error) {
          if (!migration.rerun || !(error instanceof MigrationFailedError)) throw error;
          throw new MigrationFailedError(
            `${error.message} --repair ran it again because it was tracked but incomplete, and it is not re-runnable: it fails on what its first run left behind.`,
            `Make ${migration.path} re-runnable (CREATE ... IF NOT EXISTS, ADD COLUMN IF NOT EXISTS, DROP ... IF EXISTS, or DO blocks guarded by catalog checks), then run: schemata migrate ${name} --repair`,
            { cause: error },
          );
        }
        appliedNow.push(entryOf(migration.file, ms));
        report.applied = [...appliedNow];
        report.pending = report.pending.filter((p) => p.version !== migration.file.version);
        setTitle(`${migration.file.file} (${ms}ms${migration.transactional ? '' : ', outside a transaction'})`);
      },
    });

    // Data can arrive between planning and running: ask again right before.
    const recheck = async (migration: PreparedMigration) => {
      const judgements = await judge(planned.client, migration, new Set(migration.createdBefore), { force: options.force, createdWins: true }, planned.defaultPath);
      const refused = judgements.find((j) => j.verdict === 'refused');
      if (refused) {
        const problem = refusal(name, migration, refused);
        throw new RefusedError(
          problem.message.replace('so nothing of this run was applied', 'the data arrived after planning; migrations before this one stay applied'),
          problem.hint,
        );
      }
    };

    return {
      title: `${name} → ${set.target.display}`,
      run: async () => [
        {
          title: 'connect and lock',
          run: async () => {
            await run.connection(set, { lock: true });
          },
        },
        {
          title: 'pre-flight validation',
          run: async (setTitle) => {
            const plans = await planAll();
            planned = plans.get(name)!;
            if (planned.plan.problems.length > 0) throw ProblemsFound.of(name, planned.plan.problems);
            const others = [...plans].filter(([, p]) => p.plan.problems.length > 0).map(([other]) => other);
            if (others.length > 0) {
              const problems = others.flatMap((other) => plans.get(other)!.plan.problems);
              throw new ProblemsFound(`Set "${others.join('", "')}" has problems, so nothing of this run was applied.`, problems);
            }
            const n = planned.plan.pending.length;
            setTitle(`pre-flight validation: ${n === 0 ? 'up to date' : `${n} pending`}`);
          },
        },
        {
          title: 'apply migrations',
          run: async (setTitle) => {
            report.warnings.push(...planned.repairNotes.map((note) => `repair: ${note}`));
            if (planned.rechecksum.length > 0) {
              await run.ensureTracking(set);
              await recordWithoutRunning(planned.client, name, 'repaired', planned.rechecksum);
            }
            const n = planned.migrations.length;
            if (n === 0) {
              setTitle(
                options.repair && planned.rechecksum.length === 0
                  ? 'nothing to repair: tracking and the database agree'
                  : planned.rechecksum.length > 0
                    ? `recorded the new checksum of ${planned.rechecksum.map((f) => f.file).join(', ')}`
                    : 'nothing to apply: up to date',
              );
              return;
            }
            const reruns = planned.migrations.filter((m) => m.rerun).length;
            setTitle(`apply ${n} migration${n === 1 ? '' : 's'}${reruns > 0 ? ` (${reruns} again, by --repair)` : ''}`);
            return planned.migrations.map(applyTask);
          },
        },
        {
          title: 'post-migration validation',
          run: async (setTitle) => {
            // Nothing ran and nothing was recorded: the pre-flight validation just said it all.
            if (planned.migrations.length === 0 && planned.rechecksum.length === 0) {
              setTitle('post-migration validation: nothing ran');
              return;
            }
            const facts = await readSchemaFacts(planned.client, set.config.schemas, { withData: false });
            const tracking = await readTracking(planned.client, name);
            report.schemas = schemasOf(facts);
            const problems = checkAfterMigrate(name, facts, await missingObjects(planned.client, name, tracking));
            report.problems.push(...problems);
            if (problems.length > 0) throw ProblemsFound.of(name, problems);
          },
        },
      ],
    };
  });
}

/**
 * `migrate --dry-run`: the plan of each set, judged as migrate would judge
 * it, without the lock and without writing anything, not even the tracking
 * table.
 */
export function dryRunTasks(run: Run, reports: Map<string, SetReport>, options: { force: boolean; repair: boolean }): Task[] {
  return run.sets.map((set): Task => {
    const report = reports.get(set.config.name)!;
    return {
      title: `${set.config.name} → ${set.target.display} (dry run)`,
      run: async (setTitle) => {
        const planned = await planSet(run, set, report, { lock: false, judge: true, force: options.force, repair: options.repair });
        report.plan = planned.migrations.map((m) => ({
          version: m.file.version,
          file: m.file.file,
          transactional: m.transactional,
          steps: m.judgements.map((j) => ({ at: at(m.path, j.at), step: j.step, target: j.target, verdict: j.verdict, reason: j.reason })),
          warnings: m.classification.opaque.map((o) => `${at(m.path, o.statement.at)}: ${o.reason}`),
        }));
        if (report.plan.length === 0) setTitle(`${set.config.name} → ${set.target.display} (dry run): nothing to apply`);
        return report.plan.map(
          (m): Task => ({
            title: `would ${planned.migrations.find((p) => p.file.file === m.file)?.rerun ? 'run again' : 'apply'} ${m.file}${m.transactional ? '' : ' (outside a transaction)'}${m.steps.map((s) => `; ${s.step}: ${s.verdict} (${s.reason})`).join('')}`,
            run: async () => {},
          }),
        );
      },
    };
  });
}
