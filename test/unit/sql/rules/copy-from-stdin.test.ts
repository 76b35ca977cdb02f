import { describe, expect, it } from 'vitest';
import { findingsOf, lintWithParser } from './findings.js';

const RULE = 'copy-from-stdin';

const findings = findingsOf(RULE);
const lint = lintWithParser();

describe(RULE, () => {
  it.each([
    [
      'COPY from a file on the server',
      "COPY workspace.c (x) FROM '/srv/rows.csv' WITH (FORMAT csv);",
    ],
    ['COPY from a program on the server', "COPY workspace.c FROM PROGRAM 'cat /srv/rows.txt';"],
    ['COPY TO STDOUT', 'COPY workspace.c TO STDOUT;'],
    ['stdin in a comment', '-- COPY workspace.c FROM stdin;\nSELECT 1;'],
  ])('ok: %s', (_what, sql) => {
    expect(findings(sql)).toEqual([]);
  });

  it('bad: COPY ... FROM stdin with no rows after it (the file parses)', () => {
    const found = findings('CREATE TABLE workspace.c (x int);\nCOPY workspace.c (x) FROM stdin;\n');
    expect(found).toEqual([
      {
        rule: RULE,
        severity: 'error',
        at: { line: 2, column: 1 },
        message:
          'COPY workspace.c (x) FROM STDIN reads its rows from the client (psql sends the lines after it): schemata sends each file to the server as SQL, so there are no rows to read.',
        fix: expect.stringContaining(
          'Write the rows as SQL: INSERT INTO workspace.c (x) VALUES',
        ) as string,
      },
    ]);
    expect(found[0]!.fix).toContain(
      "Or, for a file on the database server, COPY workspace.c (x) FROM '/path/on/the/server/rows.csv' WITH (FORMAT csv);",
    );
  });

  it("bad: psql's data lines after it (the file does not parse): named at the COPY, not as a syntax error, its rows written as INSERT", () => {
    const all = lint(
      "CREATE TABLE workspace.c (x int, name text);\nCOPY workspace.c (x, name) FROM stdin;\n1\tO'Brien\n2\t\\N\n3\ta\\tb\n\\.\n",
    );
    expect(all.map((f) => [f.rule, f.at.line])).toEqual([[RULE, 2]]);
    expect(all[0]!.message).toContain('COPY workspace.c (x, name) FROM STDIN reads its rows');
    expect(all[0]!.fix).toContain(
      "INSERT INTO workspace.c (x, name) VALUES ('1', 'O''Brien'), ('2', NULL), ('3', 'a\tb');",
    );
  });

  it('bad: CSV rows after it: named, with INSERT to write by hand', () => {
    const all = lint('COPY workspace.c FROM STDIN WITH (FORMAT csv);\n1,"a"\n\\.\n');
    expect(all.map((f) => [f.rule, f.at.line])).toEqual([[RULE, 1]]);
    expect(all[0]!.fix).toContain('INSERT INTO workspace.c VALUES (...), (...);');
  });
});
