import pg from 'pg';
import { parse as parseConnectionString } from 'pg-connection-string';
import { ConfigError, ConnectionError } from '../errors.js';
import { maskSecrets } from '../targets/redact.js';
import type { Target } from '../targets/targets.js';

export type Client = pg.Client;

/** PostgreSQL and network error codes that mean "the URL is wrong", not "the server is away". */
const CONFIG_CODES: Record<string, string> = {
  '28P01': 'Check the user name and password in the URL.',
  '28000': "Check the user name in the URL and the server's pg_hba.conf.",
  '3D000': 'Create the database first, or fix its name in the URL.',
};

function describe(error: unknown): { code: string | undefined; message: string } {
  const e = error as { code?: string; message?: string; errors?: unknown[] };
  // Node reports a refused dual-stack connection as an AggregateError with an empty message.
  const message =
    e.message ||
    (Array.isArray(e.errors)
      ? e.errors.map((x) => (x as Error).message).join('; ')
      : String(error));
  // The driver's words: masked where a password may stand in them (a connection string it echoes).
  return { code: e.code, message: maskSecrets(message) };
}

/**
 * Opens a connection to a target. Failures become one-paragraph errors
 * naming the set and the redacted URL: exit 2 when the URL is wrong (password,
 * database name, host name, TLS), exit 1 when the server cannot be reached.
 */
export async function connect(
  target: Target,
  variable: string,
  { waitedS = 0, application }: { waitedS?: number; application?: string } = {},
): Promise<Client> {
  // (waitedS: the --wait that ran out, for the hint; application: what pg_stat_activity names it, if not "schemata")
  const config = {
    ...clientConfig(target.url),
    ...(application === undefined ? {} : { application_name: application }),
  };
  try {
    return await preferringTls(target.url, (tls) => openClient({ ...config, ...tls }));
  } catch (error) {
    throw connectFailure(target, variable, error, waitedS);
  }
}

/**
 * A connection to another database of the target's server, as its URL
 * reaches it (user, password, TLS): for what a statement of the run does
 * there (DROP DATABASE). A failure rejects with the driver's code and its
 * words, masked.
 */
export async function openDatabase(target: Target, database: string): Promise<Client> {
  try {
    return await preferringTls(target.url, (tls) =>
      openClient({ ...clientConfig(target.url), database, ...tls }),
    );
  } catch (error) {
    const { code, message } = describe(error);
    throw Object.assign(new Error(message), { code });
  }
}

/** A client connected with `config`; where it cannot connect, it is ended and the driver's error thrown as it came. */
async function openClient(config: pg.ClientConfig): Promise<Client> {
  const client = new pg.Client({
    application_name: 'schemata',
    connectionTimeoutMillis: 15_000,
    ...config,
  });
  // An idle connection that the server drops would otherwise crash the process.
  client.on('error', () => {});
  try {
    await client.connect();
    return client;
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
}

/** sslmode=prefer (and allow), as libpq: TLS when the server offers it, else without. */
async function preferringTls(
  url: string,
  open: (tls: pg.ClientConfig) => Promise<Client>,
): Promise<Client> {
  try {
    return await open({});
  } catch (error) {
    const mode = sslModeOf(url);
    if (
      (mode === 'prefer' || mode === 'allow') &&
      /does not support SSL/i.test(describe(error).message)
    )
      return open({ ssl: false });
    throw error;
  }
}

/*
 * The URL read by pg-connection-string, the parser pg itself uses, with
 * libpq's meaning of sslmode (require encrypts without verifying, verify-ca
 * checks the chain, verify-full also the host name), so that pg prints no
 * "SECURITY WARNING" about treating them all as verify-full.
 */
export function clientConfig(url: string): pg.ClientConfig {
  let parsed: ReturnType<typeof parseConnectionString>;
  try {
    parsed = parseConnectionString(url, { useLibpqCompat: true });
  } catch {
    return { connectionString: url }; // what does not parse, pg reports as its own error
  }
  const {
    sslmode: mode,
    uselibpqcompat: _compat,
    ...rest
  } = parsed as typeof parsed & { sslmode?: string; uselibpqcompat?: string };
  return {
    ...(rest as pg.ClientConfig),
    // node-postgres's own spelling (Heroku's guides use it): TLS without checking the certificate, as libpq's require.
    ...(mode === 'no-verify' ? { ssl: { rejectUnauthorized: false } } : {}),
    application_name: 'schemata',
    connectionTimeoutMillis: 15_000,
  };
}

function sslModeOf(url: string): string | undefined {
  try {
    return (parseConnectionString(url, { useLibpqCompat: true }) as { sslmode?: string }).sslmode;
  } catch {
    return undefined;
  }
}

/** Why a set's connection failed, as one paragraph: a ConfigError where the URL is wrong, a ConnectionError where the server is away. */
function connectFailure(target: Target, variable: string, error: unknown, waitedS: number): Error {
  const { code, message } = describe(error);
  const where = `Set "${target.set}": cannot connect to ${target.display} (${variable})`;
  const refused = certificateRefused(code);
  if (refused) {
    return new ConfigError(`${where}: ${refused.what} (${message}).`, refused.hint, {
      cause: error,
    });
  }
  const tls = /SSL|TLS|certificate/i.test(message);
  if ((code && code in CONFIG_CODES) || tls) {
    return new ConfigError(
      `${where}: ${message}.`,
      tls
        ? 'Check sslmode in the URL: the server and the URL disagree about TLS.'
        : CONFIG_CODES[code!],
      {
        cause: error,
      },
    );
  }
  const hint = unreachableHint(code, waitedS);
  const waited = waitedS > 0 ? ` It was tried for ${waitedS}s (--wait ${waitedS}).` : '';
  return new ConnectionError(`${where}: ${message}.${waited}`, hint, { cause: error });
}

/** OpenSSL's verify errors, as Node names them: no CA this machine trusts signed the server's certificate. */
const UNTRUSTED_CHAIN = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);

