import { applyStep, RUN_ROLLED_BACK } from './apply.js';
import { readSchemaFacts } from '../catalog/schema-facts.js';
import { recordWithoutRunning, type Tracking } from './tracking.js';
import { checkAfterMigrate } from '../model/plan.js';
import type { Client } from './connect.js';
import { type ApplyStep, measuredLossWarnings } from '../model/steps.js';
import { applyContextOf, type Run, type RunOptions } from './context.js';
import { execute } from './execute.js';
import { planSet, readSetTracking, readsFiles, readSteadily, type SetPlan } from './plan-set.js';
import { loadParser } from '../sql/parse.js';
import {
  entryOf,
  failOnProblems,
  type PlannedMigration,
  ProblemsFound,
  type Report,
  type SetReport,
  schemasOf,
} from './report.js';
import type { Task } from './tasks.js';
import { RunTransactions } from './run-transaction.js';
import { ConfigError } from '../errors.js';
import { recordError, newReport } from './report.js';
import { type FleetOptions, fleetFlagsAlone, isFleet, runFleet } from './fleet.js';

export interface MigrateOptions extends RunOptions, FleetOptions {
  /** Let data protection's refused steps run (SPEC §5). */
  force?: boolean;
  /** Plan only: what would run, what would be refused; writes nothing, takes no lock. */
  dryRun?: boolean;
  /** Make tracking tell the truth for the sets run: re-run migrations whose objects are missing or that did not finish; record changed checksums. */
  repair?: boolean;
  /**
   * The run's migrations on each database in one transaction, all or nothing
   * (true), or each in its own (false, the default). A migration outside a
   * transaction commits those before it. Not for a set with tenants.
   */
  singleTransaction?: boolean | undefined;
}

/** The run behind commands/migrate.ts: a fleet's tenants each, or the sets planned, then applied. */
export async function migrate(options: MigrateOptions = {}): Promise<Report> {
  if (isFleet(options) && options.singleTransaction) {
    const report = newReport('migrate', 'single');
    recordError(
      report,
      new ConfigError(
        '--single-transaction applies to sets without "tenants": each tenant of a fleet is migrated on its own, a transaction per migration, so that one tenant failing leaves the others as they are. Nothing ran.',
        `Leave the flag out: schemata migrate${options.sets && options.sets.length > 0 ? ` ${options.sets.join(' ')}` : ''}`,
      ),
    );
    return report;
  }
  if (isFleet(options))
    return runFleet('migrate', options, (one) => migrate({ ...options, ...one }));
  const misused = fleetFlagsAlone('migrate', options);
  if (misused) return misused;
  const force = options.force ?? false;
  if (options.dryRun) {
    const report = await execute('migrate', options, (run, reports) =>
      dryRunTasks(run, reports, {
        force,
        repair: options.repair ?? false,
        singleTransaction: options.singleTransaction,
      }),
    );
    failOnProblems(report);
    return report;
  }
  const fleetValidates =
    options.tenant !== undefined && 'schema' in options.tenant && options.tenant.validatedByFleet;
  return execute('migrate', options, (run, reports) =>
    migrateTasks(run, reports, {
      force,
      repair: options.repair ?? false,
      validateAfter: !fleetValidates,
      singleTransaction: options.singleTransaction,
    }),
  );
}

/**
 * Several sets: each one's tracking, read (under its lock, as planning would) before the first is
 * planned, so that the parser, wanted where any of them has a file to read, loads beside the first
 * set's readings of the catalog instead of after them. A reading that failed is kept: the set's
 * planning throws its error, on the set's own task. Not where the run lock is taken per transaction
 * (a fleet's tenant database), whose plan is read again when another run wrote meanwhile.
 */
async function trackingOfEach(run: Run, repair: boolean): Promise<Map<string, Promise<Tracking>>> {
  const readings = new Map<string, Promise<Tracking>>();
  if (run.sets.length < 2 || run.runLockPerTransaction) return readings;
  let parser = false;
  for (const set of run.sets) {
    const reading = (async () => {
      await run.connection(set, { lock: true });
      // The catalog's listing goes out first, beside the tracking read here (planning asks for it again: one per database).
      run.missingObjects(set).catch(() => undefined);
      return readSetTracking(run, set, true);
    })();
    readings.set(set.config.name, reading);
    // One set after the other, as planning takes their locks.
    const tracking = await reading.catch(() => undefined);
    parser ||= tracking !== undefined && readsFiles(set, tracking, repair);
  }
  if (parser) loadParser().catch(() => undefined);
  return readings;
}

