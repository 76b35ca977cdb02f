import { relative } from 'node:path';
import { discoverMigrations } from '../config/discover.js';
import { envValue, parseSplitMode, readSettings } from '../config/env.js';
import { loadProjectConfig, selectSets } from '../config/file.js';
import { EXIT, type ExitCode } from '../errors.js';
import { type LintFinding, lintFile, withSize } from '../sql/lint.js';
import { resolveTargets } from '../targets/targets.js';
import { loadParser } from '../sql/parse.js';
import type { Client } from './connect.js';
import type { RunOptions } from './context.js';
import { asSchemataError } from './execute.js';

export interface LintOptions extends Pick<
  RunOptions,
  'cwd' | 'config' | 'sets' | 'env' | 'envFile'
> {
  /** Fail when there are more warnings than this (ESLint's --max-warnings); default: warnings never fail. */
  maxWarnings?: number | undefined;
}

export interface LintReport {
  command: 'lint';
  mode: 'single' | 'split';
  ok: boolean;
  exitCode: ExitCode;
  errors: number;
  warnings: number;
  sets: Array<{ name: string; files: number; findings: Array<LintFinding & { file: string }> }>;
  error?: { message: string; hint?: string | undefined } | undefined;
  /** What lint could not do and said instead (a database that did not answer when sizing warnings). */
  notes?: string[];
}

/**
 * Parses every migration file of the sets with the real PostgreSQL parser
 * and runs the lint rules. Needs no database. Syntax errors fail the run
 * (exit 3); warnings do when there are more than `maxWarnings`.
 */
export async function lintSets(options: LintOptions): Promise<LintReport> {
  const cwd = options.cwd ?? process.cwd();
  const report: LintReport = {
    command: 'lint',
    mode: 'single',
    ok: true,
    exitCode: EXIT.ok,
    errors: 0,
    warnings: 0,
    sets: [],
  };
  try {
    report.mode = parseSplitMode(envValue(options.env ?? process.env, 'SPLIT_DB_MODE'))
      ? 'split'
      : 'single';
    const project = loadProjectConfig({ cwd, configPath: options.config });
    const sets = selectSets(project, options.sets ?? []);
    const files = sets.map(discoverMigrations);
    const parser = await loadParser();
    sets.forEach((set, i) => {
      const findings = files[i]!.flatMap((file) =>
        lintFile(parser, file.sql).map((f) => ({
          ...f,
          file: relative(cwd, file.path) || file.path,
        })),
      );
      report.sets.push({ name: set.name, files: files[i]!.length, findings });
    });
    await sizeTables(report, options, cwd, sets);
  } catch (error) {
    const failure = asSchemataError(error);
    return {
      ...report,
      ok: false,
      exitCode: failure.exitCode,
      error: { message: failure.message, hint: failure.hint },
    };
  }
  const all = report.sets.flatMap((s) => s.findings);
  report.errors = all.filter((f) => f.severity === 'error').length;
  report.warnings = all.length - report.errors;
  if (report.errors > 0) {
    report.ok = false;
    report.exitCode = EXIT.invalid;
    report.error = {
      message: `${report.errors} error${report.errors === 1 ? '' : 's'}: these files would fail to migrate.`,
      hint: 'Fix each error at the position shown.',
    };
  } else if (options.maxWarnings !== undefined && report.warnings > options.maxWarnings) {
    report.ok = false;
    report.exitCode = EXIT.invalid;
    report.error = {
      message: `${report.warnings} warning${report.warnings === 1 ? '' : 's'}, more than --max-warnings ${options.maxWarnings} allows.`,
      hint: 'Fix the warnings, or raise --max-warnings.',
    };
  }
  return report;
}

/**
 * With a database URL (the environment, then .env, as migrate reads them),
 * each lock-hazard warning says how big its table is there: one query per
 * database for every table named. Never the embedded database, never a
 * failure of lint: a database that does not answer leaves the warnings as
 * they are, with a note.
 */
async function sizeTables(
  report: LintReport,
  options: LintOptions,
  cwd: string,
  sets: Parameters<typeof resolveTargets>[1],
): Promise<void> {
  if (!report.sets.some((s) => s.findings.some((f) => f.table))) return;
  let targets;
  try {
    const settings = readSettings({
      processEnv: { ...process.env, ...options.env },
      cwd,
      envFile: options.envFile,
    });
    targets = resolveTargets(settings, sets).targets;
  } catch {
    return; // no usable URL: lint needs none
  }
  const byUrl = new Map<
    string,
    { target: (typeof targets)[number] & { kind: 'url' }; sets: LintReport['sets'] }
  >();
  for (const target of targets) {
    const set = report.sets.find((s) => s.name === target.set);
    if (target.kind !== 'url' || !set) continue;
    const entry = byUrl.get(target.url) ?? { target, sets: [] };
    entry.sets.push(set);
    byUrl.set(target.url, entry);
  }
  if (byUrl.size === 0) return;
  const { connect } = await import('./connect.js');
  for (const { target, sets: linted } of byUrl.values()) {
    if (!linted.some((s) => s.findings.some((f) => f.table))) continue;
    try {
      const client = await connect(
        { set: target.set, database: target.database, url: target.url, display: target.display },
        target.variable,
      );
      try {
        const sized = await sizeFindings(
          client,
          linted.flatMap((s) => s.findings),
        );
        for (const set of linted) set.findings = sized.splice(0, set.findings.length);
      } finally {
        await client.end().catch(() => {});
      }
    } catch (error) {
      (report.notes ??= []).push(
        `The lock-hazard warnings are not sized: ${asSchemataError(error).message}`,
      );
    }
  }
}

/**
 * The findings with the size of each lock-hazard finding's table in the
 * database `client` reaches, after its name (sql/lint.ts withSize), in one
 * query; the others as they are. lint with a URL and `migrate --dry-run`
 * size their warnings through this.
 */
export async function sizeFindings<F extends LintFinding>(
  client: Client,
  findings: readonly F[],
): Promise<F[]> {
  const names = findings.flatMap((f) => (f.table ? [f.table] : []));
  if (names.length === 0) return [...findings];
  const { readTableSizes } = await import('../catalog/table-sizes.js');
  const sizes = await readTableSizes(client, names);
  return findings.map((f) => ({ ...f, ...withSize(f, f.table ? sizes.get(f.table) : undefined) }));
}

/** Compiler-style lines: `file:line:column severity rule message`, then the totals. */
export function formatLint(report: LintReport): string {
  const lines: string[] = [];
  for (const set of report.sets) {
    for (const f of set.findings) {
      lines.push(`${f.file}:${f.at.line}:${f.at.column} ${f.severity} ${f.rule} ${f.message}`);
      lines.push(...f.fix.split('\n').map((l) => `    ${l}`));
    }
  }
  const files = report.sets.reduce((n, s) => n + s.files, 0);
  lines.push(
    `${files} file${files === 1 ? '' : 's'} checked: ${report.errors} error${report.errors === 1 ? '' : 's'}, ${report.warnings} warning${report.warnings === 1 ? '' : 's'}`,
  );
  return lines.join('\n');
}
