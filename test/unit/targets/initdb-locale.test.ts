import { describe, expect, it } from 'vitest';
import { initdbLocaleFlags } from '../../../src/targets/embedded.js';

describe('initdbLocaleFlags: the embedded cluster is UTF-8 whatever the shell', () => {
  it.each([
    ['no locale (env -i)', {}, ['--encoding=UTF8']],
    ['C', { LANG: 'C' }, ['--encoding=UTF8']],
    ['a UTF-8 locale, kept', { LANG: 'en_US.UTF-8' }, ['--encoding=UTF8']],
    [
      'LC_ALL wins over LANG',
      { LC_ALL: 'de_DE.utf8', LANG: 'en_US.ISO-8859-1' },
      ['--encoding=UTF8'],
    ],
    [
      'a Latin-1 locale gives way to C',
      { LANG: 'en_US.ISO-8859-1' },
      ['--encoding=UTF8', '--locale=C'],
    ],
  ])('%s', (_name, env: Record<string, string>, flags) => {
    expect(initdbLocaleFlags(env)).toEqual(flags);
  });
});
