/*
 * Works on the raw text, never on a parsed URL: the URLs that end up in
 * errors are the ones that do not parse, and a password with an unencoded
 * '#' or '/' parses "successfully" into the wrong parts.
 */

// scheme://user:<secret>@host — the secret runs to the last '@' of the authority.
const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/[^:/@?#\s]*):(.*)@/i;
// ?password=<secret>& in a URL, or password=<secret> in a libpq key=value string.
const PASSWORD_PARAM = /((?:^|[?&\s])[a-z_]*pass[a-z_]*=)([^&\s]*)/gi;

/** A connection string fit to show: every password replaced by `***`. */
export function redactUrl(url: string): string {
  // A libpq key=value string is read as libpq reads it, and shown from its parts.
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    const pairs = parseConninfo(url);
    if (pairs) return displayConninfo(pairs);
  }
  return url
    .replace(USERINFO, '$1:***@')
    .replace(PASSWORD_PARAM, (_, key: string, value: string) => (value ? `${key}***` : key));
}

// A URL anywhere in a text: from its scheme to the next white space.
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/\S+/gi;
// password = secret in a libpq key=value string (spaces around '=' allowed), quoted or not.
const KEY_VALUE_PASSWORD =
  /\b([a-z_]*pass(?:word|wd)?[a-z_]*)(\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]+)/gi;
// PASSWORD 'secret' in SQL (CREATE/ALTER ROLE ... [ENCRYPTED] PASSWORD '...'), echoed by an error;
// E'' with its backslash escapes; unterminated too (a text cut short, a literal a syntax error left open).
const SQL_PASSWORD = /\b(PASSWORD\s+)(E'(?:[^'\\]|\\.|'')*(?:'|$)|'(?:[^']|'')*(?:'|$))/gi;
// A query parameter whose name, percent-decoded, is a password (?pass%77ord=...).
const QUERY_PARAM = /([?&])([^=&\s]+)=([^&\s]*)/g;

/**
 * A text fit to show: every password it may carry masked, by where it stands
 * (a URL's user info, a password query parameter, a key=value string, an SQL
 * PASSWORD literal), never by looking for a known password's letters, which
 * would mangle other text when the password is a common word.
 */
export function maskSecrets(text: string): string {
  return text
    .replace(URL_IN_TEXT, (url) =>
      redactUrl(url).replace(QUERY_PARAM, (whole, sep: string, key: string, value: string) =>
        value && /pass/i.test(safeDecode(key)) ? `${sep}${key}=***` : whole,
      ),
    )
    .replace(SQL_PASSWORD, (_whole, keyword: string) => `${keyword}'***'`)
    .replace(KEY_VALUE_PASSWORD, (whole, key: string, eq: string, value: string) =>
      value.startsWith('***') ? whole : `${key}${eq}***`,
    );
}

/** Masks every string in a report-shaped value, field by field. */
export function maskDeep<T>(value: T): T {
  if (typeof value === 'string') return maskSecrets(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => maskDeep(v)) as T;
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]: [string, unknown]) => [k, maskDeep(v)]),
    ) as T;
  }
  return value;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * A libpq key=value connection string (`host=db password = 'a b'`), read as
 * libpq's conninfo_parse reads it: white space around `=`, a value in single
 * quotes or bare up to white space, a backslash escaping the next character.
 * Undefined when the text is not one.
 */
export function parseConninfo(text: string): Array<{ key: string; value: string }> | undefined {
  const pairs: Array<{ key: string; value: string }> = [];
  let i = 0;
  const space = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  space();
  while (i < text.length) {
    const keyStart = i;
    while (i < text.length && text[i] !== '=' && !/\s/.test(text[i]!)) i++;
    const key = text.slice(keyStart, i);
    space();
    if (key === '' || text[i] !== '=') return undefined;
    i++;
    space();
    let value = '';
    if (text[i] === "'") {
      i++;
      for (;;) {
        if (i >= text.length) return undefined; // unterminated quote: libpq refuses it too
        const c = text[i]!;
        if (c === '\\' && i + 1 < text.length) {
          value += text.charAt(i + 1);
          i += 2;
        } else if (c === "'") {
          i++;
          break;
        } else {
          value += c;
          i++;
        }
      }
    } else {
      while (i < text.length && !/\s/.test(text[i]!)) {
        if (text[i] === '\\' && i + 1 < text.length) i++;
        value += text.charAt(i);
        i++;
      }
    }
    pairs.push({ key, value });
    space();
  }
  return pairs.length > 0 ? pairs : undefined;
}

/** A key=value string as shown: each pair from its parsed value, every password-like key's value `***`. */
export function displayConninfo(pairs: ReadonlyArray<{ key: string; value: string }>): string {
  const quoted = (v: string) =>
    v === '' || /[\s'\\]/.test(v) ? `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` : v;
  return pairs
    .map(({ key, value }) => `${key}=${/pass/i.test(key) ? '***' : quoted(value)}`)
    .join(' ');
}
