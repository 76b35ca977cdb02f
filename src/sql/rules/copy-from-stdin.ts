import { copiesFromClient } from '../classify.js';
import { plainIdent } from '../quote.js';
import type { Statement } from '../statements.js';
import type { FileContext, Finding, Rule } from './rule.js';

/** What COPY ... FROM STDIN needs that a migration file cannot give, one text for lint and for migrate's refusal. */
export function copyFromStdinMessage(target: string): string {
  return (
    `COPY ${target} FROM STDIN reads its rows from the client (psql sends the lines after it): ` +
    'schemata sends each file to the server as SQL, so there are no rows to read.'
  );
}

/** How to load the rows instead: INSERT (the file's own rows where they can be read), or COPY from a file on the server. */
export function copyFromStdinFix(target: string, rows?: readonly string[][]): string {
  const insert =
    rows && rows.length > 0 && rows.length <= SHOWN_ROWS
      ? `INSERT INTO ${target} VALUES ${rows.map((r) => `(${r.map(literalOf).join(', ')})`).join(', ')};`
      : `INSERT INTO ${target} VALUES (...), (...);`;
  return (
    `Write the rows as SQL: ${insert} ` +
    `Or, for a file on the database server, COPY ${target} FROM '/path/on/the/server/rows.csv' WITH (FORMAT csv); ` +
    '(the role needs pg_read_server_files).'
  );
}

/** Rows written out as INSERT in a fix: more are better loaded another way. */
const SHOWN_ROWS = 10;

/** A value of COPY's text format as an SQL literal (NULL for \N): the server casts it to the column's type. */
function literalOf(value: string): string {
  if (value === '\\N') return 'NULL';
  const text = value.replace(/\\(.)/g, (_all, c: string) =>
    c === 'n' ? '\n' : c === 't' ? '\t' : c === 'r' ? '\r' : c,
  );
  return `'${text.replace(/'/g, "''")}'`;
}

/** A name as written in SQL: quoted only where it must be. */

/** `workspace.c (x, y)`: the table and columns of a parsed COPY. */
function targetOf(statement: Statement): string {
  const copy = (
    statement.node as {
      CopyStmt: {
        relation?: { schemaname?: string; relname?: string };
        attlist?: Array<{ String?: { sval?: string } }>;
      };
    }
  ).CopyStmt;
  const table = [copy.relation?.schemaname, copy.relation?.relname]
    .filter((part): part is string => part !== undefined)
    .map(plainIdent)
    .join('.');
  const columns = (copy.attlist ?? []).map((a) => plainIdent(a.String?.sval ?? ''));
  return columns.length > 0 ? `${table} (${columns.join(', ')})` : table;
}

/**
 * COPY ... FROM STDIN statements of a file that does not parse (psql's data
 * lines after it are not SQL): each at its COPY, with the rows that follow it
 * up to `\.` when it uses the text format.
 */
function copiesInTokens({ sql, tokens, locate }: FileContext): Finding[] {
  const findings: Finding[] = [];
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i]!.keyword !== 'COPY' || (i > 0 && tokens[i - 1]!.text !== ';')) continue;
    let from = -1;
    let end = i + 1;
    for (; end < tokens.length && tokens[end]!.text !== ';'; end++)
      if (tokens[end]!.keyword === 'FROM') from = end;
    if (from === -1 || tokens[from + 1]?.keyword !== 'STDIN') continue;
    const target = sql.slice(tokens[i + 1]!.start, tokens[from]!.start).trim();
    // Text format (nothing after STDIN): its lines are tab-separated values, up to a line "\.".
    const plain = from + 2 === end;
    const semicolon = tokens[end];
    const after = semicolon ? sql.indexOf('\n', semicolon.start) : -1;
    const lines = after === -1 ? [] : dataLines(sql.slice(after + 1));
    const at = locate(tokens[i]!.start);
    findings.push({
      at,
      message: copyFromStdinMessage(target),
      fix: copyFromStdinFix(target, plain ? lines.map((l) => l.split('\t')) : undefined),
      // Its data lines, and the "\." after them, are what the parser could not read.
      explainsThrough: locate((semicolon ?? tokens[end - 1]!).start).line + lines.length + 1,
    });
  }
  return findings;
}

/** The lines of COPY data up to the line `\.` (all of them without one). */
function dataLines(text: string): string[] {
  const lines: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === '\\.') break;
    lines.push(line);
  }
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** psql's way of loading rows does not work in a file sent as SQL: named before anything runs. */
export const copyFromStdin: Rule = {
  id: 'copy-from-stdin',
  severity: 'error',
  summary:
    'COPY ... FROM STDIN takes its rows from the client: a migration file sent as SQL has none to give.',
  fix: copyFromStdinFix('my_schema.my_table'),
  check({ statement }) {
    if (!copiesFromClient(statement)) return [];
    const target = targetOf(statement);
    return [
      {
        at: statement.at,
        message: copyFromStdinMessage(target),
        fix: copyFromStdinFix(target),
      },
    ];
  },
  checkFile: copiesInTokens,
};
