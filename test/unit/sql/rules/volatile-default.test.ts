import { describe, expect, it } from 'vitest';
import { findingsOf, lintWithParser } from './findings.js';

const RULE = 'volatile-default';

const findings = findingsOf(RULE);
const lintAll = lintWithParser();

/** A fix is SQL to paste: it parses, and raises no warning of this rule. */
const pasteable = (fix: string) =>
  lintAll(fix).filter((f) => f.severity === 'error' || f.rule === RULE);

describe(RULE, () => {
  it.each([
    ['now() (stable)', 'ALTER TABLE a.t ADD COLUMN IF NOT EXISTS c timestamptz DEFAULT now();'],
    [
      'current_timestamp (stable)',
      'ALTER TABLE a.t ADD COLUMN IF NOT EXISTS c timestamptz NOT NULL DEFAULT current_timestamp;',
    ],
    ['a constant', "ALTER TABLE a.t ADD COLUMN IF NOT EXISTS c text DEFAULT 'x';"],
    ['no default', 'ALTER TABLE a.t ADD COLUMN IF NOT EXISTS c uuid;'],
    [
      'SET DEFAULT on a column that is there (no rewrite)',
      'ALTER TABLE a.t ALTER COLUMN c SET DEFAULT gen_random_uuid();',
    ],
    [
      'a table made earlier in the file',
      'CREATE TABLE IF NOT EXISTS a.t (x int);\nALTER TABLE a.t ADD COLUMN IF NOT EXISTS c uuid DEFAULT gen_random_uuid();',
    ],
    [
      'a new table',
      'CREATE TABLE IF NOT EXISTS a.t (id bigserial, c uuid DEFAULT gen_random_uuid());',
    ],
  ])('ok: %s', (_what, sql) => {
    expect(findings(sql)).toEqual([]);
  });

  it.each([
    [
      'gen_random_uuid()',
      'ALTER TABLE workspace.items ADD COLUMN IF NOT EXISTS token uuid DEFAULT gen_random_uuid();',
      'ADD COLUMN token DEFAULT gen_random_uuid() (volatile: a value per row) on workspace.items rewrites workspace.items under an ACCESS EXCLUSIVE lock: reads and writes wait until it is done.',
      [
        'ALTER TABLE workspace.items ADD COLUMN IF NOT EXISTS token uuid;',
        'ALTER TABLE workspace.items ALTER COLUMN token SET DEFAULT gen_random_uuid();',
        '-- then fill the rows there were, a batch per transaction, until it updates none:',
        'UPDATE workspace.items SET token = gen_random_uuid() WHERE ctid IN (SELECT ctid FROM workspace.items WHERE token IS NULL LIMIT 10000);',
      ],
    ],
    [
      'clock_timestamp() with NOT NULL',
      'ALTER TABLE a.t ADD COLUMN c timestamptz NOT NULL DEFAULT clock_timestamp();',
      'ADD COLUMN c DEFAULT clock_timestamp() (volatile: a value per row) on a.t rewrites a.t under an ACCESS EXCLUSIVE lock: reads and writes wait until it is done.',
      [
        'ALTER TABLE a.t ADD COLUMN IF NOT EXISTS c timestamptz;',
        'ALTER TABLE a.t ALTER COLUMN c SET DEFAULT clock_timestamp();',
        '-- then fill the rows there were, a batch per transaction, until it updates none:',
        'UPDATE a.t SET c = clock_timestamp() WHERE ctid IN (SELECT ctid FROM a.t WHERE c IS NULL LIMIT 10000);',
        '-- and then SET NOT NULL as set-not-null-without-check shows.',
      ],
    ],
    [
      'random() inside an expression',
      'ALTER TABLE t ADD COLUMN IF NOT EXISTS r int DEFAULT (random() * 100)::int;',
      'ADD COLUMN r DEFAULT (random() * 100)::integer (volatile: a value per row) on t rewrites t under an ACCESS EXCLUSIVE lock: reads and writes wait until it is done.',
      [
        'ALTER TABLE t ADD COLUMN IF NOT EXISTS r integer;',
        'ALTER TABLE t ALTER COLUMN r SET DEFAULT (random() * 100)::integer;',
        '-- then fill the rows there were, a batch per transaction, until it updates none:',
        'UPDATE t SET r = (random() * 100)::integer WHERE ctid IN (SELECT ctid FROM t WHERE r IS NULL LIMIT 10000);',
      ],
    ],
    [
      'nextval()',
      "ALTER TABLE a.t ADD COLUMN IF NOT EXISTS n bigint DEFAULT nextval('a.t_n_seq');",
      "ADD COLUMN n DEFAULT nextval('a.t_n_seq') (volatile: a value per row) on a.t rewrites a.t under an ACCESS EXCLUSIVE lock: reads and writes wait until it is done.",
      [
        'ALTER TABLE a.t ADD COLUMN IF NOT EXISTS n bigint;',
        "ALTER TABLE a.t ALTER COLUMN n SET DEFAULT nextval('a.t_n_seq');",
        '-- then fill the rows there were, a batch per transaction, until it updates none:',
        "UPDATE a.t SET n = nextval('a.t_n_seq') WHERE ctid IN (SELECT ctid FROM a.t WHERE n IS NULL LIMIT 10000);",
      ],
    ],
    [
      'a bigserial column',
      'ALTER TABLE a.t ADD COLUMN IF NOT EXISTS seq bigserial;',
      'ADD COLUMN seq bigserial (a DEFAULT nextval(), volatile) on a.t rewrites a.t under an ACCESS EXCLUSIVE lock: reads and writes wait until it is done.',
      [
        'ALTER TABLE a.t ADD COLUMN IF NOT EXISTS seq bigint;',
        'CREATE SEQUENCE IF NOT EXISTS a.t_seq_seq OWNED BY a.t.seq;',
        "ALTER TABLE a.t ALTER COLUMN seq SET DEFAULT nextval('a.t_seq_seq');",
        '-- then fill the rows there were, a batch per transaction, until it updates none:',
        "UPDATE a.t SET seq = nextval('a.t_seq_seq') WHERE ctid IN (SELECT ctid FROM a.t WHERE seq IS NULL LIMIT 10000);",
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