/**
 * What is wrong with a certificate TLS refused (sslmode=verify-ca or
 * verify-full), and what to do; undefined when the failure is not a refused
 * certificate. Pure.
 */
export function certificateRefused(
  code: string | undefined,
): { what: string; hint: string } | undefined {
  if (code && UNTRUSTED_CHAIN.has(code))
    return {
      what: "the server's certificate is not trusted",
      hint:
        "Give the CA that signed the server's certificate (or the certificate itself, if self-signed) with " +
        'sslrootcert=<path to its .crt> in the URL; or use sslmode=require to encrypt without checking the certificate.',
    };
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return {
      what: "the server's certificate is for another host name",
      hint: 'Connect by a host name the certificate names; or use sslmode=verify-ca (with sslrootcert) to check the certificate but not the name.',
    };
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID')
    return {
      what: "the server's certificate is outside its dates",
      hint: "Renew the server's certificate (or check this machine's clock).",
    };
  return undefined;
}

/**
 * What to do about a server that cannot be reached, after `waitedS` seconds
 * of --wait (0: none). A wait that ran out is answered with one really
 * longer, never the same or a shorter one. Pure.
 */
export function unreachableHint(code: string | undefined, waitedS: number): string {
  const longer = waitedS > 0 ? Math.max(60, Math.ceil(waitedS * 4)) : 60;
  const wait =
    waitedS > 0 ? `run it again with a longer wait, --wait ${longer}` : `add --wait ${longer}`;
  // A name that does not resolve is often a service still starting (Kubernetes, Railway): transient, exit 1.
  return code === 'ENOTFOUND' || code === 'EAI_AGAIN'
    ? `Check the host name in the URL; if the database's service is still starting, ${wait}.`
    : `Check that the server is running and reachable from here; if it is still starting, ${wait} (it keeps trying for that many seconds).`;
}

/** The backend process ID the server (or a pooler, with one of its own) gave the connection; pg keeps it untyped. */
export function processIdOf(client: Client): number | undefined {
  return (client as unknown as { processID?: number }).processID;
}

/**
 * An SQL expression that turns idle_session_timeout off for this session
 * alone, where the session is the server's own: its backend's PID is the one
 * the connection was given, which a pooler such as PgBouncer never passes
 * on. schemata holds a session idle while it reads and plans the files
 * (seconds for a long seed file) or while another connection waits for the
 * run lock, and a database's idle_session_timeout closed it then ("not
 * queryable", exit 1). Through a pooler the session is not the server's: a
 * SET would reach other clients, and the pooler keeps the client's
 * connection open anyway. Before PostgreSQL 14 there is no such setting.
 */
export function keepIdleSessionSql(client: Client): string {
  const pid = Math.trunc(processIdOf(client) ?? 0);
  return `CASE WHEN pg_catalog.pg_backend_pid() = ${pid} AND COALESCE(pg_catalog.current_setting('idle_session_timeout', true), '0') <> '0'
    THEN pg_catalog.set_config('idle_session_timeout', '0', false) END`;
}

/**
 * Sends PostgreSQL's cancel request for the statement a client is running,
 * on a connection of its own (the client's is busy): the server stops the
 * statement and its transaction fails. Nothing when the client is idle.
 */
export function cancelRunning(client: Client, target: Target): void {
  // pg's own cancel reads Client.activeQuery, which prints a deprecation warning (pg 8.23): the request is sent
  // here as pg sends it, on a connection of its own, from the client's process id and secret key.
  const busy = client as unknown as {
    _activeQuery?: unknown;
    processID: number;
    secretKey: number;
  };
  if (!busy._activeQuery) return;
  const canceller = new pg.Client(clientConfig(target.url)) as unknown as {
    host: string;
    port: number;
    connection: NodeJS.EventEmitter & {
      connect(port: number | string, host?: string): void;
      cancel(processID: number, secretKey: number): void;
    };
  };
  const con = canceller.connection;
  con.on('error', () => {});
  con.on('connect', () => {
    con.cancel(busy.processID, busy.secretKey);
  });
  if (canceller.host.startsWith('/')) con.connect(`${canceller.host}/.s.PGSQL.${canceller.port}`);
  else con.connect(canceller.port, canceller.host);
}

/**
 * Ends a session. `leaveClosing`: where the process ends with the run (the CLI), it does not stay for the
 * server to close the socket once the goodbye is written: a backend that read the whole catalog takes some
 * 6 ms to exit (the kernel unmapping what it touched), a cost of every command. A program that uses the API
 * may drop the database next, and waits.
 */
export function endSession(client: Client, leaveClosing = false): Promise<void> {
  const ended = client.end().catch(() => undefined);
  if (!leaveClosing) return ended;
  // The write of the goodbye and the socket's shutdown are requests of their own: Node exits after them.
  (
    client as unknown as { connection?: { stream?: { unref?: () => void } } }
  ).connection?.stream?.unref?.();
  return Promise.resolve();
}
