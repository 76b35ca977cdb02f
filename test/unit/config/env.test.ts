import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  envValue,
  loadEnv,
  parseLockTimeout,
  parseSplitMode,
  readSettings,
} from '../../../src/config/env.js';
import { expectConfigError, tempDir } from '../helpers.js';

describe('parseSplitMode', () => {
  it.each([
    ['true', true],
    ['1', true],
    ['yes', true],
    ['TRUE', true],
    ['Yes', true],
    [' true ', true],
    ['false', false],
    ['0', false],
    ['no', false],
    ['FALSE', false],
    ['', false],
    [undefined, false],
  ])('SPLIT_DB_MODE=%j → %s', (value, expected) => {
    expect(parseSplitMode(value)).toBe(expected);
  });

  it.each(['maybe', 'on', 'off', '2', 'truthy', 'y'])(
    'SPLIT_DB_MODE=%j is a configuration error naming the variable',
    (value) => {
      const error = expectConfigError(() => parseSplitMode(value), 'SPLIT_DB_MODE', `"${value}"`);
      expect(error.hint).toContain('true or false');
    },
  );
});

describe('parseLockTimeout', () => {
  it.each([
    [undefined, 60],
    ['0', 0],
    ['30', 30],
    [' 45 ', 45],
    ['2.5', 2.5],
    [0, 0],
    [120, 120],
  ])('%j → %s seconds', (value, expected) => {
    expect(parseLockTimeout(value, 'SCHEMATA_LOCK_TIMEOUT')).toBe(expected);
  });

  it.each(['abc', '-1', '', '   ', 'Infinity', '10s', Number.NaN, -5])(
    '%j is a configuration error naming its source',
    (value) => {
      expectConfigError(
        () => parseLockTimeout(value, 'SCHEMATA_LOCK_TIMEOUT'),
        'SCHEMATA_LOCK_TIMEOUT',
        'not a number of seconds',
      );
    },
  );

  it('names the source it was given (the flag rather than the variable)', () => {
    const error = expectConfigError(
      () => parseLockTimeout('soon', '--lock-timeout'),
      '--lock-timeout',
      '"soon"',
    );
    expect(error.message).not.toContain('SCHEMATA_LOCK_TIMEOUT');
  });
});

describe('envValue', () => {
  it.each([
    [{ A: 'x' }, 'x'],
    [{ A: '  x  ' }, 'x'],
    [{ A: '' }, undefined],
    [{ A: '   ' }, undefined],
    [{}, undefined],
  ])('%j → %j', (env, expected) => {
    expect(envValue(env, 'A')).toBe(expected);
  });
});

