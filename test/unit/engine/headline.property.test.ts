import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applicationName, headline } from '../../../src/engine/session.js';
import type { Statement } from '../../../src/sql/statements.js';

const statement = (text: string): Statement =>
  ({
    text,
    shown: text,
    start: 0,
    end: text.length,
    at: { line: 1, column: 1 },
    node: {},
  }) as unknown as Statement;

/*
 * The batch's first line is a comment built from the file's own text: whatever
 * the text, it must stay one line of printable ASCII, or the rest of it would
 * run as SQL (and error positions would shift).
 */
describe('the batch headline and application_name', () => {
  it('stay one line of printable ASCII whatever the file holds', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'binary' }), { maxLength: 5 }),
        fc.string({ unit: 'binary' }),
        (texts, file) => {
          const line = headline('data', file, texts.map(statement));
          expect(line).toMatch(/^-- schemata: set data, [\x20-\x7e]*$/);
          const name = applicationName('data', file);
          expect(Buffer.byteLength(name)).toBeLessThanOrEqual(63);
          expect(name).toMatch(/^[\x20-\x7e]*$/);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('equals the whole file folded and joined, cut at 400 characters', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.string({
            unit: fc.constantFrom('a', 'B', ' ', '\n', '\t', ';', 'é'),
            maxLength: 300,
            size: 'large',
          }),
          { maxLength: 20 },
        ),
        (texts) => {
          const whole = texts
            .map((t) => t.replace(/\s+/g, ' ').trim())
            .join('; ')
            .slice(0, 400);
          const count = `${texts.length} statement${texts.length === 1 ? '' : 's'}`;
          expect(headline('data', 'f.sql', texts.map(statement))).toBe(
            `-- schemata: set data, f.sql (${count}): ${whole}`.replace(/[^\x20-\x7e]/g, '?'),
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  it('folds a statement spread over lines and counts them', () => {
    expect(
      headline('data', '002_x.sql', [
        statement('CREATE TABLE t (\n  id int\n)'),
        statement('SELECT 1'),
      ]),
    ).toBe('-- schemata: set data, 002_x.sql (2 statements): CREATE TABLE t ( id int ); SELECT 1');
  });
});
