import { relative } from 'node:path';
import { compareVersions, type MigrationFile } from '../config/discover.js';
import { existingObjects } from '../db/objects.js';
import { readTracking, recordWithoutRunning } from '../db/tracking.js';
import { ConfigError, ValidationError } from '../errors.js';
import { expectedObjects } from '../plan/expected.js';
import { describeObject, type Effects, objectKey } from '../sql/objects.js';
import { loadParser } from '../sql/parse.js';
import { readMigration } from '../sql/read.js';
import type { Run } from './context.js';
import { entryOf, type SetReport } from './report.js';
import type { Task } from './tasks.js';

/**
 * `baseline <set> [--version V]`: adopt a database that already has the
 * objects. Records the set's migrations up to V (default: all) as applied
 * without running them, after checking that what they make exists; what is
 * missing is listed and refused unless `force`.
 */
export function baselineTasks(run: Run, reports: Map<string, SetReport>, options: { version?: string | undefined; force: boolean }): Task[] {
  return run.sets.map((set): Task => {
    const report = reports.get(set.config.name)!;
    const name = set.config.name;
    return {
      title: `${name} → ${set.target.display}: baseline`,
      run: async (setTitle) => {
        const upTo = options.version === undefined ? undefined : parseVersion(options.version);
        const client = await run.connection(set, { lock: true });
        const tracked = await readTracking(client, name);
        const trackedVersions = new Set(tracked.map((t) => t.version));
        const chosen = set.files.filter((f) => upTo === undefined || compareVersions(f.version, upTo) <= 0);
        const toRecord = chosen.filter((f) => !trackedVersions.has(f.version));
        if (toRecord.length === 0) {
          setTitle(`${name}: nothing to baseline${chosen.length === 0 ? ' (no file up to that version)' : ': every migration up to it is tracked'}`);
          return;
        }
        const parser = await loadParser();
        const rows = toRecord.map((file) => ({ file, effects: effectsOfFile(parser, run.cwd, name, file) }));
        // What must exist once these are recorded: the tracked ones and these, replayed in order.
        const all = [
          ...tracked.filter((t) => t.state === 'applied').map((t) => ({ version: t.version, file: t.file, effects: t.effects })),
          ...rows.map((r) => ({ version: r.file.version, file: r.file.file, effects: r.effects })),
        ].sort((a, b) => compareVersions(a.version, b.version));
        const expected = expectedObjects(all);
        const existing = await existingObjects(client, expected.map((e) => e.ref));
        const missing = expected.filter((e) => !existing.has(objectKey(e.ref)));
        if (missing.length > 0 && !options.force) {
          const listed = missing.slice(0, 10).map((e) => `${describeObject(e.ref)} (${e.by})`).join(', ');
          throw new ValidationError(
            `Set "${name}": cannot baseline: the database lacks what these migrations make: ${listed}${missing.length > 10 ? ` and ${missing.length - 10} more` : ''}. Nothing was recorded.`,
            `Run the migrations instead (schemata migrate ${name}), baseline up to an earlier version (--version), or record them anyway with: schemata baseline ${name} --force`,
          );
        }
        if (missing.length > 0) report.warnings.push(`baseline recorded ${toRecord.length} migrations although ${missing.length} of their objects are missing (--force).`);
        await run.ensureTracking(set);
        await recordWithoutRunning(client, name, rows);
        report.applied = toRecord.map((f) => entryOf(f));
        report.pending = set.files.filter((f) => !trackedVersions.has(f.version) && !toRecord.includes(f)).map((f) => entryOf(f));
        setTitle(`${name}: recorded ${toRecord.length} migration${toRecord.length === 1 ? '' : 's'} as applied, up to ${toRecord[toRecord.length - 1]!.file}`);
      },
    };
  });
}

function parseVersion(version: string): string {
  if (!/^\d+$/.test(version.trim())) {
    throw new ConfigError(`--version "${version}" is not a migration version (its leading digits, e.g. 003 or 20250612152230).`, 'Pass the version part of a migration file name.');
  }
  return BigInt(version.trim()).toString();
}

function effectsOfFile(parser: Awaited<ReturnType<typeof loadParser>>, cwd: string, set: string, file: MigrationFile): Effects {
  const parsed = readMigration(parser, file.sql);
  if (!parsed.ok) {
    const path = relative(cwd, file.path) || file.path;
    throw new ValidationError(
      `Set "${set}": ${path}:${parsed.problem.at.line}:${parsed.problem.at.column} does not parse: ${parsed.problem.message}. Nothing was recorded.`,
      `Fix the file (schemata lint ${set}), then run the baseline again.`,
    );
  }
  return parsed.effects;
}
