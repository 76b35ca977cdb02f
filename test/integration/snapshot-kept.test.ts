import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BEFORE_ROWS, keepBeforeSql, snapshotRows } from '../../src/engine/effects.js';
import { quoteLiteral } from '../../src/sql/quote.js';
import { freshDatabase, openClient } from '../support/db.js';

/*
 * The snapshot before a migration is kept in settings of its transaction, one
 * text array per column (engine/effects.ts), and read back after the file. An
 * identity is any text PostgreSQL takes in a name, quoted where it must be:
 * whatever it holds (quotes, backslashes, braces, commas, the word NULL, white
 * space, any script), the rows read back are the rows kept, in their order,
 * and a missing parent stays missing.
 */

const TRICKY = ['NULL', 'null', '', ' ', '{', '}', ',', '"', '\\', 'a"b\\c{d},e', '{"x"}', 'Ω ☃ 𝄞'];
const text = fc.oneof(
  fc.constantFrom(...TRICKY),
  fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => s.replaceAll('\u0000', '')),
);
const row = fc.record({
  kind: text,
  key: text,
  identity: text,
  name: text,
  parent: fc.option(text, { nil: null }),
});

describe('the snapshot kept before a migration', () => {
  it('reads back every row as it was kept, whatever the text of its names', async () => {
    const client = await openClient(await freshDatabase());
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(row, { maxLength: 30 }), async (rows) => {
          const kept = rows.map((r) => ({ ...r, schema_name: null, table_name: null }));
          await client.query('BEGIN');
          try {
            await client.query(
              keepBeforeSql(snapshotRows(`${quoteLiteral(JSON.stringify(kept))}::json`)),
            );
            const { rows: read } = await client.query<Record<string, string | null>>(
              `SELECT * FROM ${BEFORE_ROWS}`,
            );
            expect(read).toEqual(rows);
          } finally {
            await client.query('ROLLBACK');
          }
        }),
        { numRuns: 150 },
      );
    } finally {
      await client.end();
    }
  });
});
