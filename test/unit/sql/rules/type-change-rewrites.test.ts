import { describe, expect, it } from 'vitest';
import { findingsOf, lintWithParser } from './findings.js';

const RULE = 'type-change-rewrites';

const findings = findingsOf(RULE);
const lintAll = lintWithParser();

/** A fix is SQL to paste: it parses, and raises no warning of this rule. */
const pasteable = (fix: string) =>
  lintAll(fix).filter((f) => f.severity === 'error' || f.rule === RULE);

describe(RULE, () => {
  it.each([
    ['to a longer varchar', 'ALTER TABLE a.t ALTER COLUMN c TYPE varchar(200);'],
    ['to text', 'ALTER TABLE a.t ALTER COLUMN c TYPE text;'],
    ['to varchar without a length', 'ALTER TABLE a.t ALTER COLUMN c TYPE varchar;'],
    ['to a larger numeric', 'ALTER TABLE a.t ALTER COLUMN c TYPE numeric(14,2);'],
    ['to text, USING a cast of itself', 'ALTER TABLE a.t ALTER COLUMN c TYPE text USING c::text;'],
    [
      'to citext, as Prisma writes it',
      'ALTER TABLE "a"."t" ALTER COLUMN "c" SET DATA TYPE CITEXT;',
    ],
    ['to a qualified citext', 'ALTER TABLE a.t ALTER COLUMN c TYPE ext.citext;'],
    [
      'a table made earlier in the file',
      'CREATE TABLE IF NOT EXISTS a.t (c int);\nALTER TABLE a.t ALTER COLUMN c TYPE bigint;',
    ],
    ['another change of the column', 'ALTER TABLE a.t ALTER COLUMN c SET DEFAULT 0;'],
  ])('ok: %s', (_what, sql) => {
    expect(findings(sql)).toEqual([]);
  });

  it.each([
    [
      'int to bigint',
      'ALTER TABLE workspace.events ALTER COLUMN id TYPE bigint;',
      'ALTER COLUMN id TYPE bigint rewrites workspace.events and its indexes under an ACCESS EXCLUSIVE lock: reads and writes wait until it is done.',
      [
        'ALTER TABLE workspace.events ADD COLUMN IF NOT EXISTS id_new bigint;',
        '-- keep id_new in step with id for new writes (a trigger, or the application), then fill',
        '-- the rows there were, a batch per transaction, until it updates none:',
        'UPDATE workspace.events SET id_new = id::bigint WHERE ctid IN (SELECT ctid FROM workspace.events WHERE id_new IS NULL AND id IS NOT NULL LIMIT 10000);',
        '-- then, in a later migration (renames take the lock for a moment, and rewrite nothing):',
        'ALTER TABLE workspace.events RENAME COLUMN id TO id_old;',
        'ALTER TABLE workspace.events RENAME COLUMN id_new TO id;',
      ],
    ],
    [
      'text to jsonb',
      'ALTER TABLE t ALTER COLUMN doc SET DATA TYPE jsonb USING doc::jsonb;',
      'ALTER COLUMN doc TYPE jsonb rewrites t and its indexes under an ACCESS EXCLUSIVE lock: reads and writes wait until it is done.',
      [
        'ALTER TABLE t ADD COLUMN IF NOT EXISTS doc_new jsonb;',
        '-- keep doc_new in step with doc for new writes (a trigger, or the application), then fill',
        '-- the rows there were, a batch per transaction, until it updates none:',
        'UPDATE t SET doc_new = doc::jsonb WHERE ctid IN (SELECT ctid FROM t WHERE doc_new IS NULL AND doc IS NOT NULL LIMIT 10000);',
        '-- then, in a later migration (renames take the lock for a moment, and rewrite nothing):',
        'ALTER TABLE t RENAME COLUMN doc TO doc_old;',
        'ALTER TABLE t RENAME COLUMN doc_new TO doc;',
      ],
    ],
    [
      'to numeric, computed by USING',
      'ALTER TABLE a.t ALTER COLUMN price TYPE numeric(12,2) USING price_cents / 100.0;',
      'ALTER COLUMN price TYPE numeric(12,2) USING ... rewrites a.t and its indexes under an ACCESS EXCLUSIVE lock: reads and writes wait until it is done.',
      [
        'ALTER TABLE a.t ADD COLUMN IF NOT EXISTS price_new numeric(12,2);',
        '-- keep price_new in step with price for new writes (a trigger, or the application), then fill',
        '-- the rows there were, a batch per transaction, until it updates none:',
        'UPDATE a.t SET price_new = (price_cents / 100.0) WHERE ctid IN (SELECT ctid FROM a.t WHERE price_new IS NULL AND price IS NOT NULL LIMIT 10000);',
        '-- then, in a later migration (renames take the lock for a moment, and rewrite nothing):',
        'ALTER TABLE a.t RENAME COLUMN price TO price_old;',
        'ALTER TABLE a.t RENAME COLUMN price_new TO price;',
      ],
    ],
    [
      'to a text array',
      'ALTER TABLE a.t ALTER COLUMN tags TYPE text[];',
      'ALTER COLUMN tags TYPE text[] rewrites a.t and its indexes under an ACCESS EXCLUSIVE lock: reads and writes wait until it is done.',
      [
        'ALTER TABLE a.t ADD COLUMN IF NOT EXISTS tags_new text[];',
        '-- keep tags_new in step with tags for new writes (a trigger, or the application), then fill',
        '-- the rows there were, a batch per transaction, until it updates none:',
        'UPDATE a.t SET tags_new = tags::text[] WHERE ctid IN (SELECT ctid FROM a.t WHERE tags_new IS NULL AND tags IS NOT NULL LIMIT 10000);',
        '-- then, in a later migration (renames take the lock for a moment, and rewrite nothing):',
        'ALTER TABLE a.t RENAME COLUMN tags TO tags_old;',
        'ALTER TABLE a.t RENAME COLUMN tags_new TO tags;',
      ],
    ],
  ])('bad: %s', (_what, sql, message, fix) => {
    const found = findings(sql);
    expect(found.map((f) => ({ at: f.at, severity: f.severity, message: f.message }))).toEqual([
      { at: { line: 1, column: 1 }, severity: 'warning', message },
    ]);
    expect(found[0]!.fix).toBe(fix.join('\n'));
    expect(pasteable(found[0]!.fix)).toEqual([]);
  });
});
