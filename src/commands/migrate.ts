import { applyStep } from '../engine/apply.js';
import { readSchemaFacts } from '../catalog/schema-facts.js';
import { missingObjects, readTracking, recordWithoutRunning } from '../engine/tracking.js';
import { checkAfterMigrate } from '../model/plan.js';
import type { Client } from '../engine/connect.js';
import type { ApplyStep } from '../model/steps.js';
import { applyContextOf, type Run, type RunOptions } from '../engine/context.js';
import { execute } from '../engine/execute.js';
import { planSet, type SetPlan } from '../engine/plan-set.js';
import {
  entryOf,
  failOnProblems,
  type PlannedMigration,
  ProblemsFound,
  type Report,
  type SetReport,
  schemasOf,
} from '../engine/report.js';
import type { Task } from '../engine/tasks.js';
import { type FleetOptions, fleetFlagsAlone, isFleet, runFleet } from './fleet.js';

export interface MigrateOptions extends RunOptions, FleetOptions {
  /** Let data protection's refused steps run (SPEC §5). */
  force?: boolean;
  /** Plan only: what would run, what would be refused; writes nothing, takes no lock. */
  dryRun?: boolean;
  /** Make tracking tell the truth for the sets run: re-run migrations whose objects are missing or that did not finish; record changed checksums. */
  repair?: boolean;
}

/**
 * Applies the pending migrations of each set (all by default), each set on
 * its database, with validation before and after and data protection on
 * every destructive step.
 *
 * @example
 * const report = await migrate({ env: { PRIMARY_DATABASE_URL: process.env.DATABASE_URL } });
 * if (!report.ok) throw new Error(report.error?.message);
 */
export async function migrate(options: MigrateOptions = {}): Promise<Report> {
  if (isFleet(options))
    return runFleet('migrate', options, (one) => migrate({ ...options, ...one }));
  const misused = fleetFlagsAlone('migrate', options);
  if (misused) return misused;
  const force = options.force ?? false;
  if (options.dryRun) {
    const report = await execute('migrate', options, (run, reports) =>
      dryRunTasks(run, reports, { force, repair: options.repair ?? false }),
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
    }),
  );
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
  options: { force: boolean; repair: boolean; validateAfter: boolean },
): Task[] {
  // Each set's plan, or what stopped its planning: shown on that set's own task, not on the first set's.
  let planning: Promise<Map<string, SetPlan | { failed: unknown }>> | undefined;
  // How far the reading of a long file got is shown under the task that started the planning.
  const planAll = (progress: (text: string) => void) =>
    (planning ??= (async () => {
      const plans = new Map<string, SetPlan | { failed: unknown }>();
      for (const set of run.sets) {
        const options_ = {
          lock: true,
          judge: true,
          force: options.force,
          repair: options.repair,
          askData: true,
          progress,
        };
        plans.set(
          set.config.name,
          await planSet(run, set, reports.get(set.config.name)!, options_).catch(
            (failed: unknown) => ({ failed }),
          ),
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

    const applyTask = (step: ApplyStep): Task => ({
      title: step.file.file,
      run: async (setTitle, show) => {
        const tracking = await run.ensureTracking(set);
        const { ms, notices, taken } = await applyStep(
          applyContextOf(run, set, planned.client, tracking, step, show),
          step,
        );
        if (taken) {
          report.pending = report.pending.filter((p) => p.version !== step.file.version);
          report.warnings.push(
            `${step.file.file} was recorded by another run while this one waited: it ran once, there.`,
          );
          setTitle(`${step.file.file}: applied by another run meanwhile`);
          return;
        }
        appliedNow.push({ ...entryOf(step.file, ms), ...(notices.length > 0 ? { notices } : {}) });
        report.applied = [...appliedNow];
        report.pending = report.pending.filter((p) => p.version !== step.file.version);
        // A migration's notices are shown under it: deploy logs are read for them.
        setTitle(
          `${step.file.file} (${ms}ms${step.transactional ? '' : ', outside a transaction'})${notices.map((n) => `\n  ${n}`).join('')}`,
        );
      },
    });

    return {
      title: `${name} → ${set.target.display}`,
      run: () =>
        Promise.resolve<Task[]>([
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
              setTitle(
                `apply ${n} migration${n === 1 ? '' : 's'}${reruns > 0 ? ` (${reruns} again, by --repair)` : ''}`,
              );
              return applies.map(applyTask);
            },
          },
          {
            title: 'post-migration validation',
            run: async (setTitle) => {
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
              const facts = await readSchemaFacts(planned.client, set.config.schemas, {
                withData: true,
              });
              const tracking = await readTracking(planned.client, name);
              report.schemas = schemasOf(facts);
              const problems = checkAfterMigrate(
                name,
                facts,
                await missingObjects(planned.client, name, tracking),
              );
              report.problems.push(...problems);
              if (problems.length > 0) throw ProblemsFound.of(name, problems);
            },
          },
        ]),
    };
  });
}

/**
 * `migrate --dry-run`: the plan of each set, judged as migrate would judge
 * it, without the lock and without writing anything, not even the tracking
 * table.
 */
function dryRunTasks(
  run: Run,
  reports: Map<string, SetReport>,
  options: { force: boolean; repair: boolean },
): Task[] {
  return run.sets.map((set): Task => {
    const report = reports.get(set.config.name)!;
    return {
      title: `${set.config.name} → ${set.target.display} (dry run)`,
      run: async (setTitle) => {
        const planned = await planSet(run, set, report, {
          lock: false,
          judge: true,
          force: options.force,
          repair: options.repair,
        });
        const applies = planned.steps.filter((s): s is ApplyStep => s.kind === 'apply');
        const hazards = await lockHazards(planned.client, applies);
        report.warnings.push(...[...hazards.values()].flat());
        report.plan = applies.map((step) => {
          const entry = plannedEntry(step);
          entry.warnings.push(...(hazards.get(step) ?? []));
          return entry;
        });
        if (report.plan.length === 0)
          setTitle(`${set.config.name} → ${set.target.display} (dry run): nothing to apply`);
        return report.plan.map((m): Task => ({
          title: describePlanned(m),
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
    })),
    warnings: [...step.warnings],
  };
}

function describePlanned(m: PlannedMigration): string {
  const how = [
    m.transactional ? undefined : 'outside a transaction',
    m.runs === 'all' ? undefined : `only ${m.runs.join(', ')}`,
  ].filter(Boolean);
  return `would ${m.event === 'repaired' ? 'run again' : 'apply'} ${m.file}${how.length > 0 ? ` (${how.join(', ')})` : ''}${m.steps.map((s) => `; ${s.step}: ${s.verdict} (${s.reason})`).join('')}`;
}
