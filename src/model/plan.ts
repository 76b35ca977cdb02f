import type { Holder } from './protect.js';
import { type MigrationFile, sameChecksum } from '../config/discover.js';
import type { SchemaFacts } from '../catalog/schema-facts.js';
import type { ExpectedObject, TrackedMigration } from '../engine/tracking.js';

/** Something wrong with a set, as data: many per set, each with the command to type. */
export interface Problem {
  kind: ProblemKind;
  message: string;
  hint: string;
  /** A refusal: the tables that hold rows, and how many (`--json` carries the numbers). */
  holders?: Holder[];
}

export type ProblemKind =
  | 'mismatch' // tracked as applied, expected schema missing
  | 'untracked' // expected schemas hold objects, nothing tracked
  | 'checksum' // an applied file changed
  | 'missing-file' // an applied migration's file is gone
  | 'dirty' // a migration failed (or was killed) outside a transaction
  | 'syntax' // a pending file does not parse
  | 'transaction-conflict' // a file with its own BEGIN/COMMIT that also needs to run outside a transaction
  | 'unrunnable' // a pending file holds what cannot run as sent to the server (COPY ... FROM STDIN)
  | 'refused' // data protection: a destructive step on a target that holds rows
  | 'drift' // a pending migration creates, without IF NOT EXISTS, what already exists
  | 'repair-refused' // --repair would run again a statement that changes rows, or record an edit that never ran
  | 'still-missing' // expected schema missing after the migrations ran
  | 'not-reversed' // rollback --check: a down that does not undo its migration
  | 'migration-failed'
  | 'connection'
  | 'lock'
  | 'config';

/** Everything known about a set before deciding: plain data, no connection. */
export interface SetState {
  set: string;
  schemas: readonly string[];
  files: readonly MigrationFile[];
  tracked: readonly TrackedMigration[];
  facts: readonly SchemaFacts[];
  /** Objects the applied migrations made that the catalog does not have. */
  missing: readonly ExpectedObject[];
  /** Schemas that a pending migration creates: not missing yet, but pending. */
  pendingSchemas: ReadonlySet<string>;
}

