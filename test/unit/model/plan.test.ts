import { describe, expect, it } from 'vitest';
import type { MigrationFile } from '../../../src/config/discover.js';
import type { SchemaFacts } from '../../../src/catalog/schema-facts.js';
import type { ExpectedObject, TrackedMigration } from '../../../src/engine/tracking.js';
import { checkAfterMigrate, planMigrate, type SetState } from '../../../src/model/plan.js';

const sum = (c: string) => c.repeat(64);

function file(version: string, name: string, checksum = sum(version.slice(-1))): MigrationFile {
  const fileName = `${version.padStart(3, '0')}_${name}.sql`;
  return {
    version,
    name,
    file: fileName,
    path: `/p/database/primary/${fileName}`,
    checksum,
    rawChecksum: checksum,
    sql: `-- ${name}\n`,
  };
}

function tracked(f: MigrationFile, overrides: Partial<TrackedMigration> = {}): TrackedMigration {
  return {
    version: f.version,
    name: f.name,
    file: f.file,
    checksum: f.checksum,
    state: 'applied',
    event: 'applied',
    appliedAt: new Date('2025-01-01T00:00:00Z'),
    durationMs: 12,
    eventId: null,
    ...overrides,
  };
}

const missingSchema = (name: string): SchemaFacts => ({
  name,
  exists: false,
  holdsObjects: false,
  hasData: false,
});
const emptySchema = (name: string): SchemaFacts => ({
  name,
  exists: true,
  holdsObjects: false,
  hasData: false,
});
const fullSchema = (name: string, hasData = true): SchemaFacts => ({
  name,
  exists: true,
  holdsObjects: true,
  hasData,
});

const F1 = file('1', 'create_schemas');
const F2 = file('2', 'config_tables');
const F3 = file('3', 'more_tables');

function state(overrides: Partial<SetState>): SetState {
  return {
    set: 'primary',
    schemas: ['config', 'customer'],
    files: [F1, F2],
    tracked: [],
    facts: [],
    missing: [],
    pendingSchemas: new Set(),
    ...overrides,
  };
}

const expected = (
  kind: ExpectedObject['kind'],
  identity: string,
  schema: string,
  parent: string | null = null,
): ExpectedObject => ({
  name: identity.split('.').pop()!,
  kind,
  identity,
  schema,
  parent,
  version: '2',
  file: '002_config_tables.sql',
});

