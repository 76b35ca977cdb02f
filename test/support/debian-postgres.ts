import { execFileSync, spawn } from 'node:child_process';
import { freePort } from '../../src/targets/embedded.js';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * Debian's own PostgreSQL 15 (the postgresql-15 package, which .ci/run
 * installs), with the package's defaults: unlike the embedded servers it is
 * built with LLVM, so jit = on really compiles. The tests start it
 * themselves, as they start PgBouncer.
 */
const BIN = '/usr/lib/postgresql/15/bin';

export function haveDebianPostgres(): boolean {
  return existsSync(join(BIN, 'postgres'));
}

/** .ci/run asks for it; elsewhere the tests that need it run where it is installed. */
export function debianPostgresRequired(): boolean {
  const required = process.env.SCHEMATA_REQUIRE_DEBIAN_PG === '1';
  if (required && !haveDebianPostgres())
    throw new Error(
      "SCHEMATA_REQUIRE_DEBIAN_PG=1 but Debian's PostgreSQL 15 is not installed (apt-get install -y postgresql-15)",
    );
  return required;
}

const PASSWORD = 'Debian-Test-Secret-7e1a';

/**
 * A fresh cluster of Debian's PostgreSQL 15, as the postgres user when we are
 * root (it refuses to run as root). `settings` are extra -c options (for a
 * test's instruments; never the settings under test). Returns the URL of its
 * postgres database.
 */
export async function startDebianPostgres(
  settings: Record<string, string> = {},
): Promise<{ url: string; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'schemata-debian-pg-'));
  chmodSync(dir, 0o755);
  const asRoot = process.getuid?.() === 0;
  const ids = asRoot
    ? {
        uid: Number(execFileSync('id', ['-u', 'postgres']).toString()),
        gid: Number(execFileSync('id', ['-g', 'postgres']).toString()),
      }
    : {};
  writeFileSync(join(dir, 'pw'), PASSWORD, { mode: 0o644 });
  if (asRoot) execFileSync('chown', ['-R', 'postgres:postgres', dir]);
  execFileSync(
    join(BIN, 'initdb'),
    [
      '-D',
      join(dir, 'data'),
      '-U',
      'postgres',
      '--auth=scram-sha-256',
      `--pwfile=${join(dir, 'pw')}`,
      '-E',
      'UTF8',
      '--locale=C.UTF-8',
    ],
    {
      stdio: 'pipe',
      cwd: dir,
      ...ids,
    },
  );
  const port = await freePort();
  const flags = Object.entries({
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    port: String(port),
    fsync: 'off',
    ...settings,
  }).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
  const child = spawn(join(BIN, 'postgres'), ['-D', join(dir, 'data'), ...flags], {
    stdio: 'ignore',
    cwd: dir,
    ...ids,
  });
  const url = `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`;
  const { default: pg } = await import('pg');
  const deadline = Date.now() + 30_000;
  for (;;) {
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.end();
      break;
    } catch (error) {
      await client.end().catch(() => {});
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`Debian's PostgreSQL 15 did not start in ${dir}`, { cause: error });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        child.kill('SIGINT'); // fast shutdown
      }),
  };
}
