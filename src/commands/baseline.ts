import { compareVersions } from '../config/discover.js';
import { existingRefs } from '../catalog/existence.js';
import { readTracking } from '../engine/tracking.js';
import { ConfigError, ValidationError } from '../errors.js';
import { finalObjects } from '../model/baseline.js';
import { describeRef, refKey } from '../sql/operations.js';
import { adoptObjects, operationsOfFile } from '../engine/adopt.js';
import type { Run, RunOptions } from '../engine/context.js';
import { execute } from '../engine/execute.js';
import { entryOf, type Report, type SetReport } from '../engine/report.js';
import type { Task } from '../engine/tasks.js';

/**
 * `baseline <set> [--version V]`: adopt a database that already has the
 * objects. Checks that what the set's migrations up to V (default: all)
 * create is there, then records them as baselined without running them,
 * together with the objects that exist, each credited to the migration that
 * makes it: from then on they are checked like those of applied migrations.
 * What is missing is listed and refused unless `force`.
 */
function baselineTasks(
  run: Run,
  reports: Map<string, SetReport>,
  options: { version?: string | undefined; force: boolean },
): Task[] {
  return run.sets.map((set): Task => {
    const report = reports.get(set.config.name)!;
    const name = set.config.name;
    return {
      title: `${name} → ${set.target.display}: baseline`,
      run: async (setTitle) => {
        const upTo = options.version === undefined ? undefined : parseVersion(options.version);
        const client = await run.connection(set, { lock: true });
        const tracked = (await readTracking(client, name)).migrations;
        const trackedVersions = new Set(tracked.map((t) => t.version));
        const chosen = set.files.filter(
          (f) => upTo === undefined || compareVersions(f.version, upTo) <= 0,
        );
        const toRecord = chosen.filter((f) => !trackedVersions.has(f.version));
        if (toRecord.length === 0) {
          setTitle(
            `${name}: nothing to baseline${chosen.length === 0 ? ' (no file up to that version)' : ': every migration up to it is tracked'}`,
          );
          return;
        }
        const operations = await Promise.all(
          toRecord.map(async (file) => ({
            file: file.file,
            operations: await operationsOfFile(run.cwd, name, file),
          })),
        );
        const { creationSchema } = await existingRefs(client, []);
        const expected = finalObjects(operations, creationSchema);
        const { existing } = await existingRefs(
          client,
          expected.map((e) => e.ref),
        );
        const missing = expected.filter((e) => !existing.has(refKey(e.ref)));
        if (missing.length > 0 && !options.force) {
          const listed = missing
            .slice(0, 10)
            .map((e) => `${describeRef(e.ref)} (${e.file})`)
            .join(', ');
          throw new ValidationError(
            `Set "${name}": cannot baseline: the database lacks what these migrations make: ${listed}${missing.length > 10 ? ` and ${missing.length - 10} more` : ''}. Nothing was recorded.`,
            `Run the migrations instead (schemata migrate ${name}), baseline up to an earlier version (--version), or record them anyway with: schemata baseline ${name} --force`,
          );
        }
        if (missing.length > 0)
          report.warnings.push(
            `baseline recorded ${toRecord.length} migrations although ${missing.length} of their objects are missing (--force).`,
          );
        await run.ensureTracking(set);
        const objects = await adoptObjects(client, run.cwd, set, toRecord, {
          event: 'baselined',
          files: toRecord,
        });
        report.applied = toRecord.map((f) => entryOf(f));
        report.pending = set.files
          .filter((f) => !trackedVersions.has(f.version) && !toRecord.includes(f))
          .map((f) => entryOf(f));
        setTitle(
          `${name}: recorded ${toRecord.length} migration${toRecord.length === 1 ? '' : 's'} as applied, up to ${toRecord[toRecord.length - 1]!.file}, with ${objects} object${objects === 1 ? '' : 's'} they made`,
        );
      },
    };
  });
}

function parseVersion(version: string): string {
  if (!/^\d+$/.test(version.trim())) {
    throw new ConfigError(
      `--version "${version}" is not a migration version (its leading digits, e.g. 003 or 20250612152230).`,
      'Pass the version part of a migration file name.',
    );
  }
  return BigInt(version.trim()).toString();
}

/**
 * Adopts a database that already has the objects: records the set's
 * migrations up to `version` (default: all) as applied without running them,
 * after checking that what they make exists (refused, exit 3, unless `force`).
 *
 * @example
 * const report = await baseline({ set: 'data', version: '3' });
 */
export async function baseline(
  options: RunOptions & { set: string; version?: string; force?: boolean },
): Promise<Report> {
  return execute('baseline', { ...options, sets: [options.set] }, (run, reports) =>
    baselineTasks(run, reports, { version: options.version, force: options.force ?? false }),
  );
}
