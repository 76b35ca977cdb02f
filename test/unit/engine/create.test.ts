import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { discoverMigrations } from '../../../src/config/discover.js';
import { createMigration, migrationTemplate, versionAt } from '../../../src/engine/create.js';
import { expectConfigError, tempDir, writeTree } from '../helpers.js';

describe('versionAt', () => {
  it.each([
    ['2025-06-12T15:22:30Z', '20250612152230'],
    ['2025-06-12T15:22:30.999Z', '20250612152230'],
    ['2000-01-01T00:00:00Z', '20000101000000'],
    ['2025-12-31T23:59:59Z', '20251231235959'],
    // the UTC time, whatever the offset it was written with
    ['2025-06-12T17:22:30+02:00', '20250612152230'],
  ])('%s → %s', (iso, expected) => {
    expect(versionAt(new Date(iso))).toBe(expected);
  });
});

describe('migrationTemplate', () => {
  it('names the migration, the set, its schemas and the UTC time, and says how to roll back', () => {
    const text = migrationTemplate(
      { name: 'primary', schemas: ['config', 'customer'] },
      'add_email',
      new Date('2025-06-12T15:22:30.456Z'),
    );
    expect(text).toContain('-- Migration: add_email');
    expect(text).toContain('-- Set: primary (schemas config, customer)');
    expect(text).toContain('-- Created: 2025-06-12T15:22:30Z');
    expect(text).toContain('Purpose');
    expect(text).toContain('Rollback');
    expect(text).toContain('schemata migrate primary --repair');
    // only comments: an empty migration that parses to nothing
    expect(text.split('\n').every((line) => line === '' || line.startsWith('--'))).toBe(true);
  });
});

describe('createMigration', () => {
  const now = new Date('2025-06-12T15:22:30Z');
  let dir: string;
  let remove: () => void;
  beforeEach(() => {
    ({ dir, remove } = tempDir('schemata-create-'));
    writeTree(dir, {
      'database/primary/001_create_schemas.sql': 'CREATE SCHEMA IF NOT EXISTS config;\n',
      'database/data': null,
    });
  });
  afterEach(() => {
    remove();
  });

  it('writes <set dir>/<version>_<name>.sql from the template and returns its path', () => {
    const path = createMigration({ cwd: dir, set: 'primary', name: 'add_customer_email', now });
    expect(path).toBe(join(dir, 'database', 'primary', '20250612152230_add_customer_email.sql'));
    expect(readFileSync(path, 'utf8')).toBe(
      migrationTemplate(
        { name: 'primary', schemas: ['config', 'customer'] },
        'add_customer_email',
        now,
      ),
    );
    const files = discoverMigrations({
      name: 'primary',
      dir: join(dir, 'database', 'primary'),
      database: 'primary',
      schemas: ['config'],
    });
    expect(files.map((f) => f.version)).toEqual(['1', '20250612152230']);
  });

  it('writes into the named set only', () => {
    const path = createMigration({ cwd: dir, set: 'data', name: 'load', now });
    expect(path).toBe(join(dir, 'database', 'data', '20250612152230_load.sql'));
    expect(readFileSync(path, 'utf8')).toContain('-- Set: data (schemas workspace, reference)');
    expect(readdirSync(join(dir, 'database', 'primary'))).toEqual(['001_create_schemas.sql']);
  });

  it.each([
    ['Add Customer Email', 'add_customer_email'],
    ['add-customer-email', 'add_customer_email'],
    ['  trimmed  ', 'trimmed'],
    ['v2', 'v2'],
  ])('normalises the name %j to %s', (name, expected) => {
    const path = createMigration({ cwd: dir, set: 'primary', name, now });
    expect(path).toBe(join(dir, 'database', 'primary', `20250612152230_${expected}.sql`));
  });

  it('honours --config', () => {
    writeTree(dir, { 'elsewhere/sets/main': null });
    writeFileSync(
      join(dir, 'elsewhere', 'schemata.json'),
      JSON.stringify({
        sets: [{ name: 'main', dir: 'sets/main', database: 'primary', schemas: ['app'] }],
      }),
    );
    const path = createMigration({
      cwd: dir,
      config: 'elsewhere/schemata.json',
      set: 'main',
      name: 'init',
      now,
    });
    expect(path).toBe(join(dir, 'elsewhere', 'sets', 'main', '20250612152230_init.sql'));
  });

  it.each([
    'drop;table',
    '../cli/evil',
    '',
    '   ',
    '_leading',
    'smile😀',
    'a/b',
    'name.sql',
    "x'y",
  ])('rejects the name %j (exit 2) and writes nothing', (name) => {
    expectConfigError(() => createMigration({ cwd: dir, set: 'primary', name, now }), 'name');
    expect(readdirSync(join(dir, 'database', 'primary'))).toEqual(['001_create_schemas.sql']);
    expect(readdirSync(join(dir, 'database'))).toEqual(['data', 'primary']);
  });

  it('an unknown set is exit 2 naming it', () => {
    expectConfigError(() => createMigration({ cwd: dir, set: 'nope', name: 'x', now }), '"nope"');
  });

  it('a version the set already has (a second create in one second, a file of that version): the next free second, the file untouched', () => {
    const first = createMigration({ cwd: dir, set: 'primary', name: 'first', now });
    writeFileSync(first, 'SELECT 1;\n');
    writeFileSync(join(dir, 'database', 'primary', '020250612152231_padded.sql'), 'SELECT 2;\n'); // version 20250612152231 too
    const second = createMigration({ cwd: dir, set: 'primary', name: 'second', now });
    expect(second).toBe(join(dir, 'database', 'primary', '20250612152232_second.sql'));
    expect(readFileSync(first, 'utf8')).toBe('SELECT 1;\n');
    const files = discoverMigrations({
      name: 'primary',
      dir: join(dir, 'database', 'primary'),
      database: 'primary',
      schemas: ['config'],
    });
    expect(files.map((f) => f.version)).toEqual([
      '1',
      '20250612152230',
      '20250612152231',
      '20250612152232',
    ]);
  });
});
