/*
 * schemata's own statements run with settings of their own, whatever the
 * role, the database or the file set (SPEC §13): with jit = on (Debian's and
 * Ubuntu's packages) the planner finds the catalog statements expensive and
 * LLVM compiles them in every migration, seconds each; a role's
 * statement_timeout must not cut schemata's bookkeeping short. The file itself
 * runs with the user's settings, as it would in psql. Every switch is local
 * to the transaction (set_config(..., true)): nothing leaks into a pooled
 * server connection behind PgBouncer.
 */

/*
 * Every transaction schemata begins is READ COMMITTED, whatever
 * default_transaction_isolation the role or database sets: under REPEATABLE
 * READ a transaction keeps its first statement's snapshot to its end, so the
 * run lock's transaction held one that CREATE INDEX CONCURRENTLY waited for
 * until its lock timeout, and a claim that waited for another run's
 * migration would read the tracking as it was before that one committed.
 * A file that opens with its own isolation level keeps it (engine/apply.ts
 * ownOpening).
 */
export const BEGIN_OWN = 'BEGIN ISOLATION LEVEL READ COMMITTED';
export const BEGIN_OWN_READ_ONLY = 'BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY';

/*
 * A timestamp that schemata reads, as whole milliseconds since the epoch
 * (int8, which the driver gives as a string): as text, PostgreSQL writes a
 * timestamp in the session's DateStyle (a database's 'SQL, DMY', 'German' or
 * 'Postgres'), which the driver parses as ISO only, and a float8 with the
 * session's extra_float_digits (-15 wrote 2033 for 2026); the session's
 * settings are the file's too.
 */
export const epochMillisSql = (timestamp: string): string =>
  `(pg_catalog.date_part('epoch', ${timestamp}) * 1000)::pg_catalog.int8`;

/** A column epochMillisSql made, as the driver gives it (an int8's text) or JSON does (a number), as a Date. */
export const dateOfEpochMillis = (value: string | number): Date => new Date(Number(value));

/** Each setting and the value schemata's own statements use. */
const OWN = { jit: 'off', statement_timeout: '0' } as const;

const saved = (name: string) => `schemata.user_${name}`;
const pairs = Object.entries(OWN);

/** In a transaction, before schemata's first own statement: keeps the user's values, then switches to ours. */
export const OWN_SETTINGS_SQL = `SELECT ${pairs
  .map(
    ([name, value]) =>
      `pg_catalog.set_config('${saved(name)}', pg_catalog.current_setting('${name}'), true), pg_catalog.set_config('${name}', '${value}', true)`,
  )
  .join(', ')}`;

/** Before the file: the user's values back. */
export const USER_SETTINGS_SQL = `SELECT ${pairs.map(([name]) => `pg_catalog.set_config('${name}', pg_catalog.current_setting('${saved(name)}'), true)`).join(', ')}`;

/** After the file: ours again (whatever the file SET), each as its own statement without `;`. */
export const OWN_AGAIN_STATEMENTS = pairs.map(([name, value]) => `SET LOCAL ${name} = ${value}`);

/** The same settings as a function's SET clauses: a function keeps them whoever calls it. */
export const OWN_FUNCTION_SETTINGS = pairs
  .map(([name, value]) => `SET ${name} = ${value}`)
  .join(' ');

/**
 * A read of schemata's own outside a migration (the no-op deploy, status,
 * validate), in one round trip: in a read-only transaction with our settings,
 * so that a server with jit = on does not compile the catalog listing.
 * `sql` takes no parameters.
 *
 * `hashJoins`: for a read that compares two lists of thousands of rows (the
 * expected objects and the catalog's): they are matched by a hash, whatever
 * statistics schemata.objects has. Without any (a database migrated a moment
 * ago, before autovacuum analyzed it), the planner sorted both sides to merge
 * them: on 1,000 tables, 50 ms against 36 on a new session.
 */
export async function readWithOwnSettings<T extends object>(
  client: { query: (text: string) => Promise<unknown> },
  sql: string,
  { hashJoins = false, inTransaction = false } = {},
): Promise<T[]> {
  // In a transaction the session holds open (the run lock's): a savepoint, whose rollback takes our settings
  // back, where a COMMIT would end that transaction and what it holds.
  const closing = inTransaction
    ? [`ROLLBACK TO SAVEPOINT ${READING}`, `RELEASE SAVEPOINT ${READING}`]
    : ['COMMIT'];
  try {
    const results = (await client.query(
      `${inTransaction ? `SAVEPOINT ${READING}` : BEGIN_OWN_READ_ONLY}; ${OWN_SETTINGS_SQL}; ${hashJoins ? 'SET LOCAL enable_mergejoin = off; ' : ''}${sql}; ${closing.join('; ')}`,
    )) as Array<{ rows: T[] }>;
    return results[results.length - 1 - closing.length]?.rows ?? [];
  } catch (error) {
    // A failed statement leaves the transaction (or savepoint) open and aborted: closed here, for the session's next query.
    await client.query(inTransaction ? closing.join('; ') : 'ROLLBACK').catch(() => undefined);
    throw error;
  }
}

const READING = 'schemata_reading';
