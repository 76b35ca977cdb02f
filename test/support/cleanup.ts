import { rmSync } from 'node:fs';

/*
 * What a test file made outside itself, removed when it ends (the setup file
 * test/support/setup.ts): its throw-away projects, a few holding an
 * embedded database, and its databases on the suite's servers. Left behind,
 * a run of the suite kept about 1,500 projects in the temporary folder, and
 * each server gathered every file's databases, which a fleet's search for
 * orphan databases then opened one by one.
 */

const projects = new Set<string>();
const databases = new Map<string, Set<string>>();

export function madeProject(root: string): void {
  projects.add(root);
}

/** `server`: the URL of the server's maintenance database. */
export function madeDatabase(server: string, name: string): void {
  const names = databases.get(server) ?? new Set<string>();
  names.add(name);
  databases.set(server, names);
}

export async function cleanUp(): Promise<void> {
  for (const root of projects) rmSync(root, { recursive: true, force: true, maxRetries: 3 });
  projects.clear();
  if (databases.size === 0) return;
  const { default: pg } = await import('pg');
  for (const [server, names] of databases) {
    const client = new pg.Client({ connectionString: server });
    // A server the file stopped itself (a PostgreSQL of its own) took its databases along.
    const connected = await client.connect().then(
      () => true,
      () => false,
    );
    if (!connected) continue;
    try {
      // FORCE: a child process the test killed may still hold a connection.
      for (const name of names)
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  databases.clear();
}
