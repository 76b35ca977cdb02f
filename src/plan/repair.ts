import type { MigrationFile } from '../config/discover.js';
import type { ExpectedObject, TrackedMigration } from '../db/tracking.js';
import { compareVersions } from '../config/discover.js';
import type { Plan, Problem } from './plan.js';

/** What `migrate --repair` does to a set before the usual run. */
export interface RepairPlan {
  /** The plan with the repaired problems gone and the re-runs among the pending migrations. */
  plan: Plan;
  /** Applied (or failed) migrations to run again, in version order: their objects are missing, or they did not finish. */
  rerun: MigrationFile[];
  /** Changed files whose objects all exist: record the new checksum, run nothing. */
  rechecksum: MigrationFile[];
  /** What repair will do, in words, for the task list and the report. */
  notes: string[];
}

const REPAIRED: ReadonlySet<Problem['kind']> = new Set(['mismatch', 'dirty', 'checksum']);

/**
 * Decides a repair from the plan's problems: which tracked migrations to
 * run again and which changed checksums to record. The problems it repairs
 * leave the plan; the rest (an untracked database, a missing file, a syntax
 * error) still stop the run. Pure.
 */
export function planRepair(state: { files: readonly MigrationFile[]; tracked: readonly TrackedMigration[]; missing: readonly ExpectedObject[] }, plan: Plan): RepairPlan {
  const files = new Map(state.files.map((f) => [f.version, f]));
  const rerunVersions = new Set<string>([
    ...state.missing.map((e) => e.version),
    ...state.tracked.filter((t) => t.state !== 'applied').map((t) => t.version),
  ]);
  const rerun = [...rerunVersions].flatMap((v) => (files.has(v) ? [files.get(v)!] : [])).sort((a, b) => compareVersions(a.version, b.version));
  const rechecksum = state.tracked
    .filter((t) => t.state === 'applied' && !rerunVersions.has(t.version) && files.has(t.version) && files.get(t.version)!.checksum !== t.checksum)
    .map((t) => files.get(t.version)!);

  // A re-run whose file is gone cannot happen: that stops the run.
  const lost = state.tracked.filter((t) => rerunVersions.has(t.version) && !files.has(t.version));
  const repaired: Plan = {
    set: plan.set,
    problems: [
      ...plan.problems.filter((p) => !REPAIRED.has(p.kind) && !(p.kind === 'missing-file' && lost.some((t) => p.message.includes(t.file)))),
      ...lost.map(
        (t): Problem => ({
          kind: 'missing-file',
          message: `Set "${plan.set}": --repair would run ${t.file} (version ${t.version}) again, but its file is gone from the set's directory.`,
          hint: 'Restore the file from version control (git checkout -- <path>), then run the repair again.',
        }),
      ),
    ],
    pending: [...rerun, ...plan.pending].sort((a, b) => compareVersions(a.version, b.version)),
  };

  const notes = [
    ...rerun.map((f) => {
      const row = state.tracked.find((t) => t.version === f.version);
      const why = row && row.state !== 'applied' ? `it is recorded as ${row.state}` : `objects it made are missing`;
      return `${f.file} runs again: ${why}.`;
    }),
    ...rechecksum.map((f) => `${f.file} changed, but everything it made exists: its new checksum is recorded.`),
  ];
  return { plan: repaired, rerun, rechecksum, notes };
}
