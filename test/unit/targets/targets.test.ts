import { describe, expect, it } from 'vitest';
import type { Env, Settings } from '../../../src/config/env.js';
import type { SetConfig } from '../../../src/config/file.js';
import { displayOf, resolveTargets, urlVariable } from '../../../src/targets/targets.js';
import { expectConfigError } from '../helpers.js';

const SETS: SetConfig[] = [
  {
    name: 'primary',
    dir: '/p/database/primary',
    database: 'primary',
    schemas: ['config', 'customer'],
  },
  { name: 'data', dir: '/p/database/data', database: 'data', schemas: ['workspace', 'reference'] },
];

const PRIMARY = 'postgres://app:pr1mary-Secret@primary.example.com:5432/app';
const DATA = 'postgresql://loader:d4ta-Secret@data.example.com:6543/warehouse';

function settings(env: Env, options: { splitMode?: boolean; production?: boolean } = {}): Settings {
  return {
    env,
    envFile: undefined,
    splitMode: options.splitMode ?? false,
    lockTimeoutS: 60,
    statementLockTimeoutS: 10,
    waitS: 0,
    production: options.production ?? false,
  };
}

describe('urlVariable', () => {
  it.each([
    ['primary', 'PRIMARY_DATABASE_URL'],
    ['data', 'DATA_DATABASE_URL'],
    ['audit_log', 'AUDIT_LOG_DATABASE_URL'],
  ])('%s → %s', (database, variable) => {
    expect(urlVariable(database)).toBe(variable);
  });
});

describe('resolveTargets in single mode', () => {
  it('runs every set on PRIMARY_DATABASE_URL', () => {
    const resolved = resolveTargets(settings({ PRIMARY_DATABASE_URL: PRIMARY }), SETS);
    expect(resolved.mode).toBe('single');
    expect(resolved.warnings).toEqual([]);
    expect(resolved.targets).toEqual([
      {
        kind: 'url',
        set: 'primary',
        database: 'primary',
        variable: 'PRIMARY_DATABASE_URL',
        url: PRIMARY,
        display: 'postgres://app:***@primary.example.com:5432/app',
      },
      {
        kind: 'url',
        set: 'data',
        database: 'primary',
        variable: 'PRIMARY_DATABASE_URL',
        url: PRIMARY,
        display: 'postgres://app:***@primary.example.com:5432/app',
      },
    ]);
  });

  it('accepts DATABASE_URL in place of PRIMARY_DATABASE_URL', () => {
    const resolved = resolveTargets(settings({ DATABASE_URL: PRIMARY }), SETS);
    expect(resolved.targets.map((t) => [t.kind, t.database, t.variable])).toEqual([
      ['url', 'primary', 'DATABASE_URL'],
      ['url', 'primary', 'DATABASE_URL'],
    ]);
    expect(resolved.targets.every((t) => t.kind === 'url' && t.url === PRIMARY)).toBe(true);
  });

  it('PRIMARY_DATABASE_URL wins over DATABASE_URL', () => {
    const resolved = resolveTargets(
      settings({ DATABASE_URL: 'postgres://other@elsewhere/db', PRIMARY_DATABASE_URL: PRIMARY }),
      SETS,
    );
    expect(resolved.targets[0]).toMatchObject({
      kind: 'url',
      variable: 'PRIMARY_DATABASE_URL',
      url: PRIMARY,
    });
  });

  it('an empty PRIMARY_DATABASE_URL counts as unset (falls back to DATABASE_URL)', () => {
    const resolved = resolveTargets(
      settings({ PRIMARY_DATABASE_URL: '', DATABASE_URL: PRIMARY }),
      SETS,
    );
    expect(resolved.targets[0]).toMatchObject({
      kind: 'url',
      variable: 'DATABASE_URL',
      url: PRIMARY,
    });
  });

  it('with no URL at all, every set runs on the embedded database', () => {
    const resolved = resolveTargets(settings({}), SETS);
    expect(resolved).toEqual({
      mode: 'single',
      warnings: [],
      targets: [
        { kind: 'embedded', set: 'primary', database: 'primary', variable: 'PRIMARY_DATABASE_URL' },
        { kind: 'embedded', set: 'data', database: 'primary', variable: 'PRIMARY_DATABASE_URL' },
      ],
    });
  });

  it('DATABASE_URL beside a different PRIMARY_DATABASE_URL → a warning naming the one ignored', () => {
    const { targets, warnings } = resolveTargets(
      settings({ PRIMARY_DATABASE_URL: PRIMARY, DATABASE_URL: DATA }),
      SETS,
    );
    expect(targets[0]).toMatchObject({ variable: 'PRIMARY_DATABASE_URL' });
    expect(warnings).toEqual([
      'DATABASE_URL is set but ignored: PRIMARY_DATABASE_URL is set too, and it is the PRIMARY database.',
    ]);
    expect(
      resolveTargets(settings({ PRIMARY_DATABASE_URL: PRIMARY, DATABASE_URL: PRIMARY }), SETS)
        .warnings,
    ).toEqual([]);
  });

  it('PGHOST and PGDATABASE without a URL → a warning that schemata reads URLs only, then the embedded database', () => {
    const { targets, warnings } = resolveTargets(
      settings({ PGHOST: 'db.example.com', PGDATABASE: 'app' }),
      SETS,
    );
    expect(targets[0]).toMatchObject({ kind: 'embedded' });
    expect(warnings[0]).toBe(
      'PGHOST, PGDATABASE are set, but schemata reads its databases from URLs only: set PRIMARY_DATABASE_URL (or DATABASE_URL), for example postgres://user:password@host:5432/database.',
    );
  });

  it('DATA_DATABASE_URL set in single mode → a warning that it is ignored', () => {
    const resolved = resolveTargets(
      settings({ PRIMARY_DATABASE_URL: PRIMARY, DATA_DATABASE_URL: DATA }),
      SETS,
    );
    expect(resolved.warnings).toHaveLength(1);
    expect(resolved.warnings[0]).toContain('DATA_DATABASE_URL');
    expect(resolved.warnings[0]).toContain('SPLIT_DB_MODE');
    expect(resolved.warnings.join(' ')).not.toContain('d4ta-Secret');
    expect(resolved.targets.every((t) => t.database === 'primary')).toBe(true);
  });

  it('DATA_DATABASE_URL without any primary URL in single mode: still the embedded database, with the warning', () => {
    const resolved = resolveTargets(settings({ DATA_DATABASE_URL: DATA }), SETS);
    expect(resolved.warnings.join(' ')).toContain('DATA_DATABASE_URL');
    expect(resolved.targets.map((t) => t.kind)).toEqual(['embedded', 'embedded']);
  });

  it('in production, a missing URL is exit 2 naming PRIMARY_DATABASE_URL', () => {
    const error = expectConfigError(
      () => resolveTargets(settings({}, { production: true }), SETS),
      'PRIMARY_DATABASE_URL',
      'production',
    );
    expect(error.hint).toContain('PRIMARY_DATABASE_URL');
  });

  it('in production, a URL is fine', () => {
    const resolved = resolveTargets(
      settings({ PRIMARY_DATABASE_URL: PRIMARY }, { production: true }),
      SETS,
    );
    expect(resolved.targets.map((t) => t.kind)).toEqual(['url', 'url']);
  });
});

