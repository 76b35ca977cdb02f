import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { freePort } from '../../src/targets/embedded.js';
import { chmodSync, chownSync, mkdtempSync, writeFileSync } from 'node:fs';
import { madeProject } from './cleanup.js';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Whether the pgbouncer binary is installed (the Debian package; .ci/run installs it). */
export function havePgBouncer(): boolean {
  try {
    execFileSync('pgbouncer', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts a real PgBouncer in transaction pooling in front of a server, as an
 * unprivileged user when we are root (it refuses to run as root). Returns the
 * URL of a database through it; `poolSize` server connections per database.
 */
export async function startPgBouncer(
  serverUrl: string,
  { poolSize = 20 }: { poolSize?: number } = {},
): Promise<{ url: (database: string) => string; stop: () => Promise<void> }> {
  const server = new URL(serverUrl);
  const dir = mkdtempSync(join(tmpdir(), 'schemata-pgbouncer-'));
  madeProject(dir);
  chmodSync(dir, 0o755);
  const port = await freePort();
  const user = decodeURIComponent(server.username);
  const password = decodeURIComponent(server.password);
  writeFileSync(join(dir, 'userlist.txt'), `"${user}" "${password.replace(/"/g, '""')}"\n`, {
    mode: 0o644,
  });
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${server.hostname} port=${server.port}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = plain',
      `auth_file = ${join(dir, 'userlist.txt')}`,
      'pool_mode = transaction',
      `default_pool_size = ${poolSize}`,
      'max_client_conn = 200',
      'ignore_startup_parameters = extra_float_digits,options',
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  const asRoot = process.getuid?.() === 0;
  // Its log is written as that user.
  if (asRoot) chownSync(dir, 65534, 65534);
  const child: ChildProcess = spawn('pgbouncer', [join(dir, 'pgbouncer.ini')], {
    stdio: 'ignore',
    ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
  });
  // Ready when it accepts connections.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = netConnect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => {
        resolve(false);
      });
    });
    if (up) break;
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`pgbouncer did not start (see ${join(dir, 'pgbouncer.log')})`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: (database) =>
      `postgres://${server.username}:${server.password}@127.0.0.1:${port}/${database}`,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => {
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
