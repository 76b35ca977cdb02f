import type { Client } from './connect.js';
import { ConfigError } from '../errors.js';
import { maskSecrets } from '../targets/redact.js';

/*
 * PostgreSQL's 42501 (insufficient_privilege) says what was denied, not to
 * whom nor what to grant. Asked of the server after the failure (never
 * before: a run whose role may do everything pays nothing), so the message
 * names the role, the object, the privileges it lacks, the GRANT its owner
 * runs, and the role that may do it instead.
 */

export const INSUFFICIENT_PRIVILEGE = '42501';
const READ_ONLY_SQL_TRANSACTION = '25006';

/** What a role lacks on one object, and the GRANT that gives it. */
export interface MissingPrivilege {
  role: string;
  /** `schema workspace`, `table workspace.items`. */
  object: string;
  privileges: string[];
  owner: string;
  grant: string;
}

/** Statements that make an object in a schema: they need CREATE on it, besides USAGE. */
const CREATING = /^(Create|Define|Index|View|CompositeType|Rule|AlterObjectSchema)/;

/** The table privileges a statement of this kind needs. */
const TABLE_PRIVILEGES: Record<string, string[]> = {
  InsertStmt: ['INSERT'],
  UpdateStmt: ['UPDATE', 'SELECT'],
  DeleteStmt: ['DELETE', 'SELECT'],
  MergeStmt: ['INSERT', 'UPDATE', 'DELETE', 'SELECT'],
  SelectStmt: ['SELECT'],
  CopyStmt: ['INSERT', 'SELECT'],
  TruncateStmt: ['TRUNCATE'],
};

/**
 * What the session's role lacks for a statement of `kind` that PostgreSQL
 * refused with "permission denied for schema|table|sequence X"; undefined
 * where the server cannot tell (another wording, an object not found).
 */
export async function missingPrivilege(
  client: Client,
  message: string,
  kind: string,
): Promise<MissingPrivilege | undefined> {
  const denied = /^permission denied for (schema|table|sequence) (.+)$/.exec(message);
  if (!denied) return undefined;
  const [, objectKind, name] = denied as unknown as [string, string, string];
  if (objectKind === 'schema') {
    const { rows } = await client.query<{
      role: string;
      role_ident: string;
      schema_ident: string;
      owner: string;
      usage: boolean;
      create: boolean;
    }>(
      `SELECT current_user AS role, pg_catalog.quote_ident(current_user) AS role_ident, pg_catalog.quote_ident(n.nspname) AS schema_ident,
              pg_catalog.pg_get_userbyid(n.nspowner) AS owner,
              pg_catalog.has_schema_privilege(n.oid, 'USAGE') AS usage, pg_catalog.has_schema_privilege(n.oid, 'CREATE') AS create
         FROM pg_catalog.pg_namespace n WHERE n.nspname = $1`,
      [name],
    );
    const row = rows[0];
    if (!row) return undefined;
    const wanted = CREATING.test(kind) ? ['USAGE', 'CREATE'] : ['USAGE'];
    let privileges = wanted.filter((p) => !(p === 'USAGE' ? row.usage : row.create));
    if (privileges.length === 0)
      privileges = ['USAGE', 'CREATE'].filter((p) => !(p === 'USAGE' ? row.usage : row.create));
    if (privileges.length === 0) return undefined;
    const object = `schema ${row.schema_ident}`;
    return {
      role: row.role,
      object,
      privileges,
      owner: row.owner,
      grant: `GRANT ${privileges.join(', ')} ON SCHEMA ${row.schema_ident} TO ${row.role_ident};`,
    };
  }
  // PostgreSQL names a table or sequence without its schema: the one of that name the role lacks a privilege on.
  const wanted = objectKind === 'sequence' ? ['USAGE'] : (TABLE_PRIVILEGES[kind] ?? ['SELECT']);
  const { rows } = await client.query<{
    role: string;
    role_ident: string;
    qualified: string;
    owner: string;
    lacking: string[];
  }>(
    `SELECT current_user AS role, pg_catalog.quote_ident(current_user) AS role_ident,
            pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS qualified,
            pg_catalog.pg_get_userbyid(c.relowner) AS owner,
            ARRAY(SELECT p FROM unnest($2::text[]) AS p
                   WHERE NOT CASE WHEN c.relkind = 'S' THEN pg_catalog.has_sequence_privilege(c.oid, p)
                                  ELSE pg_catalog.has_table_privilege(c.oid, p) END) AS lacking
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relname = $1 AND NOT pg_catalog.starts_with(n.nspname, 'pg_') AND n.nspname <> 'information_schema'
      ORDER BY pg_catalog.has_schema_privilege(n.oid, 'USAGE') DESC, n.nspname`,
    [name, wanted],
  );
  const row = rows.find((r) => r.lacking.length > 0);
  if (!row) return undefined;
  return {
    role: row.role,
    object: `${objectKind} ${row.qualified}`,
    privileges: row.lacking,
    owner: row.owner,
    grant: `GRANT ${row.lacking.join(', ')} ON ${objectKind === 'sequence' ? 'SEQUENCE' : 'TABLE'} ${row.qualified} TO ${row.role_ident};`,
  };
}

/** The sentence and the hint for a migration refused for a privilege: the file is not what to fix. */
export function privilegeWords(
  missing: MissingPrivilege,
  again: string,
): { because: string; hint: string } {
  const privileges = missing.privileges.join(' and ');
  return {
    because: `The role ${missing.role} lacks the ${privileges} privilege${missing.privileges.length === 1 ? '' : 's'} on ${missing.object} (PostgreSQL's 42501 insufficient_privilege): the file is not what to fix.`,
    hint: `Have ${missing.owner} (the owner of ${missing.object}) run: ${missing.grant} Or run schemata with a role that has ${missing.privileges.length === 1 ? 'it' : 'them'}, such as ${missing.owner}. Then run again: ${again}`,
  };
}

