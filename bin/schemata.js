#!/usr/bin/env node
// Runs the bundled CLI (npm ci builds dist/ in "prepare"): one module graph to load, no transpiler at run time.
import { existsSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';

// The PostgreSQL parser is WebAssembly: V8's optimising tier recompiles it in the background, for
// a third more CPU and 40 MiB more memory than the baseline code saves in parsing (measured by npm run bench).
setFlagsFromString('--liftoff-only');
// The young generation stays at its first size (1 MiB a half) instead of doubling to 16 MiB a half as soon
// as planning keeps objects: 30 MiB less at the peak of an apply (npm run bench), for no more CPU. Not for
// lint, which only parses and holds every statement of a file: with it, lint spent three times as long
// collecting garbage (--trace-gc). The command is read before yargs runs, because the flag must be set first.
const command = process.argv.slice(2).find((arg) => !arg.startsWith('-'));
if (command !== 'lint') setFlagsFromString('--semi-space-growth-factor=1');
// V8's optimizing compiler (TurboFan) stays off but where much code is parsed: its background jobs cost
// 10 MiB at the peak of applying 1,000 migrations (88 against 76 MiB), and more CPU in a run that short than
// their code saves. Lint and import parse whole histories and keep it; a migration file long enough to be
// parsed for a while turns it on again (config/discover.ts OPTIMIZED_FROM_BYTES).
if (command !== 'lint' && command !== 'import') setFlagsFromString('--no-opt');

// What Node.js 21 and later define themselves. Without it, pg asks whether it runs in a
// Cloudflare Worker by making a fetch Response, which loads undici: a sixth of a no-op deploy on Node 20.
globalThis.navigator ??= { userAgent: `Node.js/${process.versions.node.split('.')[0]}` };

const main = new URL('../dist/bin/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('error: schemata is not built (dist/ is missing).\n  → Run: npm run build\n');
  process.exitCode = 2;
} else {
  const { main: run } = await import(main.href);
  await run(process.argv.slice(2));
}
