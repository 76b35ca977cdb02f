import { describe, expect, it } from 'vitest';
import { loadParser } from '../../../src/sql/parse.js';
import { plainIdent } from '../../../src/sql/quote.js';

describe('plainIdent', () => {
  it('quotes every name until the parser has told which words are keywords: quoting is never wrong', () => {
    expect(plainIdent('orders')).toBe('"orders"');
  });

  it("leaves bare only a lower-case name that PostgreSQL's keyword table lets stand as a name", async () => {
    await loadParser();
    expect(['orders', 'admin', 'name', 'user_id', 'a$b'].map(plainIdent)).toEqual([
      'orders',
      'admin', // an unreserved keyword
      'name',
      'user_id',
      'a$b',
    ]);
    // Reserved, type or function names, column-name keywords, and what is not lower-case.
    expect(
      ['order', 'user', 'left', 'between', 'Orders', 'two words', '1st', 'say"hi'].map(plainIdent),
    ).toEqual([
      '"order"',
      '"user"',
      '"left"',
      '"between"',
      '"Orders"',
      '"two words"',
      '"1st"',
      '"say""hi"',
    ]);
  });
});
