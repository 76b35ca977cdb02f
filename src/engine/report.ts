import type { Holder } from '../model/protect.js';
import type { MigrationFile } from '../config/discover.js';
import type { SchemaFacts } from '../catalog/schema-facts.js';
import { ConnectionError, EXIT, type ExitCode, RefusedError, SchemataError } from '../errors.js';
import type { Problem, ProblemKind } from '../model/plan.js';
import { maskSecrets } from '../targets/redact.js';
import type { Mode } from '../targets/targets.js';

/** SPEC §8: what every command returns, and what --json prints. */
export interface Report {
  command: string;
  mode: Mode;
  ok: boolean;
  exitCode: ExitCode;
  sets: SetReport[];
  /** The error that stopped the run, if one did; with DEBUG=schemata, where in the code it came from. */
  error?: { message: string; hint?: string; stack?: string } | undefined;
  warnings: string[];
}

const debugging = () => /(^|,)\s*schemata\s*(,|$)|^\*$/.test(process.env.DEBUG ?? '');

export interface MigrationEntry {
  version: string;
  name: string;
  file: string;
  ms: number | null;
  /** status: when it was applied (its latest applied, repaired or baselined event), ISO 8601. */
  appliedAt?: string;
  /** status: applied, repaired or baselined. */
  event?: string;
  /** status: whether it has a down file, so that rollback can undo it. */
  down?: boolean;
  /** status: baselined from this other tool's history (`baseline --from`). */
  from?: string;
  /** migrate: what it said with RAISE NOTICE / WARNING (and PostgreSQL's own notices), in order. */
  notices?: string[];
}

export interface SetReport {
  name: string;
  /** The database URL with its password replaced by ***. */
  target: string;
  applied: MigrationEntry[];
  pending: MigrationEntry[];
  /** hasData: null where the command does not look (migrate, validate; status does). */
  schemas: Array<{ name: string; exists: boolean; hasData: boolean | null }>;
  problems: Problem[];
  /** status: objects in the set's schemas that no migration made (an index a DBA added): listed, never a mismatch. */
  extra?: string[];
  /** Things worth knowing that stop nothing: forced steps, SQL data protection cannot see into. */
  warnings: string[];
  /** Wall time of the set's tasks in this run, ms; null when the run stopped before the set began. */
  ms?: number | null;
  /** rollback --check: each migration of the set, and whether its down was proved on the scratch database. */
  checked?: Array<{ file: string; down: 'proved' | 'broken' | 'none' }>;
  /** rollback: the migrations whose downs ran, newest first. */
  rolledBack?: MigrationEntry[];
  /** With --dry-run: what migrate would do, in order. */
  plan?: PlannedMigration[];
  /** A fleet set: each tenant this run took, in name order. */
  tenants?: TenantReport[];
  /** status of a fleet of tenant schemas: schemas holding the set's tracking that its tenants do not list. */
  orphans?: string[];
}

/** One tenant of a fleet set (SPEC §10), as `--json` gives it in `sets[].tenants[]`. */
export interface TenantReport {
  /** Its schema, or its database's name (with host and port where two servers share it). */
  name: string;
  ok: boolean;
  exitCode: ExitCode;
  applied: MigrationEntry[];
  pending: MigrationEntry[];
  ms: number;
  problems: Problem[];
  error?: { message: string; hint?: string | undefined } | undefined;
}

/** One pending migration as --dry-run shows it. */
export interface PlannedMigration {
  version: string;
  file: string;
  transactional: boolean;
  /** In the run's one transaction (--single-transaction). */
  inRunTransaction: boolean;
  /** applied, or repaired when --repair runs it again. */
  event: 'applied' | 'repaired' | 'rolled-back';
  /** Every statement, or (repair of a file that changes rows) the ones that run, as file:line. */
  runs: 'all' | string[];
  /** What the server-side data check covers. */
  check:
    | 'measured in its transaction: every table that holds rows'
    | 'measured, losses allowed (forced)';
  steps: Array<{
    at: string;
    step: string;
    target: string;
    verdict: 'allowed' | 'refused' | 'forced';
    reason: string;
    /** The tables that hold rows, and how many. */
    holders: Holder[];
  }>;
  warnings: string[];
}

