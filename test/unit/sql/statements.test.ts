import { beforeAll, describe, expect, it } from 'vitest';
import { loadParser } from '../../../src/sql/parse.js';
import {
  locate,
  nodeKind,
  parseFile,
  type Parser,
  type ParsedFile,
  type Statement,
} from '../../../src/sql/statements.js';

let parser: Parser;
beforeAll(async () => {
  parser = await loadParser();
});

function statements(sql: string): Statement[] {
  const parsed = parseFile(parser, sql);
  if (!parsed.ok)
    throw new Error(`expected ${JSON.stringify(sql)} to parse, got ${parsed.problem.message}`);
  return parsed.statements;
}

function problem(sql: string): Extract<ParsedFile, { ok: false }>['problem'] {
  const parsed = parseFile(parser, sql);
  expect(parsed.ok).toBe(false);
  if (parsed.ok) throw new Error('expected a problem');
  return parsed.problem;
}

const at = (line: number, column: number) => ({ line, column });

describe('locate', () => {
  const text = 'ab\ncd\n\nef';
  it.each([
    [0, at(1, 1)],
    [1, at(1, 2)],
    [2, at(1, 3)], // the newline itself belongs to its line
    [3, at(2, 1)],
    [4, at(2, 2)],
    [6, at(3, 1)],
    [7, at(4, 1)],
    [8, at(4, 2)],
    [9, at(4, 3)], // end of text
    [100, at(4, 3)], // clamped to the end
    [-5, at(1, 1)], // clamped to the start
  ])('offset %s → %j', (offset, expected) => {
    expect(locate(text, offset)).toEqual(expected);
  });

  it('counts characters, not bytes', () => {
    const sql = "-- héllo ✓\nSELECT 'ü', 'x';";
    expect(locate(sql, sql.indexOf("'x'"))).toEqual(at(2, 13));
    expect(locate('é✓ü X', 4)).toEqual(at(1, 5));
  });

  it('handles CRLF line ends by line (\\r is a character of the line)', () => {
    expect(locate('a\r\nb', 3)).toEqual(at(2, 1));
  });
});

