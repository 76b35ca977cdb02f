import { problemsFound, type Report, type SetReport } from '../engine/report.js';

/** Human `status` and `validate`: per set, its target, a table of its migrations, schemas and problems; validate ends with its verdict. */
export function formatStatus(report: Report): string {
  const lines: string[] = [`mode: ${report.mode}`];
  for (const set of report.sets) lines.push('', ...formatSet(set));
  const problems = report.sets.reduce((n, s) => n + s.problems.length, 0);
  // status --check fails on its problems as validate does, and says so.
  if (report.command === 'status' && report.exitCode === 3 && problems > 0)
    lines.push('', `status --check: ${problems} problem${problems === 1 ? '' : 's'} (exit 3).`);
  if (report.command === 'validate') {
    lines.push(
      '',
      report.ok
        ? `validate: passed: ${report.sets.length === 1 ? 'the set matches' : `all ${report.sets.length} sets match`} what their migrations made.`
        : `validate: failed with ${problems} problem${problems === 1 ? '' : 's'} (exit ${report.exitCode}).`,
    );
  }
  return lines.join('\n');
}

/** The migrations of a set as a table: version, name, applied at, duration, state. */
function migrationTable(set: SetReport): string[] {
  const rows = [
    // The file's name, what a user greps for (`004_later.sql`), not the version and name apart.
    ...set.applied.map((a) => [
      a.version,
      a.file || a.name,
      a.appliedAt ?? '',
      a.ms === null ? '' : `${a.ms} ms`,
      `${a.event ?? 'applied'}${a.from ? ` (from ${a.from})` : ''}`,
      a.down ? 'yes' : 'no',
    ]),
    ...set.pending.map((p) => [p.version, p.file || p.name, '', '', 'pending', '']),
  ];
  if (rows.length === 0) return ['    (no migrations)'];
  // `down`: whether rollback can undo it (it has a down file).
  const header = ['version', 'file', 'applied at', 'duration', 'state', 'down'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    `    ${cells.map((c, i) => c.padEnd(widths[i]!)).join('  ')}`.trimEnd();
  return [line(header), ...rows.map(line)];
}

/** A fleet set: a line per tenant (name, applied, pending, state), the failed ones with their first problem. */
function formatFleet(set: SetReport): string[] {
  const tenants = set.tenants ?? [];
  const failed = tenants.filter((t) => !t.ok);
  const lines = [
    `${set.name} → ${set.target}`,
    `  tenants: ${tenants.length}${failed.length > 0 ? `, ${failed.length} failed` : ''}`,
  ];
  const width = Math.max(6, ...tenants.map((t) => t.name.length));
  lines.push(`    ${'tenant'.padEnd(width)}  applied  pending  state`);
  for (const t of tenants)
    lines.push(
      `    ${t.name.padEnd(width)}  ${String(t.applied.length).padEnd(7)}  ${String(t.pending.length).padEnd(7)}  ${t.ok ? 'ok' : `failed (exit ${t.exitCode}): ${t.error?.message ?? t.problems[0]?.message ?? ''}`}`,
    );
  return lines;
}

function formatSet(set: SetReport): string[] {
  if (set.tenants) return formatFleet(set);
  const lines = [`${set.name} → ${set.target}`];
  // A set that was not read has no counts to show: zero would be a claim about the database.
  // (Every set has at least one schema, so a read set always lists some.)
  const unread = set.schemas.length === 0;
  lines.push(
    unread
      ? `  not read${set.problems.length > 0 ? ': see the problem below' : ' (the run stopped before it)'}`
      : `  applied: ${set.applied.length}   pending: ${set.pending.length}`,
  );
  if (!unread) lines.push(...migrationTable(set));
  for (const schema of set.schemas) {
    const state = !schema.exists
      ? 'missing'
      : schema.hasData === null
        ? 'present'
        : schema.hasData
          ? 'present, holds data (data protection active)'
          : 'present, empty';
    lines.push(`  schema ${schema.name}: ${state}`);
  }
  if (set.extra && set.extra.length > 0) {
    lines.push(`  extra (made by no migration; not a mismatch): ${set.extra.length}`);
    for (const e of set.extra.slice(0, 20)) lines.push(`    ${e}`);
    if (set.extra.length > 20)
      lines.push(`    … and ${set.extra.length - 20} more (--json lists them all)`);
  }
  for (const problem of set.problems) {
    lines.push(`  problem (${problem.kind}): ${problem.message}`);
    if (problem.hint) lines.push(`    → ${problem.hint}`);
  }
  return lines;
}

/**
 * The paragraph a failed run ends with: every problem, then the hint to type.
 * After `status` and `validate`, which list each problem under its set with
 * its hint (`listed`), nothing is said again: only an error that stopped the
 * run before any set could list it.
 */
export function formatFailure(
  report: Report,
  { listed = false }: { listed?: boolean } = {},
): string {
  const problems = report.sets.flatMap((s) => s.problems);
  if (listed && problems.length > 0) return '';
  const paragraphs = problems.length > 0 ? problems.map((p) => paragraph(p.message, p.hint)) : [];
  if (
    report.error &&
    !problems.some((p) => p.message === report.error!.message) &&
    report.error.message !== problemsFound(problems.length)
  ) {
    paragraphs.unshift(paragraph(report.error.message, report.error.hint));
  }
  return paragraphs.join('\n\n');
}

function paragraph(message: string, hint: string | undefined): string {
  return `error: ${message}${hint ? `\n  → ${hint}` : ''}`;
}

/** A duration as the summary shows it: ms below a second, else seconds with one decimal. */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * Each set's part of the closing line: what this run applied, what it
 * skipped (the set's migrations still pending after the run: those after a
 * failure, the failing one, all of them when another set's problem meant
 * nothing of the run was applied, and files that hold no statement yet), and
 * the set's wall time; `not run` when the run stopped before the set began,
 * `not read` when it stopped before it read the set's database (counts would
 * be a claim about a database it did not see).
 */