export function newReport(command: string, mode: Mode): Report {
  return { command, mode, ok: true, exitCode: EXIT.ok, sets: [], warnings: [] };
}

export function entryOf(
  file: Pick<MigrationFile, 'version' | 'name' | 'file'>,
  ms: number | null = null,
): MigrationEntry {
  return { version: file.version, name: file.name, file: file.file, ms };
}

export function schemasOf(facts: readonly SchemaFacts[]): SetReport['schemas'] {
  return facts.map((f) => ({ name: f.name, exists: f.exists, hasData: f.hasData }));
}

const KIND_BY_EXIT: Record<number, ProblemKind> = {
  [EXIT.failed]: 'migration-failed',
  [EXIT.usage]: 'config',
  [EXIT.invalid]: 'mismatch',
  [EXIT.refused]: 'refused',
  [EXIT.locked]: 'lock',
};

/** The exit code for a list of problems: refusals alone are 4, anything else found by validation 3. */
function exitCodeOf(problems: readonly Problem[]): ExitCode {
  return problems.length > 0 && problems.every((p) => p.kind === 'refused')
    ? EXIT.refused
    : EXIT.invalid;
}

/** A stop for problems that the reports already list, so they are not listed twice. */
export class ProblemsFound extends SchemataError {
  constructor(message: string, problems: readonly Problem[]) {
    super(message, exitCodeOf(problems), problems[0]?.hint);
  }

  static of(set: string, problems: readonly Problem[]): ProblemsFound {
    const message =
      problems.length === 1
        ? problems[0]!.message
        : `Set "${set}": ${problems.length} problems: ${problems.map((p) => p.message).join(' ')}`;
    return new ProblemsFound(message, problems);
  }
}

/**
 * Ends a run whose report has problems but that did not stop on them: a dry
 * run exits as migrate would (4 for refusals alone), validate always 3.
 */
export function failOnProblems(report: Report, exitCode?: ExitCode): void {
  const problems = report.sets.flatMap((s) => s.problems);
  if (!report.ok || problems.length === 0) return;
  report.ok = false;
  report.exitCode = exitCode ?? exitCodeOf(problems);
  report.error = { message: problemsFound(problems.length), hint: problems[0]!.hint };
}

/** The error of a run that ended on its problems: they say the rest (printed, they are not said twice). */
export function problemsFound(count: number): string {
  return `${count} problem${count === 1 ? '' : 's'} found.`;
}

/** Lists the error that stopped a set among its problems (once). */
export function recordProblem(set: SetReport, error: SchemataError): void {
  if (error instanceof ProblemsFound || set.problems.some((p) => p.message === error.message))
    return;
  set.problems.push({
    // Exit 1 is also a server that cannot be reached: no migration failed then.
    kind:
      error instanceof ConnectionError
        ? 'connection'
        : (KIND_BY_EXIT[error.exitCode] ?? 'migration-failed'),
    message: error.message,
    hint: error.hint ?? '',
    ...(error instanceof RefusedError && error.holders ? { holders: [...error.holders] } : {}),
  });
}

/** Marks the run as failed by this error. */
export function recordError(report: Report, error: SchemataError): void {
  report.ok = false;
  report.exitCode = error.exitCode;
  report.error = { message: error.message, hint: error.hint };
  // The error raised inside a task, whose own stack the CLI never sees: DEBUG=schemata shows it.
  if (debugging()) {
    const origin = error.cause instanceof Error ? error.cause : error;
    // The stack's first line is the error's own message, in the driver's words: masked as they are.
    report.error.stack = maskSecrets(origin.stack ?? String(origin));
  }
}