describe('parseFile', () => {
  it.each<[string, string, Array<[number, number, string]>]>([
    ['one statement', 'SELECT 1;', [[1, 1, 'SELECT 1']]],
    [
      'several statements on lines',
      'SELECT 1; SELECT 2;\nSELECT 3;',
      [
        [1, 1, 'SELECT 1'],
        [1, 11, 'SELECT 2'],
        [2, 1, 'SELECT 3'],
      ],
    ],
    [
      'leading comments: the first token',
      '-- leading\n/* block */\n  CREATE TABLE t (id int);\n',
      [[3, 3, 'CREATE TABLE t (id int)']],
    ],
    [
      'a comment between statements',
      'SELECT 1;\n-- explain; the next\n\n    SELECT 2;',
      [
        [1, 1, 'SELECT 1'],
        [4, 5, 'SELECT 2'],
      ],
    ],
    [
      'dollar-quoted body with semicolons',
      'CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; SELECT 2; $$ LANGUAGE sql;\nSELECT 1;',
      [
        [1, 1, 'CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; SELECT 2; $$ LANGUAGE sql'],
        [2, 1, 'SELECT 1'],
      ],
    ],
    [
      'a tagged dollar quote',
      "CREATE FUNCTION g() RETURNS text AS $fn$ SELECT 'a;b' || $$;$$; $fn$ LANGUAGE sql;\nSELECT 2;",
      [
        [1, 1, "CREATE FUNCTION g() RETURNS text AS $fn$ SELECT 'a;b' || $$;$$; $fn$ LANGUAGE sql"],
        [2, 1, 'SELECT 2'],
      ],
    ],
    [
      'a DO block',
      "DO $body$\nBEGIN\n  RAISE NOTICE 'a;b';\nEND\n$body$;\nSELECT 1;",
      [
        [1, 1, "DO $body$\nBEGIN\n  RAISE NOTICE 'a;b';\nEND\n$body$"],
        [6, 1, 'SELECT 1'],
      ],
    ],
    [
      'nested comments',
      '/* outer /* inner; */ still; */ SELECT 1;\nSELECT 2;',
      [
        [1, 33, 'SELECT 1'],
        [2, 1, 'SELECT 2'],
      ],
    ],
    [
      "E'' strings with \\'",
      "SELECT E'it\\'s; ok';\nSELECT 2;",
      [
        [1, 1, "SELECT E'it\\'s; ok'"],
        [2, 1, 'SELECT 2'],
      ],
    ],
    [
      "'' doubled quotes",
      "SELECT 'it''s; ok'; SELECT 2;",
      [
        [1, 1, "SELECT 'it''s; ok'"],
        [1, 21, 'SELECT 2'],
      ],
    ],
    [
      'no trailing newline or semicolon',
      'SELECT 1;\nSELECT 2',
      [
        [1, 1, 'SELECT 1'],
        [2, 1, 'SELECT 2'],
      ],
    ],
    [
      'multibyte characters before a statement',
      "-- héllo ✓\nSELECT 'ü'; SELECT 2;",
      [
        [2, 1, "SELECT 'ü'"],
        [2, 13, 'SELECT 2'],
      ],
    ],
    [
      'multibyte characters on the same line',
      "/* ✓✓✓ é */ SELECT 'ü'; SELECT 'ß';\n  SELECT 3;",
      [
        [1, 13, "SELECT 'ü'"],
        [1, 25, "SELECT 'ß'"],
        [2, 3, 'SELECT 3'],
      ],
    ],
    [
      'quoted identifiers with semicolons',
      'CREATE TABLE "a;b" (id int);\nSELECT 1;',
      [
        [1, 1, 'CREATE TABLE "a;b" (id int)'],
        [2, 1, 'SELECT 1'],
      ],
    ],
  ])('%s', (_what, sql, expected) => {
    const found = statements(sql);
    expect(found.map((s) => [s.at.line, s.at.column, s.text])).toEqual(expected);
    for (const s of found) {
      // offsets are character offsets that point at the statement
      expect(sql.slice(s.start, s.end).trim()).toBe(s.text);
      expect(locate(sql, s.start)).toEqual(s.at);
    }
  });

  it('gives the node of each statement', () => {
    const found = statements(
      'CREATE TABLE t (id int);\nDO $$ BEGIN END $$;\nBEGIN;\nINSERT INTO t VALUES (1);\nCOMMIT;',
    );
    expect(found.map((s) => nodeKind(s.node))).toEqual([
      'CreateStmt',
      'DoStmt',
      'TransactionStmt',
      'InsertStmt',
      'TransactionStmt',
    ]);
  });

  it.each(['-- nothing here\n/* or here */\n', '\n', '   \n\n', ';'])(
    'a file with only comments, blanks or ; (%j) has no statements',
    (sql) => {
      expect(statements(sql)).toEqual([]);
    },
  );

  it('an empty (zero-byte) file has no statements, like a file holding only a newline', () => {
    expect(parseFile(parser, '')).toEqual({ ok: true, statements: [] });
  });

  it.each([
    ['the second line', 'SELECT 1;\nSELEC 2;\n', 2, 1, 'SELEC'],
    ['after multibyte characters', "SELECT 'é';\n  SELECT FROM WHERE;\n", 2, 15, 'WHERE'],
    ['the first line', 'CREATE TABLE (id int);', 1, 14, '('],
    [
      'ADD CONSTRAINT IF NOT EXISTS',
      'CREATE TABLE t (id int);\nALTER TABLE t ADD CONSTRAINT IF NOT EXISTS t_pk PRIMARY KEY (id);',
      2,
      37,
      'EXISTS',
    ],
  ])('a syntax error on %s → kind syntax at line:column', (_what, sql, line, column, near) => {
    const found = problem(sql);
    expect(found.kind).toBe('syntax');
    expect(found.at).toEqual(at(line, column));
    expect(found.message).toContain('syntax error');
    expect(found.message).toContain(near);
    expect(locate(sql, found.offset)).toEqual(found.at);
  });

  it('an unterminated dollar quote is a syntax problem, not a crash', () => {
    const found = problem('SELECT 1;\nDO $$ BEGIN\n');
    expect(found.kind).toBe('syntax');
    expect(found.message.length).toBeGreaterThan(0);
  });

  it.each([
    ['\\i other.sql', 'SELECT 1;\n\\i other.sql\nSELECT 2;\n', '\\i', 2, 1],
    ['\\set indented', 'SELECT 1;\n  \\set x 1\n', '\\set', 2, 3],
    ['\\connect first', '\\connect db\nSELECT 1;', '\\connect', 1, 1],
  ])(
    'a psql meta-command (%s) → kind meta-command naming it and its line',
    (_what, sql, command, line, column) => {
      const found = problem(sql);
      expect(found.kind).toBe('meta-command');
      expect(found.message).toContain(command);
      expect(found.message).toContain('meta-command');
      expect(found.at).toEqual(at(line, column));
    },
  );
});

