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

export type ParsedFile =
  { ok: true; statements: Statement[] } | { ok: false; problem: SyntaxProblem };

/** The loaded parser: passed in so that this module stays free of I/O and loading. */
export interface Parser {
  parseSync(sql: string): {
    stmts?: Array<{ stmt?: Node; stmt_location?: number; stmt_len?: number }>;
  };
  /** The PL/pgSQL parser: a DO block or CREATE FUNCTION in, its statement tree out. */
  parsePlPgSQLSync(sql: string): unknown;
  scanSync(sql: string): {
    tokens: Array<{
      start: number;
      end: number;
      text: string;
      tokenName: string;
      keywordKind: number;
    }>;
  };
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
    return {
      start,
      end: toChar(t.end),
      text: t.text,
      kind: t.tokenName,
      keyword: t.keywordKind > 0 ? t.text.toUpperCase() : undefined,
    };
  });
}

/** The text of every comment of a file. */
export function commentsOf(parser: Parser, text: string): string[] {
  return scan(parser, text)
    .filter((t) => t.kind === 'SQL_COMMENT' || t.kind === 'C_COMMENT')
    .map((t) => t.text);
}

/**
 * The file's comments, trimmed, where a `-- schemata:` line may stand among
 * them (the scanner confirms it is a comment; the cheap test spares it the
 * files without one).
 */
export function markerComments(parser: Parser, text: string): string[] {
  return text.includes('-- schemata:') ? commentsOf(parser, text).map((c) => c.trim()) : [];
}

/** Line and column of a character offset. Columns count characters, not bytes. */
export function locate(text: string, offset: number): Location {
  return lineIndex(text)(offset);
}

/**
 * Line and column of many offsets into one text: the line starts once, then
 * a binary search per offset (a file of 50,000 statements would otherwise
 * be walked from its start for each of them).
 */
export function lineIndex(text: string): (offset: number) => Location {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset) => {
    const end = Math.min(Math.max(offset, 0), text.length);
    let low = 0;
    let high = starts.length - 1;
    // The last line start at or before `end` (a newline at `end` itself still belongs to its line).
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (starts[mid]! <= end) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, column: end - starts[low]! + 1 };
  };
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
  for (let n = 0; n < codePoints && index < text.length; n++)
    index += text.codePointAt(index)! >= 0x10000 ? 2 : 1;
  return index;
}

/**
 * Splits a file into statements with their exact positions, from the real
 * PostgreSQL parser: dollar quotes, nested comments, E'' strings and DO
 * blocks are its business, never a regular expression's.
 */
export function parseFile(parser: Parser, sql: string, pieceChars = PIECE_CHARS): ParsedFile {
  const statements: Statement[] = [];
  for (const piece of parsePieces(parser, sql, pieceChars)) {
    if ('problem' in piece) return { ok: false, problem: piece.problem };
    statements.push(...piece.statements);
  }
  return { ok: true, statements };
}

/**
 * parseFile in pieces of about PIECE_CHARS, each ending where a statement
 * ends: a caller that reads each piece's trees and drops them holds one
 * piece's at a time (the trees of a seed file of 50,000 INSERTs take ten
 * times its size). A syntax error ends the pieces.
 */
export function* parsePieces(
  parser: Parser,
  sql: string,
  pieceChars = PIECE_CHARS,
): Generator<{ statements: Statement[] } | { problem: SyntaxProblem }> {
  // The parser refuses an empty string; an empty migration is valid and does nothing.
  if (sql.trim() === '') return;
  const at = lineIndex(sql);
  for (let from = 0; from < sql.length;) {
    const chunk = parseChunk(parser, sql, from, pieceChars);
    if ('error' in chunk) {
      yield { problem: syntaxProblem(sql, chunk.error, from, at) };
      return;
    }
    const toChar = byteToCharMapper(chunk.text);
    const statements: Statement[] = [];
    for (const raw of chunk.result.stmts ?? []) {
      if (!raw.stmt) continue;
      const startByte = raw.stmt_location ?? 0;
      const start = from + toChar(startByte);
      // stmt_len 0 means "to the end of the text" (a last statement without ';').
      const end = raw.stmt_len ? from + toChar(startByte + raw.stmt_len) : from + chunk.text.length;
      const text = sql.slice(start, end).trim();
      // Scanned only when a secret may stand in it: a PASSWORD, or a connection string in a literal.
      const shown = /pass|:\/\//i.test(text) ? maskStatement(text, scan(parser, text)) : text;
      statements.push({ node: raw.stmt, start, end, text, shown, at: at(start) });
    }
    yield { statements };
    from += chunk.text.length;
  }
}

