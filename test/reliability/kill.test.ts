import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { catalogSnapshot } from '../support/catalog.js';
import { freshDatabase, query, trackedVersions } from '../support/db.js';
import { makeProject, REPO } from '../support/project.js';

/*
 * SIGKILL at a point drawn from a seeded generator: before the lock, inside a
 * transactional migration, between migrations, inside one that runs outside a
 * transaction. After each kill, migrate (with --repair only where a migration
 * outside a transaction was cut) must finish with every migration applied
 * exactly once and the catalog identical to a clean run's.
 */
const TRIALS = Number(process.env.TEST_KILL_TRIALS ?? 30);
const SEED = Number(process.env.TEST_SEED ?? Date.now() % 1_000_000);

function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FILES: Record<string, string> = {
  'data/001_schemas.sql':
    'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\nCREATE TABLE IF NOT EXISTS workspace.runs (step int PRIMARY KEY);\n',
  // Not re-runnable on purpose: a second application would fail on the primary key.
  'data/002_a.sql':
    'CREATE TABLE workspace.a (id int);\nSELECT pg_sleep(0.15);\nINSERT INTO workspace.runs VALUES (2);\n',
  'data/003_b.sql':
    'CREATE TABLE workspace.b (id int, note text);\nINSERT INTO workspace.runs VALUES (3);\n',
  'data/004_index.sql':
    '-- schemata:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS b_id ON workspace.b (id);\nSELECT pg_sleep(0.15);\nCREATE INDEX CONCURRENTLY IF NOT EXISTS b_note ON workspace.b (note);\n',
  'data/005_c.sql':
    'CREATE TABLE workspace.c (id int REFERENCES workspace.runs (step));\nSELECT pg_sleep(0.1);\nINSERT INTO workspace.runs VALUES (5);\n',
  'data/006_d.sql':
    'ALTER TABLE workspace.c ADD COLUMN d text;\nINSERT INTO workspace.runs VALUES (6);\n',
};
const BIN = join(REPO, 'bin', 'schemata.js');

let clean: string[];
beforeAll(async () => {
  const url = await freshDatabase();
  const cwd = makeProject(FILES);
  expect(
    (await runCli(['migrate', 'data'], { cwd, env: { PRIMARY_DATABASE_URL: url } })).code,
  ).toBe(0);
  clean = await catalogSnapshot(url);
}, 60_000);

describe(`SIGKILL at ${TRIALS} seeded points (TEST_SEED=${SEED})`, () => {
  const random = generator(SEED);
  const delays = Array.from({ length: TRIALS }, () => Math.floor(random() * 1400));
  it.each(delays.map((delay, trial) => ({ trial, delay })))(
    'trial $trial: killed after $delay ms',
    async ({ delay }) => {
      const url = await freshDatabase();
      const cwd = makeProject(FILES);
      const env = { PRIMARY_DATABASE_URL: url };
      const child = spawn(process.execPath, [BIN, 'migrate', 'data'], {
        cwd,
        env: { PATH: process.env.PATH ?? '', CI: 'true', ...env },
        stdio: 'ignore',
      });
      const exited = new Promise<number | null>((resolve) =>
        child.on('exit', (code) => {
          resolve(code);
        }),
      );
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGKILL');
      await exited;

      let next = await runCli(['migrate', 'data'], { cwd, env });
      if (next.code === 3) {
        // Only a migration outside a transaction may be left unfinished, and the message says how to finish it.
        expect(next.stderr).toMatch(/004_index\.sql is recorded as (running|failed)/);
        expect(next.stderr).toContain('schemata migrate data --repair');
        next = await runCli(['migrate', 'data', '--repair'], { cwd, env });
      }
      expect(next.code, next.stderr).toBe(0);
      expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3', '4', '5', '6']);
      expect(await query(url, 'SELECT step FROM workspace.runs ORDER BY step')).toEqual(
        [2, 3, 5, 6].map((step) => ({ step })),
      );
      expect(await catalogSnapshot(url)).toEqual(clean);
    },
  );
});