const at = (path: string, loc: { line: number; column: number }) =>
  `${path}:${loc.line}:${loc.column}`;

/**
 * The task tree of `migrate`: per set, connect, validate, apply each pending
 * file, validate again. Every set is planned before the first migration of
 * the run is applied, so that a refusal or a problem in a later set leaves
 * nothing half-done.
 */
function migrateTasks(
  run: Run,
  reports: Map<string, SetReport>,
  options: {
    force: boolean;
    repair: boolean;
    validateAfter: boolean;
    singleTransaction: boolean | undefined;
  },
): Task[] {
  const transactions = new RunTransactions();
  // Per database: the post-migration validations that wait for the run's one transaction to commit.
  const waiting = new Map<Client, Array<() => Promise<void>>>();
  // Each set's plan, or what stopped its planning: shown on that set's own task, not on the first set's.
  let planning: Promise<Map<string, SetPlan | { failed: unknown }>> | undefined;
  // How far the reading of a long file got is shown under the task that started the planning.
  const planAll = (progress: (text: string) => void) =>
    (planning ??= (async () => {
      const plans = new Map<string, SetPlan | { failed: unknown }>();
      const tracked = await trackingOfEach(run, options.repair);
      for (const set of run.sets) {
        const options_ = {
          lock: true,
          judge: true,
          force: options.force,
          repair: options.repair,
          askData: true,
          progress,
          singleTransaction: options.singleTransaction,
        };
        const report = reports.get(set.config.name)!;
        // Where the run lock is taken per transaction (a fleet's tenant database), another run may write while
        // this one reads: a plan read across another run's write is read again (the claim still skips what it
        // applied meanwhile).
        const plan = readSteadily(run, set, report, (reads) =>
          planSet(run, set, report, {
            ...options_,
            tracking: reads === 1 ? tracked.get(set.config.name) : undefined,
          }),
        );
        plans.set(
          set.config.name,
          await plan.catch((failed: unknown): { failed: unknown } => ({ failed })),
        );
      }
      return plans;
    })());
  const troubled = (plan: SetPlan | { failed: unknown }) =>
    'failed' in plan || plan.plan.problems.length > 0;

  return run.sets.map((set): Task => {
    const name = set.config.name;
    const report = reports.get(name)!;
    let planned: SetPlan;
    // Another set has problems: this one is fine, but nothing of the run is applied.
    let blockedBy: string[] = [];
    const appliedNow: ReturnType<typeof entryOf>[] = [];

    let undone = false;
    // The run's one transaction was rolled back: what this set applied in it is pending again.
    const undo = (step: ApplyStep) => () => {
      const i = appliedNow.findIndex((a) => a.version === step.file.version);
      if (i >= 0) appliedNow.splice(i, 1);
      report.applied = [...appliedNow];
      report.pending.push(entryOf(step.file));
      if (!undone)
        report.warnings.push(
          `The migrations of set "${name}" applied in this run's one transaction (--single-transaction) were rolled back with it: none of them stayed.`,
        );
      undone = true;
    };

    const applyTask = (step: ApplyStep): Task => ({
      title: step.file.file,
      run: async (setTitle, show) => {
        const tracking = await run.ensureTracking(set);
        // A migration in a transaction of its own, or outside one: those before it in the run's one transaction commit first.
        const committed = step.inRunTransaction ? 0 : await transactions.commit(planned.client);
        if (step.inRunTransaction) await transactions.begin(planned.client);
        // A file outside a transaction holds the run lock from its first statement to its record, where the run takes it per transaction.
        const unlock = await run.lockForStep(set, !step.transactional);
        let applied: Awaited<ReturnType<typeof applyStep>>;
        try {
          applied = await applyStep(
            {
              ...applyContextOf(run, set, planned.client, tracking, step, show),
              ...(step.transactional ? {} : { runLockPerTransaction: false }),
            },
            step,
          );
        } finally {
          await unlock();
        }
        const { ms, notices, taken, lost, warnings } = applied;
        if (taken) {
          report.pending = report.pending.filter((p) => p.version !== step.file.version);
          report.warnings.push(
            `${step.file.file} was recorded by another run while this one waited: it ran once, there.`,
          );
          setTitle(`${step.file.file}: applied by another run meanwhile`);
          return;
        }
        report.warnings.push(
          ...(warnings ?? []),
          ...measuredLossWarnings(
            step.path,
            lost,
            step.judgements,
            options.force ? '--force' : '-- schemata:force',
          ),
        );
        appliedNow.push({ ...entryOf(step.file, ms), ...(notices.length > 0 ? { notices } : {}) });
        report.applied = [...appliedNow];
        report.pending = report.pending.filter((p) => p.version !== step.file.version);
        if (step.inRunTransaction) transactions.done(planned.client, undo(step));
        const how = [
          step.transactional ? undefined : 'outside a transaction',
          committed > 0
            ? `the ${plural(committed, 'migration')} before it committed first, in one transaction`
            : undefined,
        ].filter(Boolean);
        // A migration's notices are shown under it: deploy logs are read for them.
        setTitle(
          `${step.file.file} (${ms}ms${how.map((h) => `, ${h}`).join('')})${notices.map((n) => `\n  ${n}`).join('')}`,
        );
      },
    });

    return {
      title: `${name} → ${set.target.display}`,
      run: () =>
        Promise.resolve<Task[]>(
          guardedAll([
            {
              title: 'connect and lock',
              run: async () => {
                await run.connection(set, { lock: true });
              },
            },
            {
              title: 'pre-flight validation',
              run: async (setTitle, show) => {
                const plans = await planAll(show);
                const own = plans.get(name)!;
                if ('failed' in own) throw own.failed;
                planned = own;
                if (planned.plan.problems.length > 0)
                  throw ProblemsFound.of(name, planned.plan.problems);
                blockedBy = [...plans].filter(([, p]) => troubled(p)).map(([other]) => other);
                // A file that holds no statement yet is pending, but nothing of it runs: said so, not counted as to apply.
                const empty = planned.plan.pending.filter(
                  (f) => !planned.migrations.some((m) => m.file.version === f.version),
                ).length;
                const n = planned.plan.pending.length - empty;
                const pending = [
                  ...(n > 0 || empty === 0 ? [n === 0 ? 'up to date' : `${n} pending`] : []),
                  ...(empty > 0
                    ? [`${empty} file${empty === 1 ? '' : 's'} holding no statement yet`]
                    : []),
                ].join(', ');
                if (blockedBy.length > 0) {
                  setTitle(
                    `pre-flight validation: ${pending}; nothing of the run is applied: set "${blockedBy.join('", "')}" has problems`,
                  );
                  return;
                }
                setTitle(`pre-flight validation: ${pending}`);
              },
            },
            {
              title: 'apply migrations',
              run: async (setTitle) => {
                if (blockedBy.length > 0) {
                  setTitle('apply migrations: not run');
                  return;
                }
                report.warnings.push(...planned.repairNotes.map((note) => `repair: ${note}`));
                const applies = planned.steps.filter((s): s is ApplyStep => s.kind === 'apply');
                for (const step of planned.steps) {
                  if (step.kind !== 'record-checksums') continue;
                  await run.ensureTracking(set);
                  await transactions.commit(planned.client);
                  await recordWithoutRunning(planned.client, name, 'repaired', step.files);
                }
                const n = applies.length;
                if (n === 0) {
                  setTitle(
                    options.repair && planned.rechecksum.length === 0
                      ? 'nothing to repair: tracking and the database agree'
                      : planned.rechecksum.length > 0
                        ? `recorded the new checksum of ${planned.rechecksum.map((f) => f.file).join(', ')}`
                        : planned.plan.pending.length > 0
                          ? 'nothing to apply: the pending files hold no statement yet'
                          : 'nothing to apply: up to date',
                  );
                  return;
                }
                const reruns = applies.filter((s) => s.event === 'repaired').length;
                const shared = applies.filter((s) => s.inRunTransaction).length;
                const together =
                  shared === 0
                    ? ''
                    : shared === n
                      ? ' in one transaction (--single-transaction)'
                      : `, ${shared} of them in one transaction (--single-transaction), committed before each of the others`;
                setTitle(
                  `apply ${n} migration${n === 1 ? '' : 's'}${reruns > 0 ? ` (${reruns} again, by --repair)` : ''}${together}`,
                );
                return applies.map(applyTask);
              },
            },
            {
              title: 'post-migration validation',
              run: async (setTitle) => {
                // The run's one transaction ends after the last set of the run on its database; validation reads
                // in transactions of its own, so the sets before it there are validated after it commits.
                const plans = await planAll(() => {});
                const later = run.sets.slice(run.sets.indexOf(set) + 1).find((other) => {
                  const p = plans.get(other.config.name);
                  return p !== undefined && !('failed' in p) && p.client === planned.client;
                });
                if (later && transactions.isOpen(planned.client)) {
                  waiting.set(planned.client, [
                    ...(waiting.get(planned.client) ?? []),
                    () => validateAfter(() => {}),
                  ]);
                  setTitle(
                    `post-migration validation: once the run's one transaction commits, after set "${later.config.name}"`,
                  );
                  return;
                }
                const committed = await transactions.commit(planned.client);
                const earlier = waiting.get(planned.client) ?? [];
                waiting.delete(planned.client);
                for (const validate of earlier) await validate();
                let title = 'post-migration validation';
                await validateAfter((t) => {
                  title = t;
                });
                setTitle(
                  committed > 0
                    ? `${title}; committed ${plural(committed, 'migration')} in one transaction${earlier.length > 0 ? ', then validated the sets before it on this database' : ''}`
                    : title,
                );
              },
            },
          ]),
        ),
    };

    async function validateAfter(setTitle: (title: string) => void): Promise<void> {
      if (blockedBy.length > 0) {
        setTitle('post-migration validation: nothing ran');
        return;
      }
      // Nothing ran and nothing was recorded: the pre-flight validation just said it all.
      if (planned.steps.length === 0) {
        setTitle('post-migration validation: nothing ran');
        return;
      }
      // A tenant schema of a fleet: validated with the others, from one reading after them all.
      if (!options.validateAfter) {
        setTitle('post-migration validation: by the fleet, after its tenants');
        return;
      }
      // The catalog is listed beside (engine/context.ts) while this session reads the facts.
      const listing = run.missingAfterRun(set);
      listing.catch(() => undefined);
      const facts = await readSchemaFacts(planned.client, set.config.schemas, {
        withData: true,
      });
      report.schemas = schemasOf(facts);
      const problems = checkAfterMigrate(name, facts, await listing);
      report.problems.push(...problems);
      if (problems.length > 0) throw ProblemsFound.of(name, problems);
    }
  });

  /** A failure anywhere rolls back the run's open transaction, and its message says what that undid. */
  function guardedAll(tasks: Task[]): Task[] {
    return tasks.map(guarded);
  }
  function guarded(task: Task): Task {
    return {
      ...task,
      run: async (setTitle, show) => {
        try {
          const children = await task.run(setTitle, show);
          return children && guardedAll(children);
        } catch (error) {
          const undone = await transactions.rollbackAll();
          if (undone > 0 && error instanceof Error && !error.message.includes(RUN_ROLLED_BACK))
            error.message += ` The ${plural(undone, 'migration')} this run applied in its one transaction (--single-transaction) ${undone === 1 ? 'is' : 'are'} rolled back with it, tracking rows included: none of them stayed.`;
          throw error;
        }
      },
    };
  }
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * `migrate --dry-run`: the plan of each set, judged as migrate would judge
 * it, without the lock and without writing anything, not even the tracking
 * table.
 */
function dryRunTasks(
  run: Run,
  reports: Map<string, SetReport>,
  options: { force: boolean; repair: boolean; singleTransaction: boolean | undefined },
): Task[] {
  return run.sets.map((set): Task => {
    const report = reports.get(set.config.name)!;
    return {
      title: `${set.config.name} → ${set.target.display} (dry run)`,
      run: async (setTitle) => {
        // Nothing locked: another run may write the tracking while this one reads it, then the catalog.
        const planned = await readSteadily(
          run,
          set,
          report,
          () =>
            planSet(run, set, report, {
              lock: false,
              judge: true,
              force: options.force,
              repair: options.repair,
              singleTransaction: options.singleTransaction,
            }),
          true,
        );
        const applies = planned.steps.filter((s): s is ApplyStep => s.kind === 'apply');
        const hazards = await lockHazards(planned.client, applies);
        report.warnings.push(...[...hazards.values()].flat());
        report.plan = applies.map((step) => {
          const entry = plannedEntry(step);
          entry.warnings.push(...(hazards.get(step) ?? []));
          return entry;
        });
        const shared = report.plan.filter((m) => m.inRunTransaction).length;
        if (report.plan.length === 0)
          setTitle(`${set.config.name} → ${set.target.display} (dry run): nothing to apply`);
        else if (shared > 0)
          setTitle(
            `${set.config.name} → ${set.target.display} (dry run): ${shared === report.plan.length ? 'the run is one transaction' : `${shared} of ${report.plan.length} migrations in the run's one transaction, committed before each of the others`} (--single-transaction)`,
          );
        return report.plan.map((m): Task => ({
          title: describePlanned(m, shared > 0),
          refused: m.steps.some((s) => s.verdict === 'refused'),
          run: async () => {},
        }));
      },
    };
  });
}

/**
 * lint's lock-hazard warnings on the statements each step runs, each table
 * sized in this database as `lint` with a URL sizes it: `rewrites
 * workspace.events (41 M rows, 12 GB) ... under an ACCESS EXCLUSIVE lock`.
 */
async function lockHazards(
  client: Client,
  steps: readonly ApplyStep[],
): Promise<Map<ApplyStep, string[]>> {
  const [{ loadParser }, { lintFile }, { sizeFindings }] = await Promise.all([
    import('../sql/parse.js'),
    import('../sql/lint.js'),
    import('./lint.js'),
  ]);
  const parser = await loadParser();
  const found = steps.flatMap((step) =>
    lintFile(parser, step.file.sql)
      .filter(
        (f) =>
          f.table !== undefined &&
          (step.only === undefined || step.only.some((l) => l.line === f.at.line)),
      )
      .map((f) => ({ ...f, step })),
  );
  const hazards = new Map<ApplyStep, string[]>();
  for (const f of await sizeFindings(client, found))
    hazards.set(f.step, [...(hazards.get(f.step) ?? []), `${at(f.step.path, f.at)}: ${f.message}`]);
  return hazards;
}

/** An apply step as --dry-run reports it: the same step engine/apply.ts would run. */
function plannedEntry(step: ApplyStep): PlannedMigration {
  return {
    version: step.file.version,
    file: step.file.file,
    transactional: step.transactional,
    inRunTransaction: step.inRunTransaction,
    event: step.event,
    runs: step.only ? step.only.map((l) => `${step.path}:${l.line}`) : 'all',
    check: step.measurement.forced
      ? 'measured, losses allowed (forced)'
      : 'measured in its transaction: every table that holds rows',
    steps: step.judgements.map((j) => ({
      at: at(step.path, j.at),
      step: j.step,
      target: j.target,
      verdict: j.verdict,
      reason: j.reason,
      holders: j.holders,
    })),
    warnings: [...step.warnings],
  };
}

function describePlanned(m: PlannedMigration, together: boolean): string {
  // In a run that is one transaction, a migration that is not in it ends it: what ran before it commits.
  const commits = together ? ': what runs before it commits first' : '';
  const how = [
    m.inRunTransaction
      ? undefined
      : !m.transactional
        ? `outside a transaction${commits}`
        : together
          ? `in a transaction of its own${commits}`
          : undefined,
    m.runs === 'all' ? undefined : `only ${m.runs.join(', ')}`,
  ].filter(Boolean);
  return `would ${m.event === 'repaired' ? 'run again' : 'apply'} ${m.file}${how.length > 0 ? ` (${how.join(', ')})` : ''}${m.steps.map((s) => `; ${s.step}: ${s.verdict} (${s.reason})`).join('')}`;
}
