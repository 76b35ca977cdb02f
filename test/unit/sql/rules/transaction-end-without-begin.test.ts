import { describe, expect, it } from 'vitest';
import { findingsOf } from './findings.js';

const RULE = 'transaction-end-without-begin';

const findings = findingsOf(RULE);

const committed =
  'ends no transaction of this file: no BEGIN of the file is open before it, so the statements before it have already committed one by one (schemata runs the file outside its own transaction, as psql would)';

describe(RULE, () => {
  it.each([
    [
      "Prisma's enum file: BEGIN ... COMMIT blocks of its own",
      'BEGIN;\nALTER TYPE "Mood" ADD VALUE \'sad\';\nCOMMIT;\nBEGIN;\nUPDATE "Person" SET mood = \'sad\';\nCOMMIT;',
    ],
    ['a block the file rolls back', 'BEGIN;\nCREATE TABLE a.t (id int);\nROLLBACK;'],
    ['START TRANSACTION ... END', 'START TRANSACTION;\nSELECT 1;\nEND;'],
    ['BEGIN ... ABORT, lower case', 'begin;\nselect 1;\nabort;'],
    // A trailing COMMIT of a file run in schemata's transaction is schemata's own.
    ['a trailing COMMIT alone', 'CREATE TABLE a.t (id int);\nCOMMIT;'],
    ['a leading BEGIN and a trailing COMMIT', 'BEGIN;\nCREATE TABLE a.t (id int);\nCOMMIT;'],
    ['COMMIT AND CHAIN, then COMMIT', 'BEGIN;\nSELECT 1;\nCOMMIT AND CHAIN;\nSELECT 2;\nCOMMIT;'],
    ['ROLLBACK TO SAVEPOINT', 'SAVEPOINT s;\nSELECT 1;\nROLLBACK TO SAVEPOINT s;'],
    ['COMMIT PREPARED', "COMMIT PREPARED 'x';\nSELECT 1;"],
    [
      'a DO block that COMMITs',
      'DO $$ BEGIN INSERT INTO a.t VALUES (1); COMMIT; END $$;\nSELECT 1;',
    ],
    ['ROLLBACK in a comment', 'SELECT 1;\n-- ROLLBACK;\nSELECT 2;'],
    [
      "ROLLBACK in a procedure's body",
      'CREATE PROCEDURE a.p() LANGUAGE plpgsql AS $$ BEGIN ROLLBACK; END $$;\nCALL a.p();',
    ],
  ])('ok: %s', (_what, sql) => {
    expect(findings(sql)).toEqual([]);
  });

  it.each([
    [
      'a lone ROLLBACK after statements',
      'CREATE TABLE a.t (id int);\nINSERT INTO a.t VALUES (1);\nROLLBACK;',
      3,
      1,
      'ROLLBACK',
      1,
    ],
    ['a lone ABORT, lower case', 'create table a.t (id int);\n  abort;', 2, 3, 'ROLLBACK', 1],
    [
      'a mid-file COMMIT',
      'CREATE TABLE a.t (id int);\nCOMMIT;\nCREATE TABLE a.u (id int);',
      2,
      1,
      'COMMIT',
      1,
    ],
    ['a mid-file END', 'SELECT 1;\nEND;\nSELECT 2;', 2, 1, 'COMMIT', 1],
    [
      'a COMMIT after a block already committed',
      'BEGIN;\nSELECT 1;\nCOMMIT;\nCREATE TABLE a.t (id int);\nCOMMIT;',
      5,
      1,
      'COMMIT',
      4,
    ],
    [
      'a ROLLBACK after a block, in a no-transaction file',
      '-- schemata:no-transaction\nBEGIN;\nSELECT 1;\nCOMMIT;\nDELETE FROM a.t;\nROLLBACK;',
      6,
      1,
      'ROLLBACK',
      5,
    ],
    [
      'a trailing COMMIT in a file with CREATE INDEX CONCURRENTLY',
      'CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON a.t (x);\nCOMMIT;',
      2,
      1,
      'COMMIT',
      1,
    ],
    [
      'a trailing COMMIT in a -- schemata:no-transaction file',
      '-- schemata:no-transaction\nINSERT INTO "A"."T" VALUES (1);\nCOMMIT;',
      3,
      1,
      'COMMIT',
      2,
    ],
  ])('bad: %s', (_what, sql, line, column, word, from) => {
    const found = findings(sql);
    expect(found.map((f) => ({ at: f.at, severity: f.severity, message: f.message }))).toEqual([
      {
        at: { line, column },
        severity: 'warning',
        message: `${word} ${committed}${word === 'ROLLBACK' ? ', and it undoes none of them.' : '.'}`,
      },
    ]);
    // The fix is SQL: a BEGIN before the statements it should end.
    expect(found[0]!.fix.split('\n')).toEqual([
      `-- before line ${from}, where what the ${word} should end begins:`,
      'BEGIN;',
      `-- (or delete the ${word} at line ${line})`,
    ]);
  });

  it('a second COMMIT right after a block: delete it', () => {
    const found = findings('BEGIN;\nSELECT 1;\nCOMMIT;\nCOMMIT;');
    expect(found.map((f) => [f.at.line, f.fix])).toEqual([
      [4, '-- delete the COMMIT at line 4: it ends nothing'],
    ]);
  });
});
