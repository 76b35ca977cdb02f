import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { CountingBatch } from '../../src/engine/batch-query.js';
import { freshDatabase, openClient } from '../support/db.js';

/*
 * A migration's batch goes to the server as one simple query (engine/batch-query.ts):
 * what comes back is counted, and only the measurement's row is kept. Against the
 * server, since the messages are its own.
 */
describe('a batch sent as one query', () => {
  let client: pg.Client;
  beforeAll(async () => {
    client = await openClient(await freshDatabase());
  });
  afterAll(async () => {
    await client.end();
  });

  const send = async (sql: string) => {
    const batch = new CountingBatch(sql, 'kept');
    client.query(batch);
    const error = await batch.done.then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    return { batch, error };
  };

  it('counts every command completed and keeps only the rows of results with the column asked for', async () => {
    const { batch, error } = await send(
      `CREATE TEMP TABLE t (n int);
       INSERT INTO t SELECT pg_catalog.generate_series(1, 3);
       SELECT n FROM t;
       ;
       SELECT 'a' AS kept, NULL::text AS other UNION ALL SELECT 'b', 'x';
       UPDATE t SET n = n + 1;
       SELECT 1 AS not_kept`,
    );
    expect(error).toBeUndefined();
    // The empty statement completes nothing.
    expect(batch.completed).toBe(6);
    expect(batch.rows).toEqual([
      { kept: 'a', other: null },
      { kept: 'b', other: 'x' },
    ]);
  });

  it("fails with the server's error, having counted the commands before it; the session then takes the next query", async () => {
    const { batch, error } = await send(
      `BEGIN; SELECT 1 AS kept; SELECT 1 / 0; SELECT 2 AS kept; COMMIT`,
    );
    expect(error?.code).toBe('22012');
    expect(batch.completed).toBe(2);
    expect(batch.rows).toEqual([{ kept: '1' }]);
    await client.query('ROLLBACK');
    expect((await client.query<{ n: number }>('SELECT 7 AS n')).rows).toEqual([{ n: 7 }]);
  });

  it('a batch of 20,000 statements still counts them all', async () => {
    const { batch, error } = await send(
      `CREATE TEMP TABLE many (n int);\n${'INSERT INTO many VALUES (1);\n'.repeat(20_000)}SELECT count(*)::text AS kept FROM many`,
    );
    expect(error).toBeUndefined();
    expect(batch.completed).toBe(20_002);
    expect(batch.rows).toEqual([{ kept: '20000' }]);
  });
});
