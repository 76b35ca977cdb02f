import { describe, expect, it } from 'vitest';
import type { MigrationFile } from '../../../src/config/discover.js';
import type { ExpectedObject, TrackedMigration } from '../../../src/db/tracking.js';
import { planRepair } from '../../../src/plan/repair.js';

const file = (version: string, checksum = `c${version}`): MigrationFile => ({
  version,
  name: `m${version}`,
  file: `00${version}_m${version}.sql`,
  path: `/p/00${version}_m${version}.sql`,
  checksum,
  rawChecksum: checksum,
  sql: '',
});
const row = (f: MigrationFile, state: TrackedMigration['state'] = 'applied', checksum = f.checksum): TrackedMigration => ({
  version: f.version,
  name: f.name,
  file: f.file,
  checksum,
  state,
  event: state === 'applied' ? 'applied' : state,
  appliedAt: new Date(0),
  eventId: null,
  durationMs: 1,
});
const F1 = file('1');
const F2 = file('2');
const F3 = file('3');
const expectation = (f: MigrationFile): ExpectedObject => ({ kind: 'table', identity: 'x.t', schema: 'x', name: 't', parent: null, version: f.version, file: f.file });

describe('planRepair', () => {
  it('runs again, in version order, the migrations whose objects are missing and the dirty ones, with the pending ones', () => {
    const plan = { set: 'data', pending: [F3], problems: [{ kind: 'mismatch' as const, message: 'm', hint: 'h' }, { kind: 'dirty' as const, message: 'd', hint: 'h' }] };
    const repair = planRepair({ files: [F1, F2, F3], tracked: [row(F1), row(F2, 'failed')], missing: [expectation(F1)] }, plan);
    expect(repair.rerun.map((f) => f.version)).toEqual(['1', '2']);
    expect(repair.plan.pending.map((f) => f.version)).toEqual(['1', '2', '3']);
    expect(repair.plan.problems).toEqual([]);
    expect(repair.notes).toEqual(['001_m1.sql runs again: objects it made are missing.', '002_m2.sql runs again: it is recorded as failed.']);
  });

  it('records a changed checksum when nothing of that migration is missing, and runs it again when something is', () => {
    const changed = file('2', 'new');
    const plan = { set: 'data', pending: [], problems: [{ kind: 'checksum' as const, message: 'c', hint: 'h' }] };
    expect(planRepair({ files: [F1, changed], tracked: [row(F1), row(changed, 'applied', 'old')], missing: [] }, plan).rechecksum).toEqual([changed]);
    const again = planRepair({ files: [F1, changed], tracked: [row(F1), row(changed, 'applied', 'old')], missing: [expectation(changed)] }, plan);
    expect(again.rechecksum).toEqual([]);
    expect(again.rerun).toEqual([changed]);
  });

  it('keeps stopping on what it cannot fix: a dirty migration whose file is gone, an untracked database', () => {
    const plan = {
      set: 'data',
      pending: [],
      problems: [
        { kind: 'dirty' as const, message: 'd', hint: 'h' },
        { kind: 'untracked' as const, message: 'u', hint: 'h' },
      ],
    };
    const repair = planRepair({ files: [F1], tracked: [row(F1), row(F2, 'failed')], missing: [] }, plan);
    expect(repair.rerun).toEqual([]);
    expect(repair.plan.problems.map((p) => p.kind)).toEqual(['untracked', 'missing-file']);
    expect(repair.plan.problems[1]!.message).toContain('--repair would run 002_m2.sql (version 2) again, but its file is gone');
  });
});
