import type { Node } from 'libpg-query';
import { maskSecrets } from '../targets/redact.js';

/** A position in a file, 1-based, as editors and compilers print it. */
export interface Location {
  line: number;
  column: number;
}

/** One top-level statement of a migration file, located by the parser. */
export interface Statement {
  /** The parser's node: `{ CreateStmt: {...} }` and so on. */
  node: Node;
  /** Character offsets into the file: first token to end (without the `;`). */
  start: number;
  end: number;
  text: string;
  /** The text as messages show it: its secrets masked, by the scanner's tokens (maskStatement). */
  shown: string;
  at: Location;
}

/** A file that does not parse: where, and PostgreSQL's own words. */
export interface SyntaxProblem {
  kind: 'syntax' | 'meta-command';
  message: string;
  offset: number;
  at: Location;
}

export type ParsedFile = { ok: true; statements: Statement[] } | { ok: false; problem: SyntaxProblem };

/** The loaded parser: passed in so that this module stays free of I/O and loading. */
export interface Parser {
  parseSync(sql: string): { stmts?: Array<{ stmt?: Node; stmt_location?: number; stmt_len?: number }> };
  /** The PL/pgSQL parser: a DO block or CREATE FUNCTION in, its statement tree out. */
  parsePlPgSQLSync(sql: string): unknown;
  scanSync(sql: string): { tokens: Array<{ start: number; end: number; text: string; tokenName: string; keywordKind: number }> };
}

/** A token of PostgreSQL's scanner, at character offsets; `keyword` upper-case when it is one. */
export interface Token {
  start: number;
  end: number;
  text: string;
  kind: string;
  keyword: string | undefined;
}

/** The scanner's tokens (comments included, strings whole); none when the text does not even scan. */
export function scan(parser: Parser, text: string): Token[] {
  let tokens: ReturnType<Parser['scanSync']>['tokens'];
  try {
    tokens = parser.scanSync(text).tokens;
  } catch {
    return [];
  }
  const toChar = byteToCharMapper(text);
  return tokens.map((t) => {
    const start = toChar(t.start);
    return { start, end: toChar(t.end), text: t.text, kind: t.tokenName, keyword: t.keywordKind > 0 ? t.text.toUpperCase() : undefined };
  });
}

/** The text of every comment of a file. */
export function commentsOf(parser: Parser, text: string): string[] {
  return scan(parser, text)
    .filter((t) => t.kind === 'SQL_COMMENT' || t.kind === 'C_COMMENT')
    .map((t) => t.text);
}

/** Line and column of a character offset. Columns count characters, not bytes. */
export function locate(text: string, offset: number): Location {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(Math.max(offset, 0), text.length);
  for (let i = text.indexOf('\n'); i !== -1 && i < end; i = text.indexOf('\n', i + 1)) {
    line += 1;
    lineStart = i + 1;
  }
  return { line, column: end - lineStart + 1 };
}

/**
 * libpg_query reports byte offsets into the UTF-8 text; JavaScript strings
 * index UTF-16 units. Maps the first to the second, walking forward only, so
 * statements in order cost one pass over the file.
 */
function byteToCharMapper(text: string): (byteOffset: number) => number {
  if (Buffer.byteLength(text) === text.length) return (b) => b; // ASCII: the same
  let charIndex = 0;
  let byteIndex = 0;
  return (target) => {
    if (target < byteIndex) {
      charIndex = 0;
      byteIndex = 0;
    }
    while (byteIndex < target && charIndex < text.length) {
      const code = text.codePointAt(charIndex)!;
      byteIndex += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
      charIndex += code >= 0x10000 ? 2 : 1;
    }
    return charIndex;
  };
}

function codePointsToIndex(text: string, codePoints: number): number {
  let index = 0;
  for (let n = 0; n < codePoints && index < text.length; n++) index += text.codePointAt(index)! >= 0x10000 ? 2 : 1;
  return index;
}

/**
 * Splits a file into statements with their exact positions, from the real
 * PostgreSQL parser: dollar quotes, nested comments, E'' strings and DO
 * blocks are its business, never a regular expression's.
 */