export interface Plan {
  set: string;
  /** Files to run, in version order. */
  pending: MigrationFile[];
  problems: Problem[];
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const list = (names: readonly string[]) => names.join(', ');

/**
 * Compares tracking with the files and the catalog, and decides what a
 * migrate would run. A plan with problems never runs.
 */
export function planMigrate(state: SetState): Plan {
  const problems: Problem[] = [];
  const files = new Map(state.files.map((f) => [f.version, f]));
  const trackedVersions = new Set(state.tracked.map((t) => t.version));
  const migrate = `schemata migrate ${state.set}`;

  for (const row of state.tracked) {
    const file = files.get(row.version);
    if (row.state !== 'applied') {
      problems.push({
        kind: 'dirty',
        message: `Set "${state.set}": ${row.file} is recorded as ${row.state}: it ran outside a transaction and did not finish, so part of it may be applied.`,
        hint: `Check what it left behind, make the file re-runnable, then run: ${migrate} --repair`,
      });
    } else if (!file) {
      problems.push({
        kind: 'missing-file',
        message: `Set "${state.set}": ${row.file} (version ${row.version}) is recorded as applied, but its file is gone from the set's directory.`,
        hint: `Restore the file from version control (git checkout -- <path>); applied migrations are never deleted.`,
      });
    } else if (!sameChecksum(file, row.checksum)) {
      problems.push({
        kind: 'checksum',
        message: `Set "${state.set}": ${file.file} changed after it was applied (checksum ${row.checksum.slice(0, 12)}… then, ${file.checksum.slice(0, 12)}… now).`,
        hint: `Restore the applied version and put the change in a new migration (schemata create ${state.set} <name>), or record the new checksum with: ${migrate} --repair`,
      });
    }
  }

  const appliedCount = state.tracked.filter((t) => t.state === 'applied').length;
  const missingSchemas = state.facts
    .filter((f) => !f.exists && !state.pendingSchemas.has(f.name))
    .map((f) => f.name);
  const missingOthers = notImplied(state.missing, missingSchemas);
  if (appliedCount > 0 && missingSchemas.length + missingOthers.length > 0) {
    const parts: string[] = [];
    if (missingSchemas.length > 0)
      parts.push(
        `${missingSchemas.length === 1 ? 'schema' : 'schemas'} ${list(missingSchemas)} ${missingSchemas.length === 1 ? 'is' : 'are'} missing`,
      );
    if (missingOthers.length > 0)
      parts.push(
        `${describeMissing(missingOthers)} ${missingOthers.length === 1 ? 'is' : 'are'} missing`,
      );
    const makers = [...new Set(state.missing.map((e) => e.file))];
    problems.push({
      kind: 'mismatch',
      message:
        `Set "${state.set}": tracking shows ${plural(appliedCount, 'migration')} applied, but ${parts.join(', and ')}: ` +
        `the migrations were tracked but never actually ran, or their objects were dropped since` +
        `${makers.length > 0 ? ` (made by ${list(makers)})` : ''}.`,
      hint: `${migrate} --repair`,
    });
  }
  const holding = state.facts.filter((f) => f.holdsObjects).map((f) => f.name);
  if (state.tracked.length === 0 && holding.length > 0) {
    problems.push({
      kind: 'untracked',
      message:
        `Set "${state.set}": ${holding.length === 1 ? 'schema' : 'schemas'} ${list(holding)} already ${holding.length === 1 ? 'holds' : 'hold'} objects, but no migration of this set is tracked: ` +
        `running the migrations would collide with what is there.`,
      hint: `If the database already matches the files, adopt it with: schemata baseline ${state.set}`,
    });
  }

  // A set whose files were not shipped (a build that left database/data out) cannot make its schemas.
  const absent = state.facts
    .filter((f) => !f.exists && !state.pendingSchemas.has(f.name))
    .map((f) => f.name);
  if (state.files.length === 0 && state.tracked.length === 0 && absent.length > 0) {
    problems.push({
      kind: 'missing-file',
      message:
        `Set "${state.set}" has no migration files, and ${absent.length === 1 ? 'schema' : 'schemas'} ${list(absent)} ${absent.length === 1 ? 'is' : 'are'} missing: ` +
        `nothing would make ${absent.length === 1 ? 'it' : 'them'}. Were the set's files shipped with this build?`,
      hint: `Ship the set's folder with the build (check .dockerignore and the "files" of package.json), or take the set out of schemata.json.`,
    });
  }

  const pending = state.files.filter((f) => !trackedVersions.has(f.version));
  return { set: state.set, pending, problems };
}

const MAX_LISTED = 8;

/**
 * What goes without saying is left out: the objects of a missing schema,
 * and the columns, constraints, indexes, triggers and policies of a missing
 * table.
 */
export function notImplied(
  missing: readonly ExpectedObject[],
  reportedSchemas: readonly string[],
): ExpectedObject[] {
  const goneSchemas = new Set([
    ...reportedSchemas,
    ...missing.filter((e) => e.kind === 'schema').map((e) => e.schema),
  ]);
  const goneParents = new Set(missing.filter((e) => PARENTS.has(e.kind)).map((e) => e.identity));
  return missing.filter((e) =>
    e.kind === 'schema'
      ? !reportedSchemas.includes(e.schema)
      : !goneSchemas.has(e.schema) && !(e.parent !== null && goneParents.has(e.parent)),
  );
}

const PARENTS: ReadonlySet<string> = new Set(['table', 'view', 'materialized view', 'domain']);

/** `table workspace.items (002_tables.sql), column ...` and how many more. */
export function describeMissing(missing: readonly ExpectedObject[]): string {
  const shown = missing.slice(0, MAX_LISTED).map((e) => `${e.kind} ${e.identity} (${e.file})`);
  return missing.length > MAX_LISTED
    ? `${shown.join(', ')} and ${missing.length - MAX_LISTED} more`
    : shown.join(', ');
}

/** After the migrations: every expected schema and object must exist. */
export function checkAfterMigrate(
  set: string,
  facts: readonly SchemaFacts[],
  missingObjects: readonly ExpectedObject[] = [],
): Problem[] {
  const missing = facts.filter((f) => !f.exists).map((f) => f.name);
  const others = notImplied(missingObjects, missing);
  if (missing.length === 0 && others.length > 0) {
    return [
      {
        kind: 'still-missing',
        message: `Set "${set}": ${describeMissing(others)} ${others.length === 1 ? 'is' : 'are'} still missing after migrations: this may indicate a permission or transaction issue, or SQL that creates them only under a condition.`,
        hint: `Check the migrations that make them, then run: schemata migrate ${set} --repair`,
      },
    ];
  }
  if (missing.length === 0) return [];
  return [
    {
      kind: 'still-missing',
      message:
        `Set "${set}": ${missing.length === 1 ? 'schema' : 'schemas'} ${list(missing)} ${missing.length === 1 ? 'is' : 'are'} still missing after migrations: ` +
        `no migration of the set creates ${missing.length === 1 ? 'it' : 'them'}, or this may indicate a permission or transaction issue.`,
      hint: `Add a migration that creates ${missing.length === 1 ? 'it' : 'them'} (CREATE SCHEMA IF NOT EXISTS ...), or remove ${missing.length === 1 ? 'it' : 'them'} from the set's "schemas" in database/schemata.json.`,
    },
  ];
}
