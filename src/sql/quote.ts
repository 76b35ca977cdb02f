import type { Parser } from './statements.js';

/**
 * A string as an SQL literal, for the few values that must be part of a
 * batch's text (a simple-query batch takes no parameters). A backslash makes
 * it an E'' literal, which reads the same whatever standard_conforming_strings
 * a migration left set.
 */
export function quoteLiteral(value: string): string {
  const quoted = value.replace(/'/g, "''");
  return value.includes('\\') ? `E'${quoted.replace(/\\/g, '\\\\')}'` : `'${quoted}'`;
}

/** An identifier quoted as PostgreSQL's quote_ident would need it: always, with inner quotes doubled. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Whether a word is one PostgreSQL reads as a name wherever a name stands: not a keyword, or an unreserved one. */
let readsAsName: ((word: string) => boolean) | undefined;

/**
 * Given PostgreSQL's scanner once the parser is loaded (sql/parse.ts): its
 * keyword table says which words plainIdent leaves bare, the same table the
 * server's quote_ident reads.
 */
export function learnKeywords(scanSync: Parser['scanSync']): void {
  // Each word scanned once: a file of 50,000 INSERTs names its table 50,000 times, and a scan is a call into WebAssembly.
  const known = new Map<string, boolean>();
  readsAsName = (word) => {
    let answer = known.get(word);
    if (answer === undefined) {
      const tokens = scanSync(word).tokens;
      const kind = tokens[0]?.keywordKind;
      answer = tokens.length === 1 && (kind === NO_KEYWORD || kind === UNRESERVED_KEYWORD);
      known.set(word, answer);
    }
    return answer;
  };
}
const NO_KEYWORD = 0;
const UNRESERVED_KEYWORD = 1;

/**
 * An identifier as written by hand, for printed SQL a user pastes: bare when
 * it is a plain lower-case name that is no reserved word (`orders`), quoted
 * otherwise (`"Orders"`, `"order"`, `"user"`). Before the parser is loaded
 * the keywords are unknown, and every name is quoted: quoting is never wrong.
 */
export function plainIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) && readsAsName?.(name) === true ? name : quoteIdent(name);
}