export function parseFile(parser: Parser, sql: string): ParsedFile {
  // The parser refuses an empty string; an empty migration is valid and does nothing.
  if (sql.trim() === '') return { ok: true, statements: [] };
  let result: ReturnType<Parser['parseSync']>;
  try {
    result = parser.parseSync(sql);
  } catch (error) {
    return { ok: false, problem: syntaxProblem(sql, error) };
  }
  const toChar = byteToCharMapper(sql);
  // Scanned only when a secret may stand in it: a PASSWORD, or a connection string in a literal.
  const tokens = /pass|:\/\//i.test(sql) ? scan(parser, sql) : [];
  const statements: Statement[] = [];
  for (const raw of result.stmts ?? []) {
    if (!raw.stmt) continue;
    const startByte = raw.stmt_location ?? 0;
    const start = toChar(startByte);
    // stmt_len 0 means "to the end of the text" (a last statement without ';').
    const end = raw.stmt_len ? toChar(startByte + raw.stmt_len) : sql.length;
    const text = sql.slice(start, end).trim();
    const offset = start + (sql.slice(start, end).length - sql.slice(start, end).trimStart().length);
    const shown = maskStatement(text, tokens.filter((t) => t.start >= offset && t.end <= offset + text.length), offset);
    statements.push({ node: raw.stmt, start, end, text, shown, at: locate(sql, start) });
  }
  return { ok: true, statements };
}

function syntaxProblem(sql: string, error: unknown): SyntaxProblem {
  const details = (error as { sqlDetails?: { message?: string; cursorPosition?: number } }).sqlDetails;
  const message = details?.message ?? (error as Error).message ?? String(error);
  // Unlike statement locations, the error cursor counts characters (code points), not bytes.
  const offset = codePointsToIndex(sql, details?.cursorPosition ?? 0);
  const at = locate(sql, offset);
  // psql's meta-commands (\i, \set, \connect) are not SQL: the server never sees them.
  const lineStart = offset - (at.column - 1);
  if (sql[offset] === '\\' && sql.slice(lineStart, offset).trim() === '') {
    const command = sql.slice(offset).split(/\s/, 1)[0];
    return {
      kind: 'meta-command',
      message: `${command} is a psql meta-command, not SQL; schemata sends files to the server, which does not understand it`,
      offset,
      at,
    };
  }
  const near = sql.slice(offset, offset + 30).split('\n', 1)[0]!.trim();
  // The parser's words and the text near the error may hold a password literal: masked where one stands.
  return { kind: 'syntax', message: maskSecrets(near ? `${message} (near "${near}")` : message), offset, at };
}

const STRING_TOKENS = new Set(['SCONST', 'USCONST']);

/**
 * A statement as messages show it: the literal after PASSWORD (CREATE/ALTER
 * ROLE, a user mapping's `password '…'` option) is `'***'`, whatever its
 * quoting (E'…', U&'…', $$…$$); a connection string in any other literal (dblink,
 * CREATE SUBSCRIPTION … CONNECTION) is masked as a connection string. By the
 * scanner's tokens, so a quote inside the password cannot end the match early.
 */
export function maskStatement(text: string, tokens: readonly Token[], offset = 0): string {
  let out = '';
  let at = 0;
  let previous: Token | undefined;
  for (const token of tokens) {
    if (token.kind === 'SQL_COMMENT' || token.kind === 'C_COMMENT') continue;
    if (STRING_TOKENS.has(token.kind) || /^u&'/i.test(token.text)) {
      const afterPassword = previous !== undefined && previous.text.toLowerCase() === 'password';
      const original = text.slice(token.start - offset, token.end - offset);
      const masked = afterPassword ? "'***'" : maskSecrets(original);
      if (masked !== original) {
        out += text.slice(at, token.start - offset) + masked;
        at = token.end - offset;
      }
    }
    previous = token;
  }
  return out + text.slice(at);
}

/** The kind of a parser node: `CreateStmt`, `TransactionStmt`, ... */
export function nodeKind(node: Node): string {
  return Object.keys(node)[0] ?? '';
}
