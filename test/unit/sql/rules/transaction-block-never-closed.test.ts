import { describe, expect, it } from 'vitest';
import { findingsOf } from './findings.js';

const RULE = 'transaction-block-never-closed';

const findings = findingsOf(RULE);

const open =
  "opens a transaction block that the file never closes: psql would roll it back when its session ends, losing what the block did; schemata commits it when the file ends, measured as the file's other blocks.";

describe(RULE, () => {
  it.each([
    // A leading BEGIN opens schemata's own transaction: the file runs in it, COMMIT or not.
    [
      "a leading BEGIN with no COMMIT, in schemata's transaction",
      'BEGIN;\nCREATE TABLE a.t (id int);',
    ],
    ['a leading BEGIN and a trailing COMMIT', 'BEGIN;\nCREATE TABLE a.t (id int);\nCOMMIT;'],
    [
      "Prisma's enum file: blocks of its own, each closed",
      'BEGIN;\nALTER TYPE "Mood" ADD VALUE \'sad\';\nCOMMIT;\nBEGIN;\nUPDATE "Person" SET mood = \'sad\';\nCOMMIT;',
    ],
    ['a block the file rolls back', '-- schemata:no-transaction\nBEGIN;\nSELECT 1;\nROLLBACK;'],
    ['START TRANSACTION ... END', 'SELECT 1;\nSTART TRANSACTION;\nSELECT 2;\nEND;'],
    // A block with nothing in it loses nothing.
    ['COMMIT AND CHAIN last', 'SELECT 1;\nBEGIN;\nSELECT 2;\nCOMMIT AND CHAIN;'],
    ['a BEGIN last', '-- schemata:no-transaction\nSELECT 1;\nBEGIN;'],
    [
      'COMMIT AND CHAIN, then COMMIT',
      'SELECT 1;\nBEGIN;\nSELECT 2;\nCOMMIT AND CHAIN;\nSELECT 3;\nCOMMIT;',
    ],
    ['BEGIN in a comment', '-- schemata:no-transaction\nSELECT 1;\n-- BEGIN;\nSELECT 2;'],
    [
      "BEGIN in a function's body",
      '-- schemata:no-transaction\nCREATE FUNCTION a.f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$;',
    ],
  ])('ok: %s', (_what, sql) => {
    expect(findings(sql)).toEqual([]);
  });

  it.each([
    [
      'a BEGIN with no COMMIT in a -- schemata:no-transaction file',
      '-- schemata:no-transaction\nBEGIN;\nDELETE FROM a.t;',
      2,
      'BEGIN',
    ],
    [
      'a BEGIN after a statement',
      'CREATE TABLE a.t (id int);\nbegin;\nDELETE FROM a.t;',
      2,
      'BEGIN',
    ],
    [
      'START TRANSACTION after a closed block',
      'BEGIN;\nSELECT 1;\nCOMMIT;\nSTART TRANSACTION ISOLATION LEVEL SERIALIZABLE;\nSELECT 2;',
      4,
      'START TRANSACTION',
    ],
    // A second BEGIN in a block only warns: the block the first one opened is the one left open.
    ['a second BEGIN inside the open block', 'SELECT 1;\nBEGIN;\nBEGIN;\nSELECT 2;', 2, 'BEGIN'],
    [
      'statements after COMMIT AND CHAIN',
      'SELECT 1;\nBEGIN;\nSELECT 2;\nCOMMIT AND CHAIN;\nDELETE FROM a.t;',
      4,
      'COMMIT AND CHAIN',
    ],
    [
      'statements after ROLLBACK AND CHAIN',
      'SELECT 1;\nBEGIN;\nSELECT 2;\nROLLBACK AND CHAIN;\nDELETE FROM a.t;',
      4,
      'ROLLBACK AND CHAIN',
    ],
  ])('bad: %s', (_what, sql, line, word) => {
    const found = findings(sql);
    expect(found.map((f) => ({ at: f.at, severity: f.severity, message: f.message }))).toEqual([
      { at: { line, column: 1 }, severity: 'warning', message: `${word} ${open}` },
    ]);
    // The fix is SQL: a COMMIT where the block should end.
    expect(found[0]!.fix.split('\n')).toEqual([
      `-- where the block that line ${line} opens should end:`,
      'COMMIT;',
    ]);
  });
});
