import { describe, expect, it } from 'vitest';
import { findingsOf } from './findings.js';
import { WORK_ELSEWHERE_FIX } from '../../../../src/sql/rules/work-in-another-session.js';

const RULE = 'work-in-another-session';

const findings = findingsOf(RULE);

const REASON =
  "what it does there is outside this migration's transaction: data protection cannot measure it, and a rollback cannot undo it: migrate refuses it unless forced.";

describe(RULE, () => {
  it.each([
    [
      'dblink_connect and dblink_disconnect',
      "SELECT dblink_connect('c', 'dbname=app');\nSELECT dblink_disconnect('c');\n",
    ],
    ['COPY to a file on the server', "COPY workspace.items TO '/tmp/items.csv';\n"],
    ['a function of its own named like none of them', 'SELECT workspace.dblink_report();\n'],
  ])('ok: %s', (_what, sql) => {
    expect(findings(sql)).toEqual([]);
  });

  it.each([
    [
      'dblink_exec',
      "SELECT dblink_exec('dbname=app', 'DELETE FROM workspace.items');\n",
      'dblink_exec runs its SQL in another session, over a connection of its own',
    ],
    [
      'dblink, qualified, in a DO block',
      "DO $$ BEGIN PERFORM * FROM public.dblink('dbname=app', 'SELECT 1') AS t(x int); END $$;\n",
      'dblink runs its SQL in another session, over a connection of its own (in the DO block at line 1)',
    ],
    [
      'COPY ... TO PROGRAM',
      "COPY workspace.items TO PROGRAM 'gzip > /tmp/items.gz';\n",
      'COPY ... TO PROGRAM runs a program on the server, in a process of its own',
    ],
  ])('bad: %s', (_what, sql, why) => {
    expect(findings(sql)).toEqual([
      {
        rule: RULE,
        severity: 'warning',
        at: { line: 1, column: 1 },
        message: `${why}, and ${REASON}`,
        fix: WORK_ELSEWHERE_FIX,
      },
    ]);
  });
});