function setSummary(set: SetReport): string {
  if (set.ms === null || set.ms === undefined) return `${set.name} not run`;
  if (set.tenants) {
    const applied = set.tenants.reduce((n, t) => n + t.applied.length, 0);
    const failed = set.tenants.filter((t) => !t.ok).length;
    return `${set.name} ${set.tenants.length} tenants, ${applied} applied${failed > 0 ? `, ${failed} failed` : ''}, ${formatDuration(set.ms)}`;
  }
  // Every set has at least one schema, so a set that was read lists some.
  if (set.schemas.length === 0 && set.applied.length === 0)
    return `${set.name} not read, ${formatDuration(set.ms)}`;
  return `${set.name} ${set.applied.length} applied, ${set.pending.length} skipped, ${formatDuration(set.ms)}`;
}

/** The line a migrate run ends with: what it did, in one sentence, and per set applied, skipped and time. */
export function formatMigrateSummary(report: Report, dryRun: boolean): string {
  const applied = report.sets.reduce(
    (n, s) => n + s.applied.length + (s.tenants ?? []).reduce((m, t) => m + t.applied.length, 0),
    0,
  );
  const count = `${applied} migration${applied === 1 ? '' : 's'}`;
  const pending = report.sets.reduce((n, s) => n + s.pending.length, 0);
  if (dryRun)
    return report.ok
      ? `dry run: ${pending} would run; nothing was written.`
      : `dry run: migrate would stop (exit ${report.exitCode}); nothing was written.`;
  const sets = report.sets.length > 0 ? ` (${report.sets.map(setSummary).join('; ')})` : '';
  if (report.ok)
    return applied === 0
      ? `done: nothing to apply${sets}${pending > 0 ? `; the ${pending} skipped hold no statement yet` : ''}.`
      : `done: applied ${count}${sets}.`;
  return `stopped (exit ${report.exitCode}): ${applied === 0 ? 'nothing was applied' : `applied ${count} before it stopped`}${sets}; the error follows.`;
}

/** The last line of `rollback`: what was rolled back, or what stopped it. */
export function formatRollbackSummary(report: Report): string {
  const done = report.sets.flatMap((s) => s.rolledBack ?? []);
  const list = done.map((m) => m.file).join(', ');
  if (report.ok)
    return done.length === 0
      ? 'done: nothing to roll back.'
      : `done: rolled back ${list}; migrate applies ${done.length === 1 ? 'it' : 'them'} again.`;
  return `stopped (exit ${report.exitCode}): ${done.length === 0 ? 'nothing was rolled back' : `rolled back ${list} before it stopped`}; the error follows.`;
}