/**
 * Above this size a file is parsed in pieces: the parser's tree of a whole seed file would take
 * gigabytes. A piece's trees fit the young generation bin/schemata.js keeps small, so they die there
 * instead of filling the old one (a 50,000-INSERT file: 118 MiB at the peak against 148 with 64 KiB).
 */
const PIECE_CHARS = 16 * 1024;

/**
 * The statements from `from` on, parsed as one piece of about `pieceChars`
 * that ends where a statement ends: at a line break after a `;` that the
 * parser itself took as the end of its last statement (one inside a string,
 * a block comment, a dollar-quoted body or BEGIN ATOMIC leaves the piece
 * unparseable; one in a line comment leaves its last statement unterminated). A piece that does
 * not end so grows until it does, or until it is the rest of the file.
 */
function parseChunk(
  parser: Parser,
  sql: string,
  from: number,
  pieceChars: number,
): { text: string; result: ReturnType<Parser['parseSync']> } | { error: unknown } {
  for (let size = pieceChars; ; size *= 2) {
    const rest = sql.length - from <= size;
    const text = rest ? sql.slice(from) : sql.slice(from, cutAfter(sql, from + size));
    if (!rest && text.length === sql.length - from) return parseWhole(parser, text);
    if (text.trim() === '') return { text, result: { stmts: [] } };
    if (rest) return parseWhole(parser, text);
    let result: ReturnType<Parser['parseSync']>;
    try {
      result = parser.parseSync(text);
    } catch {
      continue;
    }
    // A last statement the parser ended at a `;` (stmt_len 0: it ran to the end of the text, unterminated).
    if (result.stmts?.[result.stmts.length - 1]?.stmt_len) return { text, result };
  }
}

function parseWhole(
  parser: Parser,
  text: string,
): { text: string; result: ReturnType<Parser['parseSync']> } | { error: unknown } {
  try {
    return { text, result: parser.parseSync(text) };
  } catch (error) {
    return { error };
  }
}

/** The end of the first line at or after `offset` whose last visible character is `;` (or the text's end). */
function cutAfter(sql: string, offset: number): number {
  for (let i = sql.indexOf('\n', offset); i !== -1; i = sql.indexOf('\n', i + 1)) {
    if (
      sql
        .slice(sql.lastIndexOf('\n', i - 1) + 1, i)
        .trimEnd()
        .endsWith(';')
    )
      return i + 1;
  }
  return sql.length;
}

function syntaxProblem(
  sql: string,
  error: unknown,
  from: number,
  locateIn: (offset: number) => Location,
): SyntaxProblem {
  const details = (error as { sqlDetails?: { message?: string; cursorPosition?: number } })
    .sqlDetails;
  const message = details?.message ?? (error instanceof Error ? error.message : String(error));
  // Unlike statement locations, the error cursor counts characters (code points), not bytes, from the piece's start.
  const offset = from + codePointsToIndex(sql.slice(from), details?.cursorPosition ?? 0);
  const at = locateIn(offset);
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
  const near = sql
    .slice(offset, offset + 30)
    .split('\n', 1)[0]!
    .trim();
  // The parser's words and the text near the error may hold a password literal: masked where one stands.
  return {
    kind: 'syntax',
    message: maskSecrets(near ? `${message} (near "${near}")` : message),
    offset,
    at,
  };
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
