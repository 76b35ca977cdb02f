import { describe, expect, it } from 'vitest';
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
