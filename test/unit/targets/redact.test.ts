import { describe, expect, it } from 'vitest';
import { redactUrl, scrub, secretsOfUrl } from '../../../src/targets/redact.js';

describe('redactUrl', () => {
  it.each([
    ['postgres://app:s3cret@db:5432/app', 'postgres://app:***@db:5432/app'],
    ['postgresql://app:s3cret@db.example.com/app?sslmode=require', 'postgresql://app:***@db.example.com/app?sslmode=require'],
    ['postgres://app:p%40ss%3Aw0rd@db/app', 'postgres://app:***@db/app'],
    ['postgres://app:s%C3%A9cret@db/app', 'postgres://app:***@db/app'],
    ['postgres://app:p@ss@db/app', 'postgres://app:***@db/app'],
    ['postgres://db/app?user=u&password=hunter2&sslmode=require', 'postgres://db/app?user=u&password=***&sslmode=require'],
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
    ['an unparseable URL with a user password and ?password=', 'postgres://app:TopSecret123@db:bad/app?password=TopSecret123'],
    ['a libpq key=value string', 'host=db user=app password=TopSecret123 dbname=app'],
  ])('never shows the password: %s', (_what, url) => {
    expect(redactUrl(url)).not.toContain('TopSecret123');
  });
});

describe('secretsOfUrl', () => {
  it.each([
    ['postgres://app:s3cret@db/app', ['s3cret']],
    ['postgres://app:p%40ss%3Aw0rd@db/app', ['p%40ss%3Aw0rd', 'p@ss:w0rd']],
    ['postgres://db/app?password=hunter2', ['hunter2']],
    ['postgres://app:one@db/app?password=two', ['one', 'two']],
    ['postgres://app:s3cret@db:bad/app', ['s3cret']],
    ['postgres://app:p%40ss@db:bad/app', ['p%40ss', 'p@ss']],
    ['postgres://app@db/app', []],
    ['postgres://db/app?password=', []],
  ])('%s → %j', (url, expected) => {
    expect(secretsOfUrl(url).sort()).toEqual([...expected].sort());
  });

  it('finds a query password in an unparseable URL', () => {
    expect(secretsOfUrl('postgres://db:bad/app?password=TopSecret123')).toContain('TopSecret123');
  });
});

describe('scrub', () => {
  it('replaces every occurrence of every secret', () => {
    expect(scrub('s3cret and s3cret again, and hunter2', ['s3cret', 'hunter2'])).toBe('*** and *** again, and ***');
  });

  it('replaces the longest secret first, so a secret containing another goes whole', () => {
    expect(scrub('pass=abcdef, short=abc', ['abc', 'abcdef'])).toBe('pass=***, short=***');
  });

  it('handles secrets with regular-expression characters literally', () => {
    expect(scrub('password a.b*c(d) but not aXbc', ['a.b*c(d)'])).toBe('password *** but not aXbc');
  });

  it('ignores empty secrets and leaves a text without secrets alone', () => {
    expect(scrub('nothing to hide', ['', 'absent'])).toBe('nothing to hide');
    expect(scrub('nothing to hide', [])).toBe('nothing to hide');
  });

  it('scrubs both the raw and decoded password from an error text', () => {
    const url = 'postgres://app:p%40ss%3Aw0rd@db/app';
    const text = `password authentication failed for "p@ss:w0rd" (url ${url})`;
    const out = scrub(text, secretsOfUrl(url));
    expect(out).not.toContain('p@ss:w0rd');
    expect(out).not.toContain('p%40ss%3Aw0rd');
    expect(out).toBe('password authentication failed for "***" (url postgres://app:***@db/app)');
  });
});
