import {
  appendFileSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { madeProject } from '../support/cleanup.js';
import { json, runCli } from '../support/cli.js';
import { freshDatabase, trackedVersions } from '../support/db.js';
import { makeProject, REPO, SMALL_SETS } from '../support/project.js';

/*
 * bin/schemata.js compiles the bundled CLI with V8's code cache, kept beside
 * the bundle, one file a command. Each case runs an installed copy of the
 * built CLI (its bin/, dist/bin/main.cjs and package.json; the repository's
 * node_modules) so that its caches are its own.
 */
function installedCopy(): { root: string; bin: string; bundle: string } {
  const root = mkdtempSync(join(tmpdir(), 'schemata-installed-'));
  // Removed with the file's projects: the link to node_modules goes, not what it points to.
  madeProject(root);
  mkdirSync(join(root, 'bin'));
  mkdirSync(join(root, 'dist', 'bin'), { recursive: true });
  copyFileSync(join(REPO, 'bin', 'schemata.js'), join(root, 'bin', 'schemata.js'));
  copyFileSync(join(REPO, 'dist', 'bin', 'main.cjs'), join(root, 'dist', 'bin', 'main.cjs'));
  copyFileSync(join(REPO, 'package.json'), join(root, 'package.json'));
  symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'));
  return {
    root,
    bin: join(root, 'bin', 'schemata.js'),
    bundle: join(root, 'dist', 'bin', 'main.cjs'),
  };
}

const version = (
  JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }
).version;

/** The cache's first line: what it was made for. */
const keyOf = (cache: string) => readFileSync(cache, 'latin1').split('\n', 1)[0] ?? '';

/** The file's identity and time: a cache replaced (written, then renamed into place) changes both. */
const stamp = (path: string) => {
  const s = statSync(path, { bigint: true });
  return `${s.ino}:${s.mtimeNs}`;
};

describe('the code cache of the CLI (bin/schemata.js)', () => {
  it('the first run of a command leaves its cache, made for this Node.js and this very bundle; the next runs compile from it and leave it as it is', async () => {
    const copy = installedCopy();
    const cwd = makeProject(SMALL_SETS);
    const first = await runCli(['--version'], { cwd, bin: copy.bin });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout.trim()).toBe(version);
    const cache = `${copy.bundle}.other.cache`;
    const bundle = statSync(copy.bundle);
    expect(keyOf(cache)).toMatch(
      new RegExp(`^${process.version} ${process.arch} .* ${bundle.size} ${bundle.mtimeMs} help$`),
    );
    const made = stamp(cache);
    const again = await runCli(['--version'], { cwd, bin: copy.bin });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.trim()).toBe(version);
    expect(stamp(cache), 'V8 took the cache: the run did not replace it').toBe(made);

    // A command that parses SQL and connects: libpg-query, left out of the bundle, is loaded through the launcher.
    const url = await freshDatabase();
    const env = { PRIMARY_DATABASE_URL: url };
    const applied = await runCli(['migrate', '--json'], { cwd, env, bin: copy.bin });
    expect(applied.code, applied.stderr).toBe(0);
    expect(json(applied).sets.map((s) => s.applied.length)).toEqual([2, 2]);
    const migrateCache = `${copy.bundle}.migrate.cache`;
    const madeByApply = stamp(migrateCache);
    const noop = await runCli(['migrate', '--json'], { cwd, env, bin: copy.bin });
    expect(noop.code, noop.stderr).toBe(0);
    expect(json(noop).sets.map((s) => s.applied.length)).toEqual([0, 0]);
    expect(stamp(migrateCache)).toBe(madeByApply);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2']);
  });

  it("a cache made by a command's --help (as the build leaves them) is used by the command's first real run, which leaves its own; the next keeps that", async () => {
    const copy = installedCopy();
    const cwd = makeProject(SMALL_SETS);
    const env = { PRIMARY_DATABASE_URL: await freshDatabase() };
    const help = await runCli(['status', '--help'], { cwd, bin: copy.bin });
    expect(help.code, help.stderr).toBe(0);
    const cache = `${copy.bundle}.status.cache`;
    expect(keyOf(cache)).toMatch(/ help$/);
    const first = await runCli(['status', '--json'], { cwd, env, bin: copy.bin });
    expect(first.code, first.stderr).toBe(0);
    expect(keyOf(cache)).toMatch(/ run$/);
    const made = stamp(cache);
    expect((await runCli(['status', '--json'], { cwd, env, bin: copy.bin })).code).toBe(0);
    expect(stamp(cache)).toBe(made);
    // Help again does not take the place of a real run's cache.
    expect((await runCli(['status', '--help'], { cwd, bin: copy.bin })).code).toBe(0);
    expect(stamp(cache)).toBe(made);
  });

  it('a cache made for another build of the bundle is not used: the run compiles the bundle itself and replaces the cache', async () => {
    const copy = installedCopy();
    const cwd = makeProject();
    expect((await runCli(['--version'], { cwd, bin: copy.bin })).code).toBe(0);
    const cache = `${copy.bundle}.other.cache`;
    // Rebuilt: the same length (what V8 itself checks), another modification time.
    const later = new Date(Date.now() + 60_000);
    utimesSync(copy.bundle, later, later);
    const made = stamp(cache);
    const run = await runCli(['--version'], { cwd, bin: copy.bin });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe(version);
    expect(stamp(cache)).not.toBe(made);
    expect(keyOf(cache)).toMatch(new RegExp(` ${statSync(copy.bundle).mtimeMs} help$`));
  });

  it('a damaged cache is not used: V8 rejects it, the run compiles the bundle, prints the same and replaces it with one the next run takes', async () => {
    const copy = installedCopy();
    const cwd = makeProject();
    expect((await runCli(['--version'], { cwd, bin: copy.bin })).code).toBe(0);
    const cache = `${copy.bundle}.other.cache`;
    const key = keyOf(cache);
    writeFileSync(cache, Buffer.concat([Buffer.from(`${key}\n`), Buffer.alloc(4096, 0x5a)]));
    const damaged = stamp(cache);
    const run = await runCli(['--version'], { cwd, bin: copy.bin });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe(version);
    expect(stamp(cache)).not.toBe(damaged);
    const replaced = stamp(cache);
    expect((await runCli(['--version'], { cwd, bin: copy.bin })).code).toBe(0);
    expect(stamp(cache)).toBe(replaced);
  });

  it('a bundle that is not all ASCII (not as esbuild writes it) is read as UTF-8', async () => {
    const copy = installedCopy();
    const cwd = makeProject();
    // Far past the first piece read (64 KiB): the pieces before it were ASCII.
    appendFileSync(copy.bundle, '\n// café, naïve: not ASCII\n');
    const run = await runCli(['--version'], { cwd, bin: copy.bin });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe(version);
  });

  it('where no cache can be written, the run works as without one and leaves nothing behind', async () => {
    const copy = installedCopy();
    const cwd = makeProject();
    // A directory where the cache would go: neither readable as a cache nor replaceable by one (even as root).
    mkdirSync(`${copy.bundle}.other.cache`);
    for (let i = 0; i < 2; i++) {
      const run = await runCli(['--version'], { cwd, bin: copy.bin });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout.trim()).toBe(version);
      expect(run.stderr).toBe('');
    }
    expect(readdirSync(join(copy.root, 'dist', 'bin')).sort()).toEqual([
      'main.cjs',
      'main.cjs.other.cache',
    ]);
  });
});
