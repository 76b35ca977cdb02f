import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { groupedDigits } from '../../../src/catalog/rows.js';
import { rowsText } from '../../../src/model/protect.js';

describe('rowsText: the rows a refusal names', () => {
  it.each([
    [{ rows: 1, more: false }, '1 row'],
    [{ rows: 3, more: false }, '3 rows'],
    [{ rows: 10000, more: true }, 'more than 10,000 rows'],
    [{ rows: null, more: false }, 'rows this role cannot count'],
  ])('%o reads %s', (holder, text) => {
    expect(rowsText(holder)).toBe(text);
  });
});

describe('groupedDigits: counts as en-US prints them, without Intl', () => {
  it('agrees with toLocaleString for any integer', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
        (n) => {
          expect(groupedDigits(n)).toBe(n.toLocaleString('en-US'));
        },
      ),
    );
  });
});