/**
 * What the role lacks to use schemata's own tables (schema `schemata`), and
 * the GRANTs that give it, from the server: undefined where the schema is not
 * there (then it must be made: CREATE on the database).
 */
export async function trackingGrants(
  client: Client,
): Promise<{ role: string; owner: string; grants: string } | undefined> {
  const { rows } = await client.query<{ role: string; role_ident: string; owner: string | null }>(
    `SELECT current_user AS role, pg_catalog.quote_ident(current_user) AS role_ident,
            (SELECT pg_catalog.pg_get_userbyid(n.nspowner) FROM pg_catalog.pg_namespace n WHERE n.nspname = 'schemata') AS owner`,
  );
  const row = rows[0];
  if (!row?.owner) return undefined;
  const role = row.role_ident;
  return {
    role: row.role,
    owner: row.owner,
    grants: `GRANT USAGE, CREATE ON SCHEMA schemata TO ${role}; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA schemata TO ${role}; GRANT USAGE ON ALL SEQUENCES IN SCHEMA schemata TO ${role};`,
  };
}

/**
 * A 42501 on schemata's own tables said as what it is: the role, the schema,
 * the GRANTs its owner runs, and the command again (exit 2: the role is
 * configuration). Any other error is given back as it is.
 */
export async function trackingDenied(
  client: Client,
  where: { set: string; variable: string; display: string },
  error: unknown,
): Promise<unknown> {
  if ((error as { code?: string }).code === READ_ONLY_SQL_TRANSACTION)
    return (await readOnlyTarget(client, where, error).catch(() => undefined)) ?? error;
  if ((error as { code?: string }).code !== INSUFFICIENT_PRIVILEGE) return error;
  const grants = await trackingGrants(client).catch(() => undefined);
  const said = maskSecrets(error instanceof Error ? error.message : String(error));
  if (!grants)
    return new ConfigError(
      `Set "${where.set}": the role in ${where.variable} cannot create schemata's tracking tables (schema schemata) on ${where.display}: ${said}.`,
      `Grant it CREATE on the database (GRANT CREATE ON DATABASE <db> TO <role>), or have an owner run CREATE SCHEMA schemata AUTHORIZATION <role> once; then run the same command again.`,
      { cause: error },
    );
  return new ConfigError(
    `Set "${where.set}": the role ${grants.role} (${where.variable}) may not use schemata's tracking tables in schema schemata on ${where.display}: ${said}. schemata keeps each set's history there; nothing was applied.`,
    `Have ${grants.owner} (the owner of schema schemata) run: ${grants.grants} Or run schemata as ${grants.owner}. Then run the same command again.`,
    { cause: error },
  );
}

/*
 * A run that would write to a database that takes no writes: a standby, or
 * default_transaction_read_only on, said where it is set and how to turn it
 * off there. Asked before the run's first write (engine/tracking.ts
 * ENSURE_TRACKING_SQL), so that no migration's file is blamed for it.
 */
async function readOnlyTarget(
  client: Client,
  where: { set: string; variable: string; display: string },
  error: unknown,
): Promise<ConfigError> {
  const { rows } = await client.query<{
    standby: boolean;
    source: string;
    db: string;
    user: string;
  }>(
    `SELECT pg_catalog.pg_is_in_recovery() AS standby, s.source,
            pg_catalog.quote_ident(pg_catalog.current_database()) AS db, pg_catalog.quote_ident(current_user) AS user
       FROM pg_catalog.pg_settings s WHERE s.name = 'default_transaction_read_only'`,
  );
  // Names as the server quotes them (quote_ident): a role named user is "user" in the statements below.
  const { standby, source, db, user } = rows[0]!;
  const nothing = 'nothing was applied; status and validate read it as it is.';
  if (standby)
    return new ConfigError(
      `Set "${where.set}": ${where.display} (${where.variable}) is a standby server, which takes no writes: ${nothing}`,
      `Point ${where.variable} at the primary server, then run the same command again.`,
      { cause: error },
    );
  // In a transaction that may write: a session of that database is read-only too.
  const off: Record<string, string> = {
    database: `BEGIN READ WRITE; ALTER DATABASE ${db} SET default_transaction_read_only = off; COMMIT;`,
    user: `BEGIN READ WRITE; ALTER ROLE ${user} SET default_transaction_read_only = off; COMMIT;`,
    'database user': `BEGIN READ WRITE; ALTER ROLE ${user} IN DATABASE ${db} SET default_transaction_read_only = off; COMMIT;`,
  };
  const setBy =
    source === 'database'
      ? `database ${db}'s setting`
      : source === 'user'
        ? `role ${user}'s setting`
        : source === 'database user'
          ? `role ${user}'s setting in database ${db}`
          : source === 'client'
            ? 'the connection (options in the URL, or PGOPTIONS)'
            : `the server (${source})`;
  return new ConfigError(
    `Set "${where.set}": ${where.display} (${where.variable}) takes no writes: default_transaction_read_only is on, by ${setBy}, so schemata can write neither its tracking nor a migration; ${nothing}`,
    source === 'client'
      ? `Remove default_transaction_read_only from the connection's options, then run the same command again.`
      : `If this database should take migrations, have its owner or a superuser run: ${off[source] ?? off.database} Then run the same command again.`,
    { cause: error },
  );
}
