import type { Report, SetReport } from '../run/report.js';

/** Human `status`: per set, its target, counts, schemas and problems. */
export function formatStatus(report: Report): string {
  const lines: string[] = [`mode: ${report.mode}`];
  for (const set of report.sets) lines.push('', ...formatSet(set));
  return lines.join('\n');
}

function formatSet(set: SetReport): string[] {
  const lines = [`${set.name} → ${set.target}`];
  lines.push(`  applied: ${set.applied.length}   pending: ${set.pending.length}`);
  for (const p of set.pending) lines.push(`    pending  ${p.file}`);
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
  for (const problem of set.problems) {
    lines.push(`  problem (${problem.kind}): ${problem.message}`);
    if (problem.hint) lines.push(`    → ${problem.hint}`);
  }
  return lines;
}

/** The paragraph a failed run ends with: every problem, then the hint to type. */
export function formatFailure(report: Report): string {
  const problems = report.sets.flatMap((s) => s.problems);
  const paragraphs = problems.length > 0 ? problems.map((p) => paragraph(p.message, p.hint)) : [];
  if (report.error && !problems.some((p) => p.message === report.error!.message)) {
    paragraphs.unshift(paragraph(report.error.message, report.error.hint));
  }
  return paragraphs.join('\n\n');
}

function paragraph(message: string, hint: string | undefined): string {
  return `error: ${message}${hint ? `\n  → ${hint}` : ''}`;
}
