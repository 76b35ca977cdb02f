import fc from 'fast-check';
import realStringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import stringWidth, { printableAsciiWidth } from '../../../src/cli/string-width.js';

describe('the CLI string-width: the real one for all but printable ASCII', () => {
  it('answers printable ASCII itself, as string-width does', () => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
        }),
        (text) => {
          expect(printableAsciiWidth(text)).toBe(realStringWidth(text));
          expect(stringWidth(text)).toBe(realStringWidth(text));
        },
      ),
    );
  });

  it('leaves any other text to string-width: wide, combining, emoji, ANSI colours, control characters', () => {
    for (const text of ['表x', 'e\u0301', '👍🏽', '\u001b[31mred\u001b[0m', 'tab\there', 'line\n']) {
      expect(printableAsciiWidth(text)).toBeUndefined();
      expect(stringWidth(text)).toBe(realStringWidth(text));
    }
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (text) => {
        expect(stringWidth(text)).toBe(realStringWidth(text));
      }),
    );
  });

  it('is 0 for what is not text, as string-width is', () => {
    expect(stringWidth(undefined)).toBe(0);
    expect(stringWidth('')).toBe(0);
  });
});
