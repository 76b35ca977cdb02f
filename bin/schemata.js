#!/usr/bin/env node
// Runs the bundled CLI (npm ci builds dist/ in "prepare"): one script to load, no transpiler at run time.
import { isAscii } from 'node:buffer';
import {
  closeSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { Script } from 'node:vm';

// The PostgreSQL parser is WebAssembly: V8's optimising tier recompiles it in the background, for
// a third more CPU and 40 MiB more memory than the baseline code saves in parsing (measured by npm run bench).
const flags = ['--liftoff-only'];
// The young generation stays at its first size (1 MiB a half) instead of doubling to 16 MiB a half as soon
// as planning keeps objects: 30 MiB less at the peak of an apply (npm run bench), for no more CPU. Not for
// lint, which only parses and holds every statement of a file: with it, lint spent three times as long
// collecting garbage (--trace-gc); nor for status and validate, which apply nothing and then collected
// three times as long over 1,000 migrations (13 against 4 ms, profiled). The command is read before yargs
// runs, because the flag must be set first.
const command = process.argv.slice(2).find((arg) => !arg.startsWith('-'));
if (!['lint', 'status', 'validate'].includes(command)) flags.push('--semi-space-growth-factor=1');
// V8's optimizing compiler (TurboFan) stays off but where much code is parsed: its background jobs cost
// 10 MiB at the peak of applying 1,000 migrations (88 against 76 MiB), and more CPU in a run that short than
// their code saves. Lint and import parse whole histories and keep it; a migration file long enough to be
// parsed for a while turns it on again (config/discover.ts OPTIMIZED_FROM_BYTES).
if (command !== 'lint' && command !== 'import') flags.push('--no-opt');
for (const flag of flags) setFlagsFromString(flag);

// What Node.js 21 and later define themselves. Without it, pg asks whether it runs in a
// Cloudflare Worker by making a fetch Response, which loads undici: a sixth of a no-op deploy on Node 20.
globalThis.navigator ??= { userAgent: `Node.js/${process.versions.node.split('.')[0]}` };

/*
 * The CLI is one CommonJS script, compiled with V8's code cache: the bytecode
 * of the functions an earlier run compiled, kept beside the script, one file a
 * command. Compiling the CLI's modules was a sixth of a no-op deploy, and
 * Node.js 20 caches no ES module's code. A cache is used only for the very
 * script (size and modification time), Node.js and V8 flags it was made
 * with; otherwise, or where V8 rejects it, the run compiles the script whole
 * and leaves a new cache when it ends, where it may write. The build leaves
 * one made by each command's --help (package.json "warm"): a first deploy
 * from a fresh install skips the whole compile, and its run leaves the
 * command's own cache (npm run bench: start-up and no-op).
 */
const bundle = fileURLToPath(new URL('../dist/bin/main.cjs', import.meta.url));
let stat;
try {
  stat = statSync(bundle);
} catch {
  process.stderr.write(
    'error: schemata is not built (dist/ is missing).\n  → Run: npm run build\n',
  );
  process.exitCode = 2;
}
if (stat) {
  // cli/main.ts COMMANDS, which the bundle holds: a name missing here shares the cache of --version and --help.
  const commands = [
    'migrate',
    'status',
    'validate',
    'lint',
    'baseline',
    'rollback',
    'import',
    'create',
  ];
  const cacheFile = `${bundle}.${commands.includes(command) ? command : 'other'}.cache`;
  const key = `${process.version} ${process.arch} ${flags.join(' ')} ${stat.size} ${stat.mtimeMs}`;
  // A run that only prints help or the version compiles little of its command: its cache gives way to a real run's.
  const madeBy = process.argv.slice(2).some((arg) => ['--help', '-h', '--version'].includes(arg))
    ? 'help'
    : 'run';
  const { script, cachedBy } = compile(bundle, stat.size, cacheFile, key);
  // The bundle's import() of a package it leaves out (src/import-package.ts): a script has no loader of its own.
  globalThis[Symbol.for('schemata.import')] = (specifier) => import(specifier);
  const cli = { exports: {} };
  script.runInThisContext()(cli.exports, createRequire(bundle), cli, bundle, dirname(bundle));
  await cli.exports.main(process.argv.slice(2));
  if (
    cachedBy === undefined ||
    script.cachedDataRejected ||
    (cachedBy === 'help' && madeBy === 'run')
  ) {
    // Written whole, then renamed into place: a run never reads half a cache, whoever else writes one.
    const partial = `${cacheFile}.${process.pid}`;
    try {
      writeFileSync(
        partial,
        Buffer.concat([Buffer.from(`${key} ${madeBy}\n`), script.createCachedData()]),
      );
      renameSync(partial, cacheFile);
    } catch {
      // A read-only install: each run compiles as the cache it has allows.
      try {
        unlinkSync(partial);
      } catch {}
    }
  }
}

/**
 * The bundle compiled, with the cache made for `key` where there is one, and
 * who made that cache ('help' or 'run'). The bundle is read in pieces smaller
 * than what malloc maps on its own: one buffer of the whole, freed, raised
 * glibc's threshold for mapping to its size, and allocations made after it
 * stayed in the process (peak of an apply of 1,000 migrations: 76 MiB against
 * 78, and 75 before the bundle was one script).
 */
function compile(bundle, size, cacheFile, key) {
  let cachedData;
  let cachedBy;
  try {
    const bytes = readFileSync(cacheFile);
    const end = bytes.indexOf(10);
    const header = bytes.latin1Slice(0, Math.max(end, 0));
    if (end > 0 && header.startsWith(`${key} `)) {
      cachedData = bytes.subarray(end + 1);
      cachedBy = header.slice(key.length + 1);
    }
  } catch {
    // No cache yet, or none readable: compiled without one.
  }
  // esbuild writes the bundle as one function expression (its banner and footer in package.json "bundle"), in
  // ASCII without whitespace or comments: read as one byte a character, a third of the time of decoding UTF-8.
  const piece = Buffer.allocUnsafeSlow(64 * 1024);
  const pieces = [];
  const fd = openSync(bundle, 'r');
  try {
    for (let read; (read = readSync(fd, piece, 0, piece.length, null)) > 0;) {
      if (!isAscii(piece.subarray(0, read))) break;
      pieces.push(piece.latin1Slice(0, read));
    }
  } finally {
    closeSync(fd);
  }
  let source = pieces.join('');
  // Not all ASCII (not esbuild's): read whole, as UTF-8.
  if (source.length !== size) source = readFileSync(bundle, 'utf8');
  return { script: new Script(source, { filename: bundle, cachedData }), cachedBy };
}