describe('resolveTargets in split mode', () => {
  it('runs the data set on DATA_DATABASE_URL', () => {
    const resolved = resolveTargets(
      settings({ PRIMARY_DATABASE_URL: PRIMARY, DATA_DATABASE_URL: DATA }, { splitMode: true }),
      SETS,
    );
    expect(resolved.mode).toBe('split');
    expect(resolved.warnings).toEqual([]);
    expect(resolved.targets).toEqual([
      {
        kind: 'url',
        set: 'primary',
        database: 'primary',
        variable: 'PRIMARY_DATABASE_URL',
        url: PRIMARY,
        display: 'postgres://app:***@primary.example.com:5432/app',
      },
      {
        kind: 'url',
        set: 'data',
        database: 'data',
        variable: 'DATA_DATABASE_URL',
        url: DATA,
        display: 'postgresql://loader:***@data.example.com:6543/warehouse',
      },
    ]);
  });

  it('DATABASE_URL stands in for the primary database there too', () => {
    const resolved = resolveTargets(
      settings({ DATABASE_URL: PRIMARY, DATA_DATABASE_URL: DATA }, { splitMode: true }),
      SETS,
    );
    expect(resolved.targets.map((t) => [t.database, t.variable])).toEqual([
      ['primary', 'DATABASE_URL'],
      ['data', 'DATA_DATABASE_URL'],
    ]);
  });

  it('PRIMARY without a DATA URL → exit 2 naming DATA_DATABASE_URL', () => {
    const error = expectConfigError(
      () => resolveTargets(settings({ PRIMARY_DATABASE_URL: PRIMARY }, { splitMode: true }), SETS),
      'DATA_DATABASE_URL',
    );
    expect(error.message).not.toContain('pr1mary-Secret');
  });

  it('DATA without a PRIMARY URL → exit 2 naming PRIMARY_DATABASE_URL', () => {
    expectConfigError(
      () => resolveTargets(settings({ DATA_DATABASE_URL: DATA }, { splitMode: true }), SETS),
      'PRIMARY_DATABASE_URL',
    );
  });

  it('with no URL at all, two embedded databases', () => {
    const resolved = resolveTargets(settings({}, { splitMode: true }), SETS);
    expect(resolved.targets).toEqual([
      { kind: 'embedded', set: 'primary', database: 'primary', variable: 'PRIMARY_DATABASE_URL' },
      { kind: 'embedded', set: 'data', database: 'data', variable: 'DATA_DATABASE_URL' },
    ]);
  });

  it('in production, a missing DATA URL is exit 2 naming it', () => {
    expectConfigError(
      () =>
        resolveTargets(
          settings({ PRIMARY_DATABASE_URL: PRIMARY }, { splitMode: true, production: true }),
          SETS,
        ),
      'DATA_DATABASE_URL',
      'production',
    );
  });

  it('only the selected sets need their URL', () => {
    const resolved = resolveTargets(
      settings({ PRIMARY_DATABASE_URL: PRIMARY }, { splitMode: true }),
      [SETS[0]!],
    );
    expect(resolved.targets).toHaveLength(1);
    expect(resolved.targets[0]).toMatchObject({ kind: 'url', set: 'primary' });
  });
});

