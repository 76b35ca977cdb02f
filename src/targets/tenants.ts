import type { SetConfig } from '../config/file.js';
import type { Client } from '../engine/connect.js';
import { ConfigError } from '../errors.js';
import { redactUrl } from './redact.js';

/** A tenant of a fleet set: a schema of the set's database, or a database of its own. */
export interface Tenant {
  /** Its schema, or its database's name (`host:port/name` where two servers have one of that name). */
  name: string;
  schema?: string | undefined;
  url?: string | undefined;
  /** A tenant database's server (`host:port`) and database name. */
  server?: string | undefined;
  database?: string | undefined;
}

/** A database on a server (`host:port`). */
export interface ServerDatabase {
  server: string;
  database: string;
}

/**
 * How the databases of a fleet are named (SPEC §10): by name, `host:port/name`
 * where two of them on different servers share it. `among` are all the
 * databases the names must tell apart. Pure.
 */
export function databaseNames(
  databases: readonly ServerDatabase[],
  among: readonly ServerDatabase[] = databases,
): string[] {
  const servers = new Map<string, Set<string>>();
  for (const d of among)
    servers.set(d.database, (servers.get(d.database) ?? new Set()).add(d.server));
  return databases.map((d) =>
    (servers.get(d.database)?.size ?? 0) > 1 ? `${d.server}/${d.database}` : d.database,
  );
}

/**
 * The databases of the servers a fleet's tenants are on that it does not
 * list: where an orphan (a database holding the set's tracking) may be. Pure.
 */
export function unlistedDatabases(
  listed: readonly ServerDatabase[],
  onServers: readonly ServerDatabase[],
): ServerDatabase[] {
  const known = new Set(listed.map((d) => `${d.server}/${d.database}`));
  return onServers.filter((d) => !known.has(`${d.server}/${d.database}`));
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_$]{0,62}$/;

/**
 * Lists a fleet set's tenants (SPEC §10): the schemas or databases its config
 * lists, or those its query returns on the set's database (`client`), or the
 * URLs an environment variable holds (comma- or line-separated). A database
 * given by name is on the set's own server.
 */
export async function listTenants(
  set: SetConfig,
  client: Client,
  env: Readonly<Record<string, string | undefined>>,
  /** The set's own URL: a tenant database named alone is on its server, with its user and parameters. */
  baseUrl: string,
): Promise<Tenant[]> {
  const source = set.tenants!;
  let values: string[];
  if ('list' in source) values = source.list;
  else if ('env' in source) {
    const text = env[source.env];
    if (!text?.trim())
      throw new ConfigError(
        `Set "${set.name}" lists its tenant databases in ${source.env}, which is not set.`,
        `Set ${source.env} to their URLs, separated by commas or new lines.`,
      );
    values = text
      .split(/[,\n]/)
      .map((v) => v.trim())
      .filter(Boolean);
  } else {
    try {
      // The first column, whatever its name.
      const { rows } = await client.query<unknown[]>({ text: source.query, rowMode: 'array' });
      values = rows.map((r) => String(r[0]));
    } catch (error) {
      throw new ConfigError(
        `Set "${set.name}": its tenants query failed: ${(error as Error).message}.`,
        'Fix "tenants" in database/schemata.json: a query whose first column is each tenant.',
        { cause: error },
      );
    }
  }
  if (source.kind === 'schemas') {
    const bad = values.filter(
      (v) => !SCHEMA_NAME.test(v) || v === 'schemata' || v.startsWith('pg_'),
    );
    if (bad.length > 0)
      throw new ConfigError(
        `Set "${set.name}": tenant schema${bad.length === 1 ? '' : 's'} ${bad
          .slice(0, 5)
          .map((b) => `"${b}"`)
          .join(', ')} ${bad.length === 1 ? 'is' : 'are'} not a lower-case PostgreSQL identifier.`,
        'Name tenant schemas in lower case (letters, digits, _).',
      );
    return [...new Set(values)].map((schema) => ({ name: schema, schema }));
  }
  const base = new URL(baseUrl);
  const urls = values.map((v) => {
    if (/^postgres(ql)?:\/\//.test(v)) return v;
    const url = new URL(base);
    url.pathname = `/${encodeURIComponent(v)}`;
    return url.toString();
  });
  const parsed = urls.map((url) => {
    try {
      const u = new URL(url);
      return {
        url,
        server: `${u.hostname}:${u.port || '5432'}`,
        database: decodeURIComponent(u.pathname.slice(1)),
      };
    } catch {
      throw new ConfigError(
        `Set "${set.name}": tenant database ${redactUrl(url)} is not a URL.`,
        "Give each tenant database as postgres://user:password@host:5432/name, or by name on the set's server.",
      );
    }
  });
  const names = databaseNames(parsed);
  return parsed.map((p, i) => ({
    name: names[i]!,
    url: p.url,
    server: p.server,
    database: p.database,
  }));
}