describe('loadEnv and readSettings', () => {
  let dir: string;
  let remove: () => void;
  beforeEach(() => {
    ({ dir, remove } = tempDir('schemata-env-'));
  });
  afterEach(() => {
    remove();
  });

  it('reads .env from the working directory, with the process environment winning', () => {
    writeFileSync(
      join(dir, '.env'),
      [
        'PRIMARY_DATABASE_URL=postgres://file:file@localhost/file',
        'DATA_DATABASE_URL=postgres://data:data@localhost/data',
        'SPLIT_DB_MODE=true',
        '',
      ].join('\n'),
    );
    const processEnv = { PRIMARY_DATABASE_URL: 'postgres://proc:proc@localhost/proc' };
    const { env, envFile } = loadEnv({ processEnv, cwd: dir });
    expect(envFile).toBe(join(dir, '.env'));
    expect(env.PRIMARY_DATABASE_URL).toBe('postgres://proc:proc@localhost/proc');
    expect(env.DATA_DATABASE_URL).toBe('postgres://data:data@localhost/data');
    expect(env.SPLIT_DB_MODE).toBe('true');
    // never writes into the environment it was given
    expect(processEnv).toEqual({ PRIMARY_DATABASE_URL: 'postgres://proc:proc@localhost/proc' });
  });

  it('does not touch process.env', () => {
    writeFileSync(join(dir, '.env'), 'SCHEMATA_UNIT_TEST_ONLY_VARIABLE=from-file\n');
    loadEnv({ processEnv: {}, cwd: dir });
    expect(process.env.SCHEMATA_UNIT_TEST_ONLY_VARIABLE).toBeUndefined();
  });

  it('settings come from .env when the process does not set them', () => {
    writeFileSync(
      join(dir, '.env'),
      'SPLIT_DB_MODE=yes\nSCHEMATA_LOCK_TIMEOUT=15\nNODE_ENV=production\n',
    );
    const settings = readSettings({ processEnv: {}, cwd: dir });
    expect(settings).toMatchObject({
      splitMode: true,
      lockTimeoutS: 15,
      production: true,
      envFile: join(dir, '.env'),
    });
  });

  it('the process overrides .env for SPLIT_DB_MODE and the lock timeout', () => {
    writeFileSync(join(dir, '.env'), 'SPLIT_DB_MODE=true\nSCHEMATA_LOCK_TIMEOUT=15\n');
    const settings = readSettings({
      processEnv: { SPLIT_DB_MODE: 'false', SCHEMATA_LOCK_TIMEOUT: '0' },
      cwd: dir,
    });
    expect(settings.splitMode).toBe(false);
    expect(settings.lockTimeoutS).toBe(0);
  });

  it('a missing implicit .env is fine: the process environment alone', () => {
    const { env, envFile } = loadEnv({ processEnv: { SPLIT_DB_MODE: '1' }, cwd: dir });
    expect(envFile).toBeUndefined();
    expect(env).toEqual({ SPLIT_DB_MODE: '1' });
    expect(readSettings({ processEnv: {}, cwd: dir })).toEqual({
      env: {},
      envFile: undefined,
      splitMode: false,
      lockTimeoutS: 60,
      statementLockTimeoutS: 5,
      waitS: 0,
      production: false,
    });
  });

  it('a missing explicit --env-file is a configuration error naming the file', () => {
    expectConfigError(
      () => loadEnv({ processEnv: {}, cwd: dir, envFile: 'nope.env' }),
      'nope.env',
      '--env-file',
    );
    expectConfigError(
      () => readSettings({ processEnv: {}, cwd: dir, envFile: 'nope.env' }),
      'nope.env',
    );
  });

  it('an explicit --env-file is read instead of .env, relative to the working directory', () => {
    writeFileSync(join(dir, '.env'), 'SPLIT_DB_MODE=false\n');
    writeFileSync(join(dir, 'staging.env'), 'SPLIT_DB_MODE=true\n');
    const settings = readSettings({ processEnv: {}, cwd: dir, envFile: 'staging.env' });
    expect(settings.envFile).toBe(join(dir, 'staging.env'));
    expect(settings.splitMode).toBe(true);
  });

  it('a bad SPLIT_DB_MODE in .env is exit 2 naming the variable', () => {
    writeFileSync(join(dir, '.env'), 'SPLIT_DB_MODE=sometimes\n');
    expectConfigError(
      () => readSettings({ processEnv: {}, cwd: dir }),
      'SPLIT_DB_MODE',
      'sometimes',
    );
  });

  it('an empty SPLIT_DB_MODE means single mode', () => {
    expect(readSettings({ processEnv: { SPLIT_DB_MODE: '' }, cwd: dir }).splitMode).toBe(false);
  });

  it.each([
    [{ SCHEMATA_LOCK_TIMEOUT: 'abc' }, undefined, 'SCHEMATA_LOCK_TIMEOUT'],
    [{ SCHEMATA_LOCK_TIMEOUT: '-3' }, undefined, 'SCHEMATA_LOCK_TIMEOUT'],
    [{}, -1, '--lock-timeout'],
    [{}, Number.NaN, '--lock-timeout'],
  ])('lock timeout %j / flag %s is exit 2 naming %s', (processEnv, lockTimeout, source) => {
    expectConfigError(() => readSettings({ processEnv, cwd: dir, lockTimeout }), source);
  });

  it.each([
    [{}, undefined, 60],
    [{ SCHEMATA_LOCK_TIMEOUT: '0' }, undefined, 0],
    [{ SCHEMATA_LOCK_TIMEOUT: '' }, undefined, 60],
    [{ SCHEMATA_LOCK_TIMEOUT: '90' }, undefined, 90],
    [{ SCHEMATA_LOCK_TIMEOUT: '90' }, 5, 5],
    [{ SCHEMATA_LOCK_TIMEOUT: 'junk' }, 0, 0],
  ])('lock timeout env %j with flag %s → %s', (processEnv, lockTimeout, expected) => {
    expect(readSettings({ processEnv, cwd: dir, lockTimeout }).lockTimeoutS).toBe(expected);
  });

  it.each([
    ['production', true],
    [' production ', true],
    ['development', false],
    ['test', false],
    [undefined, false],
  ])('NODE_ENV=%j → production %s', (value, expected) => {
    const processEnv = value === undefined ? {} : { NODE_ENV: value };
    expect(readSettings({ processEnv, cwd: dir }).production).toBe(expected);
  });
});