describe('resolveTargets with a bad URL', () => {
  const PASSWORD = 'Hunter2-Very-Secret';
  it.each([
    ['an invalid port', `postgres://app:${PASSWORD}@db.example.com:notaport/app`],
    ['a port out of range', `postgres://app:${PASSWORD}@db.example.com:99999/app`],
    ['an unencoded / in the password', `postgres://app:${PASSWORD}/x@db.example.com:5432/app`],
    ['a mysql:// scheme', `mysql://root:${PASSWORD}@localhost:3306/app`],
    ['an http:// scheme', `http://root:${PASSWORD}@localhost/app`],
    [
      'a percent-encoded password and a bad port',
      `postgres://app:${encodeURIComponent(PASSWORD + '@!')}@db:bad/app`,
    ],
    [
      'a password in the query string and a bad port',
      `postgres://db.example.com:bad/app?user=app&password=${PASSWORD}`,
    ],
    ['a libpq key=value string', `host=db.example.com user=app password=${PASSWORD} dbname=app`],
  ])('%s → exit 2 naming the variable, without the password', (_what, url) => {
    const error = expectConfigError(
      () => resolveTargets(settings({ PRIMARY_DATABASE_URL: url }), SETS),
      'PRIMARY_DATABASE_URL',
    );
    expect(error.message).not.toContain(PASSWORD);
    expect(error.message).not.toContain(encodeURIComponent(PASSWORD));
    expect(error.hint ?? '').not.toContain(PASSWORD);
  });

  it('a bad DATA URL in split mode names DATA_DATABASE_URL', () => {
    const error = expectConfigError(
      () =>
        resolveTargets(
          settings(
            { PRIMARY_DATABASE_URL: PRIMARY, DATA_DATABASE_URL: `mysql://x:${PASSWORD}@h/db` },
            { splitMode: true },
          ),
          SETS,
        ),
      'DATA_DATABASE_URL',
      'mysql:',
    );
    expect(error.message).not.toContain(PASSWORD);
  });

  it('the display of a good URL is redacted, the url is kept for connecting', () => {
    const url = `postgres://app:${PASSWORD}@db.example.com/app?sslmode=require`;
    const [target] = resolveTargets(settings({ PRIMARY_DATABASE_URL: url }), SETS).targets;
    expect(target).toMatchObject({ kind: 'url', url });
    if (target?.kind !== 'url') throw new Error('expected a url target');
    expect(target.display).toBe('postgres://app:***@db.example.com/app?sslmode=require');
    expect(target.display).not.toContain(PASSWORD);
  });
});

describe('displayOf: the target shown, built from the parts pg connects with', () => {
  it.each([
    ['postgres://app:s3cret@db:5432/app', 'postgres://app:***@db:5432/app'],
    [
      'postgres://postgres:postgres@127.0.0.1:54432/dev',
      'postgres://postgres:***@127.0.0.1:54432/dev',
    ],
    [
      'postgresql://app:p%40ss@db.example.com/app?sslmode=require&application_name=x',
      'postgresql://app:***@db.example.com/app?sslmode=require&application_name=x',
    ],
    ['postgres://app@db/app?pass%77ord=hunter2', 'postgres://app@db/app?password=***'],
    ['postgres://app@db/app', 'postgres://app@db/app'],
  ])('%s → %s', (url, shown) => {
    expect(displayOf(url)).toBe(shown);
  });
});

describe('an unencoded # in a URL', () => {
  it('is a configuration error naming it, not a connection to somewhere else', () => {
    const settings = {
      splitMode: false,
      lockTimeoutS: 60,
      statementLockTimeoutS: 5,
      waitS: 0,
      production: false,
      env: { PRIMARY_DATABASE_URL: 'postgres://app:12#ss@db/app' },
      envFile: undefined,
    } as Settings;
    const error = expectConfigError(
      () =>
        resolveTargets(settings, [
          { name: 'primary', dir: '/p', database: 'primary', schemas: ['config'] },
        ]),
      'unencoded "#"',
    );
    expect(error.message).not.toContain('12#ss');
  });
});