describe('planMigrate', () => {
  it('a schema that a pending migration creates is pending, not missing', () => {
    const plan = planMigrate(
      state({
        files: [F1, F2, F3],
        tracked: [tracked(F1), tracked(F2)],
        facts: [fullSchema('config'), missingSchema('customer')],
        pendingSchemas: new Set(['customer']),
      }),
    );
    expect(plan.problems).toEqual([]);
    expect(plan.pending).toEqual([F3]);
  });

  it('a missing table is named once: its columns, constraints and indexes go without saying', () => {
    const missing = [
      expected('table', 'config.settings', 'config'),
      expected('column', 'config.settings.key', 'config', 'config.settings'),
      expected('index', 'config.settings_pkey', 'config', 'config.settings'),
      expected('constraint', 'flags_name_check on config.flags', 'config', 'config.flags'),
    ];
    const plan = planMigrate(
      state({
        tracked: [tracked(F1), tracked(F2)],
        facts: [fullSchema('config'), fullSchema('customer')],
        missing,
      }),
    );
    expect(plan.problems).toHaveLength(1);
    expect(plan.problems[0]!.message).toContain(
      'table config.settings (002_config_tables.sql), constraint flags_name_check on config.flags (002_config_tables.sql) are missing',
    );
    expect(plan.problems[0]!.message).not.toContain('config.settings.key');
  });

  it('fresh database: nothing tracked, schemas missing → no problems, everything pending', () => {
    const plan = planMigrate(
      state({ facts: [missingSchema('config'), missingSchema('customer')] }),
    );
    expect(plan).toEqual({ set: 'primary', pending: [F1, F2], problems: [] });
  });

  it('an empty existing schema is fresh as well', () => {
    const plan = planMigrate(state({ facts: [emptySchema('config'), missingSchema('customer')] }));
    expect(plan.problems).toEqual([]);
    expect(plan.pending.map((f) => f.version)).toEqual(['1', '2']);
  });

  it('everything applied and present → nothing to do', () => {
    const plan = planMigrate(
      state({
        tracked: [tracked(F1), tracked(F2)],
        facts: [fullSchema('config'), emptySchema('customer')],
      }),
    );
    expect(plan).toEqual({ set: 'primary', pending: [], problems: [] });
  });

  it('mismatch: tracked as applied but a schema is missing', () => {
    const plan = planMigrate(
      state({
        tracked: [tracked(F1), tracked(F2)],
        facts: [fullSchema('config'), missingSchema('customer')],
      }),
    );
    expect(plan.problems).toHaveLength(1);
    const [problem] = plan.problems;
    expect(problem!.kind).toBe('mismatch');
    expect(problem!.message).toContain('"primary"');
    expect(problem!.message).toContain('2 migrations');
    expect(problem!.message).toContain('customer');
    expect(problem!.message).not.toContain('config,');
    expect(problem!.message).toMatch(/schema customer is missing/);
    expect(problem!.hint).toContain('schemata migrate primary --repair');
  });

  it('mismatch names every missing schema and the singular count', () => {
    const plan = planMigrate(
      state({
        files: [F1],
        tracked: [tracked(F1)],
        facts: [missingSchema('config'), missingSchema('customer')],
      }),
    );
    const [problem] = plan.problems;
    expect(problem!.kind).toBe('mismatch');
    expect(problem!.message).toContain('1 migration applied');
    expect(problem!.message).toContain('schemas config, customer are missing');
    expect(problem!.hint).toContain('schemata migrate primary --repair');
  });

  it('the mismatch hint uses the set name', () => {
    const plan = planMigrate(
      state({ set: 'data', tracked: [tracked(F1)], facts: [missingSchema('workspace')] }),
    );
    expect(plan.problems.map((p) => p.kind)).toEqual(['mismatch']);
    expect(plan.problems[0]!.hint).toContain('schemata migrate data --repair');
  });

  it('untracked: nothing tracked but a schema holds objects', () => {
    const plan = planMigrate(
      state({ facts: [fullSchema('config', false), missingSchema('customer')] }),
    );
    expect(plan.problems).toHaveLength(1);
    const [problem] = plan.problems;
    expect(problem!.kind).toBe('untracked');
    expect(problem!.message).toContain('config');
    expect(problem!.message).not.toContain('customer');
    expect(problem!.hint).toContain('schemata baseline primary');
    // the files would still be pending, but a plan with problems never runs
    expect(plan.pending).toEqual([F1, F2]);
  });

  it('untracked names every schema that holds objects', () => {
    const plan = planMigrate(
      state({ set: 'data', facts: [fullSchema('workspace'), fullSchema('reference')] }),
    );
    expect(plan.problems.map((p) => p.kind)).toEqual(['untracked']);
    expect(plan.problems[0]!.message).toContain('workspace, reference');
    expect(plan.problems[0]!.hint).toContain('schemata baseline data');
  });

  it('objects in a schema are not "untracked" when the set has tracked migrations', () => {
    const plan = planMigrate(
      state({ tracked: [tracked(F1)], facts: [fullSchema('config'), fullSchema('customer')] }),
    );
    expect(plan.problems).toEqual([]);
    expect(plan.pending).toEqual([F2]);
  });

  it('checksum: an applied file changed', () => {
    const changed = file('2', 'config_tables', sum('b'));
    const plan = planMigrate(
      state({
        files: [F1, changed],
        tracked: [tracked(F1), tracked(F2, { checksum: sum('a') })],
        facts: [fullSchema('config'), fullSchema('customer')],
      }),
    );
    expect(plan.problems).toHaveLength(1);
    const [problem] = plan.problems;
    expect(problem!.kind).toBe('checksum');
    expect(problem!.message).toContain('002_config_tables.sql');
    expect(problem!.message).toContain('a'.repeat(12));
    expect(problem!.message).toContain('b'.repeat(12));
    expect(problem!.hint).toContain('--repair');
    expect(plan.pending).toEqual([]);
  });

  it('missing-file: an applied migration has no file', () => {
    const plan = planMigrate(
      state({
        files: [F1],
        tracked: [tracked(F1), tracked(F2)],
        facts: [fullSchema('config'), fullSchema('customer')],
      }),
    );
    expect(plan.problems).toHaveLength(1);
    expect(plan.problems[0]!.kind).toBe('missing-file');
    expect(plan.problems[0]!.message).toContain('002_config_tables.sql');
    expect(plan.problems[0]!.message).toContain('version 2');
    expect(plan.pending).toEqual([]);
  });

  it.each(['failed', 'running'] as const)('dirty: a migration recorded as %s', (rowState) => {
    const plan = planMigrate(
      state({
        tracked: [tracked(F1), tracked(F2, { state: rowState })],
        facts: [fullSchema('config'), fullSchema('customer')],
      }),
    );
    expect(plan.problems).toHaveLength(1);
    const [problem] = plan.problems;
    expect(problem!.kind).toBe('dirty');
    expect(problem!.message).toContain('002_config_tables.sql');
    expect(problem!.message).toContain(rowState);
    expect(problem!.hint).toContain('schemata migrate primary --repair');
  });

  it('a dirty row is reported even when its file changed or is gone (dirty takes precedence)', () => {
    const plan = planMigrate(
      state({
        files: [F1],
        tracked: [tracked(F1), tracked(F2, { state: 'failed' })],
        facts: [fullSchema('config'), fullSchema('customer')],
      }),
    );
    expect(plan.problems.map((p) => p.kind)).toEqual(['dirty']);
  });

  it('a failed first migration alone does not count as applied (no mismatch)', () => {
    const plan = planMigrate(
      state({
        tracked: [tracked(F1, { state: 'failed' })],
        facts: [missingSchema('config'), missingSchema('customer')],
      }),
    );
    expect(plan.problems.map((p) => p.kind)).toEqual(['dirty']);
  });

  it('pending holds only the versions not tracked, in file order', () => {
    const plan = planMigrate(
      state({
        files: [F1, F2, F3],
        tracked: [tracked(F1), tracked(F2)],
        facts: [fullSchema('config'), fullSchema('customer')],
      }),
    );
    expect(plan.problems).toEqual([]);
    expect(plan.pending).toEqual([F3]);
  });

  it('a file older than the latest applied one is still pending', () => {
    const plan = planMigrate(
      state({
        files: [F1, F2, F3],
        tracked: [tracked(F1), tracked(F3)],
        facts: [fullSchema('config'), fullSchema('customer')],
      }),
    );
    expect(plan.pending.map((f) => f.version)).toEqual(['2']);
  });

  it('several problems are all reported', () => {
    const changed = file('1', 'create_schemas', sum('c'));
    const plan = planMigrate(
      state({
        files: [changed],
        tracked: [tracked(F1), tracked(F2)],
        facts: [missingSchema('config'), fullSchema('customer')],
      }),
    );
    expect(plan.problems.map((p) => p.kind).sort()).toEqual([
      'checksum',
      'mismatch',
      'missing-file',
    ]);
  });
});

describe('checkAfterMigrate', () => {
  it('no problem when every expected schema exists', () => {
    expect(checkAfterMigrate('primary', [emptySchema('config'), fullSchema('customer')])).toEqual(
      [],
    );
    expect(checkAfterMigrate('primary', [])).toEqual([]);
  });

  it('still-missing names the missing schema', () => {
    const problems = checkAfterMigrate('primary', [
      fullSchema('config'),
      missingSchema('customer'),
    ]);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.kind).toBe('still-missing');
    expect(problems[0]!.message).toContain('"primary"');
    expect(problems[0]!.message).toContain('schema customer is still missing');
    expect(problems[0]!.message).not.toContain('config');
    expect(problems[0]!.hint).toContain('CREATE SCHEMA IF NOT EXISTS');
  });

  it('still-missing names every missing schema', () => {
    const problems = checkAfterMigrate('data', [
      missingSchema('workspace'),
      missingSchema('reference'),
    ]);
    expect(problems.map((p) => p.kind)).toEqual(['still-missing']);
    expect(problems[0]!.message).toContain('schemas workspace, reference are still missing');
    expect(problems[0]!.message).toContain('"data"');
  });
});
