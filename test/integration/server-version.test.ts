import { describe, expect, it } from 'vitest';
import { query, servers } from '../support/db.js';

describe('the PostgreSQL under test', () => {
  it('is the major TEST_PG_MAJOR asks for (18 by default), on both servers', async () => {
    if (process.env.TEST_DATABASE_URL || process.env.TEST_PROVIDER) return; // the caller chose the server
    const expected = process.env.TEST_PG_MAJOR ?? '18';
    for (const url of [servers().primary, servers().data]) {
      const [row] = await query<{ v: string }>(
        url,
        "SELECT current_setting('server_version_num') AS v",
      );
      expect(row!.v.slice(0, 2)).toBe(expected);
    }
  });
});
