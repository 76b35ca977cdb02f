import { parse as parseConnectionString } from 'pg-connection-string';
import { envValue, type Settings } from '../config/env.js';
import type { SetConfig } from '../config/file.js';
import { ConfigError } from '../errors.js';
import { redactUrl } from './redact.js';

/** Where a set's migrations run. `display` is redacted from birth. */
export type TargetSpec =
  | { kind: 'url'; set: string; database: string; variable: string; url: string; display: string }
  | { kind: 'embedded'; set: string; database: string; variable: string };

export interface Target {
  set: string;
  /** The logical database (`primary`, `data`): sets sharing one share a connection and a lock. */
  database: string;
  url: string;
  display: string;
  /**
   * A tenant schema's search_path (SPEC §10), as SQL (`"tenant_1", public`): set in each transaction that
   * runs its files, never on the session, which behind PgBouncer is any client's next server connection.
   */
  searchPath?: string | undefined;
}

export type Mode = 'single' | 'split';

export interface ResolvedTargets {
  mode: Mode;
  targets: TargetSpec[];
  warnings: string[];
}

export function urlVariable(database: string): string {
  return `${database.toUpperCase()}_DATABASE_URL`;
}

function readUrl(
  settings: Settings,
  database: string,
): { variable: string; url: string | undefined } {
  const variable = urlVariable(database);
  const url = envValue(settings.env, variable);
  if (url === undefined && database === 'primary') {
    const fallback = envValue(settings.env, 'DATABASE_URL');
    if (fallback !== undefined) return { variable: 'DATABASE_URL', url: fallback };
  }
  return { variable, url };
}

function checkUrl(variable: string, url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(
      `${variable} is not a valid URL: ${redactUrl(url)}.`,
      `Write it as postgres://user:password@host:5432/database (percent-encode special characters in the password).`,
    );
  }
  // What pg would do with it: an unencoded '#' makes the rest a fragment, and pg then connects elsewhere.
  if (parsed.hash !== '') {
    throw new ConfigError(
      `${variable} has an unencoded "#", after which a URL parser reads nothing of it (the password, host or database would be cut): ${redactUrl(url)}.`,
      'Percent-encode it as %23 (and other special characters of the password: encodeURIComponent does it).',
    );
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new ConfigError(
      `${variable} must be a postgres:// or postgresql:// URL, not ${parsed.protocol}//: ${displayOf(url)}.`,
      'Write it as postgres://user:password@host:5432/database.',
    );
  }
}

/**
 * Decides each set's target: in single mode every set runs on the PRIMARY
 * database; in split mode each on the database its config names. With no URL
 * at all, the embedded PostgreSQL, except in production.
 */
export function resolveTargets(settings: Settings, sets: readonly SetConfig[]): ResolvedTargets {
  const mode: Mode = settings.splitMode ? 'split' : 'single';
  const warnings: string[] = [];
  const databases = new Set(sets.map((s) => (mode === 'split' ? s.database : 'primary')));
  const urls = new Map([...databases].map((db) => [db, readUrl(settings, db)]));
  const anyUrl = [...urls.values()].some((u) => u.url !== undefined);

  if (mode === 'single') {
    const ignored = [...new Set(sets.map((s) => s.database))]
      .filter((db) => db !== 'primary')
      .map(urlVariable)
      .filter((variable) => envValue(settings.env, variable) !== undefined);
    for (const variable of ignored) {
      warnings.push(
        `${variable} is set but ignored: SPLIT_DB_MODE is off, so every set runs on the PRIMARY database.`,
      );
    }
  }

  // Two variables for one database: the one that wins is said, never silently chosen.
  const primary = envValue(settings.env, urlVariable('primary'));
  const fallback = envValue(settings.env, 'DATABASE_URL');
  if (
    databases.has('primary') &&
    primary !== undefined &&
    fallback !== undefined &&
    fallback !== primary
  )
    warnings.push(
      'DATABASE_URL is set but ignored: PRIMARY_DATABASE_URL is set too, and it is the PRIMARY database.',
    );
  // libpq's variables alone name a server that schemata does not read: said, before the embedded database is used.
  const libpq = ['PGHOST', 'PGHOSTADDR', 'PGDATABASE', 'PGSERVICE'].filter(
    (name) => envValue(settings.env, name) !== undefined,
  );
  if (!anyUrl && libpq.length > 0)
    warnings.push(
      `${libpq.join(', ')} ${libpq.length === 1 ? 'is' : 'are'} set, but schemata reads its databases from URLs only: set PRIMARY_DATABASE_URL (or DATABASE_URL), for example postgres://user:password@host:5432/database.`,
    );

  for (const [db, { variable, url }] of urls) {
    if (url !== undefined) {
      checkUrl(variable, url);
      continue;
    }
    if (settings.production) {
      throw new ConfigError(
        `${variable} is not set and NODE_ENV is production; schemata never falls back to the embedded database there.`,
        `Set ${variable}${db === 'primary' ? ' (or DATABASE_URL)' : ''} to the ${db} database's URL.`,
      );
    }
    if (anyUrl) {
      throw new ConfigError(
        `${variable} is not set, but ${[...urls.values()]
          .filter((u) => u.url !== undefined)
          .map((u) => u.variable)
          .join(', ')} is: ` +
          `in ${mode} mode every database needs its URL${mode === 'split' ? ' (SPLIT_DB_MODE is on)' : ''}.`,
        `Set ${variable}${mode === 'split' ? ', or turn SPLIT_DB_MODE off to run every set on the PRIMARY database' : ''}.`,
      );
    }
  }

  const targets = sets.map((set): TargetSpec => {
    const database = mode === 'split' ? set.database : 'primary';
    const { variable, url } = urls.get(database)!;
    return url === undefined
      ? { kind: 'embedded', set: set.name, database, variable }
      : { kind: 'url', set: set.name, database, variable, url, display: displayOf(url) };
  });
  return { mode, targets, warnings };
}

/**
 * A target as shown: built from the parts pg-connection-string (pg's own
 * parser, the one that connects) reads, without the password, never by
 * cutting it out of the text; the raw-text redactor only for what does not parse.
 */
export function displayOf(url: string): string {
  let parts: ReturnType<typeof parseConnectionString>;
  let query: URLSearchParams;
  try {
    parts = parseConnectionString(url, { useLibpqCompat: true });
    query = new URL(url).searchParams;
  } catch {
    return redactUrl(url);
  }
  // ':***' where the URL's user info holds a password; one given as ?password= is shown there, as ***.
  const inUserInfo = new URL(url).password !== '';
  const user = parts.user
    ? `${encodeURIComponent(parts.user)}${inUserInfo ? ':***' : ''}@`
    : inUserInfo
      ? ':***@'
      : '';
  const host = parts.host ?? '';
  const hostPart = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const params = [...query].map(([key, value]) =>
    /pass/i.test(key)
      ? `${encodeURIComponent(key)}=***`
      : `${encodeURIComponent(key)}=${encodeURIComponent(value)}`,
  );
  const scheme = url.slice(0, url.indexOf('://'));
  return `${scheme}://${user}${hostPart}${parts.port ? `:${parts.port}` : ''}/${parts.database ?? ''}${params.length > 0 ? `?${params.join('&')}` : ''}`;
}
