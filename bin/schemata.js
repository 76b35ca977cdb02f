#!/usr/bin/env node
// Runs the bundled CLI (npm ci builds dist/ in "prepare"): one module graph to load, no transpiler at run time.
import { existsSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';

// The PostgreSQL parser is WebAssembly: V8's optimising tier recompiles it in the background, for
// a third more CPU and 40 MiB more memory than the baseline code saves in parsing (measured by npm run bench).
setFlagsFromString('--liftoff-only');

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
