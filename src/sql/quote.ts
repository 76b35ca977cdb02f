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

/** An identifier as written by hand: bare when it is a plain lower-case name, quoted otherwise (for printed SQL a user pastes). */
export function plainIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : quoteIdent(name);
}
