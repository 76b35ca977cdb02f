import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/targets/embedded.js';

/**
 * A fresh cluster of the PostgreSQL in `bin`, started by the test itself, as
 * the postgres user when we are root (PostgreSQL refuses to run as root).
 * `settings` are extra -c options; `prepare` may write files into the
 * cluster's folder (a certificate, say) before the server starts, and they
 * are handed to the postgres user with it. Returns the URL of its postgres
 * database.
 */
export async function startOwnPostgres({
  bin,
  label,
  password,
  settings = {},
  prepare,
}: {
  bin: string;
  label: string;
  password: string;
  settings?: Record<string, string>;
  prepare?: (dir: string) => void;
}): Promise<{ url: string; dir: string; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'schemata-own-pg-'));
  chmodSync(dir, 0o755);
  const asRoot = process.getuid?.() === 0;
  const ids = asRoot
    ? {
        uid: Number(execFileSync('id', ['-u', 'postgres']).toString()),
        gid: Number(execFileSync('id', ['-g', 'postgres']).toString()),
      }
    : {};
  writeFileSync(join(dir, 'pw'), password, { mode: 0o644 });
  prepare?.(dir);
  if (asRoot) execFileSync('chown', ['-R', 'postgres:postgres', dir]);
  execFileSync(
    join(bin, 'initdb'),
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
  const child = spawn(join(bin, 'postgres'), ['-D', join(dir, 'data'), ...flags], {
    stdio: 'ignore',
    cwd: dir,
    ...ids,
  });
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
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
        throw new Error(`${label} did not start in ${dir}`, { cause: error });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    dir,
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
