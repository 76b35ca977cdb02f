import { describe, expect, it } from 'vitest';
import { maskSecrets, parseConninfo, redactUrl } from '../../../src/targets/redact.js';

describe('redactUrl', () => {
  it.each([
    ['postgres://app:s3cret@db:5432/app', 'postgres://app:***@db:5432/app'],
    [
      'postgresql://app:s3cret@db.example.com/app?sslmode=require',
      'postgresql://app:***@db.example.com/app?sslmode=require',
    ],
    ['postgres://app:p%40ss%3Aw0rd@db/app', 'postgres://app:***@db/app'],
    ['postgres://app:s%C3%A9cret@db/app', 'postgres://app:***@db/app'],
    ['postgres://app:p@ss@db/app', 'postgres://app:***@db/app'],
    [
      'postgres://db/app?user=u&password=hunter2&sslmode=require',
      'postgres://db/app?user=u&password=***&sslmode=require',
    ],
    ['postgres://app:s3cret@db/app?sslpassword=other', 'postgres://app:***@db/app?sslpassword=***'],
    ['postgres://app:s3cret@db/app?PassWord=x', 'postgres://app:***@db/app?PassWord=***'],
    // unparseable URLs: the part between the user's ':' and the last '@'
    ['postgres://app:s3cret@db:notaport/app', 'postgres://app:***@db:notaport/app'],
    ['postgres://app:s3cret@db:99999/app', 'postgres://app:***@db:99999/app'],
    ['postgres://app:se/cr@et@db:bad/app', 'postgres://app:***@db:bad/app'],
    ['postgres://:s3cret@db:bad/app', 'postgres://:***@db:bad/app'],
    ['mysql://root:s3cret@localhost/db', 'mysql://root:***@localhost/db'],
    // an unencoded '#' would make a URL parser read the rest as a fragment
    ['postgres://app:123#ss@db/app', 'postgres://app:***@db/app'],
    ['host=db user=app password=TopSecret dbname=app', 'host=db user=app password=*** dbname=app'],
  ])('%s → %s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });

  it.each([
    'postgres://app@db/app',
    'postgres://db:5432/app',
    'postgres://app@db/app?sslmode=require&application_name=x',
  ])('leaves a URL without a password alone: %s', (url) => {
    expect(redactUrl(url)).toBe(url);
  });

  it.each([
    ['an unparseable URL with ?password=', 'postgres://db:bad/app?password=TopSecret123'],
    [
      'an unparseable URL with a user password and ?password=',
      'postgres://app:TopSecret123@db:bad/app?password=TopSecret123',
    ],
    ['a libpq key=value string', 'host=db user=app password=TopSecret123 dbname=app'],
  ])('never shows the password: %s', (_what, url) => {
    expect(redactUrl(url)).not.toContain('TopSecret123');
  });
});

describe('maskSecrets: by where a password stands, never by its letters', () => {
  it.each([
    [
      'a URL in a sentence',
      'cannot connect to postgres://app:s3cret@db:5432/app (PRIMARY_DATABASE_URL): refused.',
      'cannot connect to postgres://app:***@db:5432/app (PRIMARY_DATABASE_URL): refused.',
    ],
    [
      'a percent-encoded password key in the query',
      'postgres://db/app?user=u&pass%77ord=hunter2&sslmode=require',
      'postgres://db/app?user=u&pass%77ord=***&sslmode=require',
    ],
    [
      'key=value with spaces around =',
      'host=db user=app password = secret dbname=app',
      'host=db user=app password = *** dbname=app',
    ],
    [
      'key=value, quoted',
      "host=db password='two words' dbname=app",
      'host=db password=*** dbname=app',
    ],
    [
      'a PASSWORD literal in SQL an error echoes',
      "Statement: CREATE ROLE app LOGIN PASSWORD 'hunter2'.",
      "Statement: CREATE ROLE app LOGIN PASSWORD '***'.",
    ],
    [
      'ENCRYPTED PASSWORD with a doubled quote',
      "ALTER ROLE app ENCRYPTED PASSWORD 'it''s'",
      "ALTER ROLE app ENCRYPTED PASSWORD '***'",
    ],
    [
      'an E literal with a backslash-escaped quote',
      "ALTER ROLE app PASSWORD E'it\\'s hunter2' LOGIN",
      "ALTER ROLE app PASSWORD '***' LOGIN",
    ],
    [
      'a literal left open by a syntax error',
      'syntax error (near "CREATE ROLE app PASSWORD \'hunter2")',
      "syntax error (near \"CREATE ROLE app PASSWORD '***'",
    ],
    [
      'a query text cut short inside the literal',
      "pid 42 (psql, active): CREATE ROLE app PASSWORD 'hunt",
      "pid 42 (psql, active): CREATE ROLE app PASSWORD '***'",
    ],
  ])('%s', (_name, text, expected) => {
    expect(maskSecrets(text)).toBe(expected);
  });

  it.each(['postgres', 'ation', 'app', '2', 'data'])(
    'a password that is a common word (%j) leaves the rest of the text alone',
    (password) => {
      const url = `postgres://postgres:${password}@127.0.0.1:54432/dev`;
      const text = `migration 009_x.sql failed on ${url}; applied 2 of 3 in database data, "exitCode": 2`;
      expect(maskSecrets(text)).toBe(
        'migration 009_x.sql failed on postgres://postgres:***@127.0.0.1:54432/dev; applied 2 of 3 in database data, "exitCode": 2',
      );
      const json = JSON.stringify({ target: url, exitCode: 2, message: 'applied' });
      expect(JSON.parse(maskSecrets(json))).toEqual({
        target: 'postgres://postgres:***@127.0.0.1:54432/dev',
        exitCode: 2,
        message: 'applied',
      });
    },
  );

  it('property: no password of any characters survives in a URL, a query or a key=value string', () => {
    const alphabet = 'abcXYZ019!#$%^&*()-_=+[]{};:,.<>/?|~`@ \'"';
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 500; i++) {
      const length = 1 + Math.floor(random() * 20);
      const password = Array.from(
        { length },
        () => alphabet[Math.floor(random() * alphabet.length)],
      ).join('');
      const encoded = encodeURIComponent(password);
      for (const text of [
        `cannot connect to postgres://app:${encoded}@db:5432/app now`,
        `postgres://app@db/app?password=${encoded}&sslmode=disable`,
        `host=db password='${password.replace(/['\\]/g, (c) => `\\${c}`)}' dbname=app`,
      ]) {
        const masked = maskSecrets(text);
        if (encoded.length >= 4) expect(masked, text).not.toContain(encoded);
        expect(masked, text).toContain('***');
      }
    }
  });
});

describe('a libpq key=value string, read as libpq reads it', () => {
  it.each([
    [
      "host=db password = 'a b\\'c\\\\d' dbname=app",
      [
        ['host', 'db'],
        ['password', "a b'c\\d"],
        ['dbname', 'app'],
      ],
    ],
    [
      'host=db password= x dbname =app',
      [
        ['host', 'db'],
        ['password', 'x'],
        ['dbname', 'app'],
      ],
    ],
    [
      "password='' user=app",
      [
        ['password', ''],
        ['user', 'app'],
      ],
    ],
  ])('%s', (text, pairs) => {
    expect(parseConninfo(text)?.map((p) => [p.key, p.value])).toEqual(pairs);
  });

  it.each(["host=db password='open", 'host=db password', 'not a connection string'])(
    '%s is not one',
    (text) => {
      expect(parseConninfo(text)).toBeUndefined();
    },
  );

  it('is shown from its parts: the password ***, the other values quoted when they need it', () => {
    expect(redactUrl("host=db  password = 'se cr\\'et' application_name='my app'")).toBe(
      "host=db password=*** application_name='my app'",
    );
  });
});
