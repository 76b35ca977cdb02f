import { ConfigError, ValidationError } from '../errors.js';
import { applyStep } from './apply.js';
import { applyContextOf, type Run, type RunOptions } from './context.js';
import { execute } from './execute.js';
import { planRollback, type RollbackPlan } from './plan-rollback.js';
import { entryOf, ProblemsFound, type Report, type SetReport } from './report.js';
import { readReversal } from './reversal.js';
import type { Task } from './tasks.js';
import { ALLOW_ROLLED_BACK_SQL, missingObjectsOfSet } from './tracking.js';
import { compareVersions } from '../config/discover.js';
import type { RollbackRequest } from '../model/rollback.js';
import { type ApplyStep, measuredLossWarnings } from '../model/steps.js';
import { isFleet } from './fleet.js';

export interface RollbackOptions extends RunOptions, RollbackRequest {
  /** The set to roll back (exactly one). */
  set: string;
  /** Let data protection's refused steps of a down run (SPEC §5). */
  force?: boolean;
}

/**
 * `rollback <set>` (SPEC §12): runs the downs of the newest applied
 * migrations, newest first, each in its own transaction with every guarantee
 * of migrate (run lock, data protection, statement lock timeout, signals);
 * after each down the catalog is checked against what its up did, and a down
 * that does not undo it is rolled back and named (exit 3).
 *
 * @example
 * const report = await rollback({ set: 'data', steps: 2 });
 */
export async function rollback(options: RollbackOptions): Promise<Report> {
  if (isFleet({ ...options, sets: [options.set] })) {
    return execute('rollback', { ...options, sets: [options.set], listing: true }, () => {
      throw new ConfigError(
        `Set "${options.set}" is a fleet of tenants: rollback runs on one database and set, not yet on a fleet. Nothing ran.`,
        `Roll a fleet forward instead: write a migration that undoes the change and run schemata migrate ${options.set}.`,
      );
    });
  }
  return execute('rollback', { ...options, sets: [options.set] }, (run, reports) =>
    rollbackTasks(run, reports, {
      force: options.force ?? false,
      steps: options.steps,
      to: options.to,
    }),
  );
}

function rollbackTasks(
  run: Run,
  reports: Map<string, SetReport>,
  options: RollbackRequest & { force: boolean },
): Task[] {
  return run.sets.map((set): Task => {
    const name = set.config.name;
    const report = reports.get(name)!;
    report.rolledBack = [];
    let planned: RollbackPlan;

    const downTask = (step: ApplyStep): Task => ({
      title: step.file.file,
      run: async (setTitle, show) => {
        const tracking = await run.ensureTracking(set);
        await planned.client.query(ALLOW_ROLLED_BACK_SQL);
        const version = step.file.version;
        const up = planned.choice.targets.find((t) => t.migration.version === version)!.migration;
        // What stays applied below it is credited with what the down brings back, when the history does not say who made it.
        const below = planned.applied.filter((t) => compareVersions(t.version, version) < 0);
        const fallback = below[below.length - 1] ?? up;
        const reversal = await readReversal(planned.client, name, version, up.file, {
          version: fallback.version,
          file: fallback.file,
        });
        const { ms, notices, taken, lost } = await applyStep(
          {
            ...applyContextOf(run, set, planned.client, tracking, step, show),
            again: planned.again,
          },
          { ...step, reversal },
        );
        if (taken) {
          report.warnings.push(
            `${up.file} changed in tracking while this run waited (another run applied or rolled it back): its down did not run.`,
          );
          setTitle(`${step.file.file}: not run, ${up.file} changed meanwhile`);
          return;
        }
        report.warnings.push(
          ...measuredLossWarnings(
            step.path,
            lost,
            step.judgements,
            options.force ? '--force' : '-- schemata:force',
          ),
        );
        report.rolledBack!.push({
          ...entryOf(up, ms),
          ...(notices.length > 0 ? { notices } : {}),
        });
        setTitle(`${step.file.file} (${ms}ms): ${up.file} rolled back`);
      },
    });

    return {
      title: `${name} → ${set.target.display}: rollback`,
      run: () =>
        Promise.resolve<Task[]>([
          {
            title: 'connect and lock',
            run: async () => {
              await run.connection(set, { lock: true });
            },
          },
          {
            title: 'plan',
            run: async (setTitle) => {
              planned = await planRollback(run, set, { ...options, lock: true });
              report.problems.push(...planned.problems);
              if (planned.problems.length > 0) throw ProblemsFound.of(name, planned.problems);
              const n = planned.steps.length;
              setTitle(
                n === 0
                  ? 'nothing to roll back: no migration is applied'
                  : `roll back ${n} migration${n === 1 ? '' : 's'}: ${planned.choice.targets.map((t) => t.migration.file).join(', ')}`,
              );
            },
          },
          {
            title: 'run the downs',
            run: () => Promise.resolve(planned.steps.map(downTask)),
          },
          {
            title: 'validation',
            run: async () => {
              if (planned.steps.length === 0) return;
              // What stays applied must still be there: a down may only take what its own migration made.
              const missing = await missingObjectsOfSet(planned.client, name);
              if (missing.length === 0) return;
              const listed = missing
                .slice(0, 10)
                .map((o) => `${o.kind} ${o.identity} (${o.file})`)
                .join(', ');
              throw new ValidationError(
                `Set "${name}": after the rollback the database lacks what applied migrations made: ${listed}${missing.length > 10 ? ` and ${missing.length - 10} more` : ''}.`,
                `Bring them back with: schemata migrate ${name} --repair`,
              );
            },
          },
        ]),
    };
  });
}