describe('a statement as messages show it', () => {
  it.each([
    ["CREATE ROLE app LOGIN PASSWORD 'it''s';", "CREATE ROLE app LOGIN PASSWORD '***'"],
    ["ALTER ROLE app ENCRYPTED PASSWORD E'a\\'b; c';", "ALTER ROLE app ENCRYPTED PASSWORD '***'"],
    ["ALTER ROLE app PASSWORD /* new */ $pw$x'y$pw$;", "ALTER ROLE app PASSWORD /* new */ '***'"],
    ["ALTER ROLE app PASSWORD U&'d\\0061t';", "ALTER ROLE app PASSWORD '***'"],
    [
      "CREATE USER MAPPING FOR app SERVER s OPTIONS (user 'app', password 'pw');",
      "CREATE USER MAPPING FOR app SERVER s OPTIONS (user 'app', password '***')",
    ],
    [
      "SELECT dblink_connect('host=db password=pw dbname=app');",
      "SELECT dblink_connect('host=db password=*** dbname=app')",
    ],
    ["SELECT 'password' AS word, 'a' || 'b';", "SELECT 'password' AS word, 'a' || 'b'"],
  ])('%s', (sql, shown) => {
    expect(statements(`SELECT 1;\n  ${sql}`)[1]!.shown).toBe(shown);
  });
});

describe('a long file, parsed in pieces', () => {
  // Units whose lines end in ';' inside a comment, a string, a dollar-quoted body and BEGIN ATOMIC:
  // a piece may end only where the parser ended a statement.
  const units = [
    "INSERT INTO workspace.seed (id, note) VALUES (1, 'plain; with a semicolon');",
    'SELECT 1 -- a comment that ends in a semicolon;\n  + 2;',
    "INSERT INTO workspace.seed (note) VALUES ('a string over lines;\nstill the string;\n');",
    'CREATE FUNCTION workspace.f() RETURNS int LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$;',
    'CREATE FUNCTION workspace.g() RETURNS int LANGUAGE sql BEGIN ATOMIC\n  SELECT 1;\n  SELECT 2;\nEND;',
    "/* a block comment;\n with ; inside */ INSERT INTO workspace.seed (note) VALUES ('ünïcödé 🐘');",
  ];
  const repeat = 60;
  const texts = Array.from({ length: repeat }, (_, i) => units[i % units.length]!);
  const sql = `${texts.join('\n')}\n`;

  // Pieces this small make every line that ends in ';' a place where one is tried.
  it.each([37, 64, 101, 160, 512, 256 * 1024])(
    'gives every statement whole, in order, at its line (pieces of %i characters)',
    (size) => {
      const parsed = parseFile(parser, sql, size);
      if (!parsed.ok) throw new Error(parsed.problem.message);
      const found = parsed.statements;
      // A statement starts at its first token: a leading comment is not part of it.
      expect(found.map((s) => s.text)).toEqual(
        texts.map((t) => t.replace(/;$/, '').replace(/^\/\*[^]*?\*\/ /, '')),
      );
      let line = 1;
      texts.forEach((t, i) => {
        const column = t.startsWith('/*') ? t.split('\n')[1]!.indexOf('INSERT') + 1 : 1;
        expect(found[i]!.at).toEqual(at(t.startsWith('/*') ? line + 1 : line, column));
        line += t.split('\n').length;
      });
    },
  );

  it.each([64, 256 * 1024])(
    'names the line and column of a syntax error far into it (pieces of %i characters)',
    (size) => {
      const bad = `${texts.join('\n')}\nINSERT INTO workspace.seed VALUES (1,, 2);\n`;
      const parsed = parseFile(parser, bad, size);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.problem.at).toEqual(at(bad.split('\n').length - 1, 38));
    },
  );
});
