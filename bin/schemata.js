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
