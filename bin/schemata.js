#!/usr/bin/env node
// Runs the bundled CLI (npm ci builds dist/ in "prepare"): one module graph to load, no transpiler at run time.
import { existsSync } from 'node:fs';

const main = new URL('../dist/bin/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('error: schemata is not built (dist/ is missing).\n  → Run: npm run build\n');
  process.exitCode = 2;
} else {
  const { main: run } = await import(main.href);
  await run(process.argv.slice(2));
}
