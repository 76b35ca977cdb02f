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
  return url.replace(USERINFO, '$1:***@').replace(PASSWORD_PARAM, (_, key: string, value: string) => (value ? `${key}***` : key));
}

/** The passwords a connection string carries, raw and percent-decoded, to scrub from any text. */
export function secretsOfUrl(url: string): string[] {
  const raw: string[] = [];
  const userinfo = USERINFO.exec(url);
  if (userinfo?.[2]) raw.push(userinfo[2]);
  for (const match of url.matchAll(PASSWORD_PARAM)) if (match[2]) raw.push(match[2]);
  return [...new Set(raw.flatMap((secret) => [secret, safeDecode(secret)]))].filter((s) => s.length > 0);
}

/** The passwords of every `*DATABASE_URL` variable of an environment. */
export function secretsOfEnv(env: Readonly<Record<string, string | undefined>>): string[] {
  return Object.entries(env).flatMap(([name, value]) => (value && name.endsWith('DATABASE_URL') ? secretsOfUrl(value) : []));
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Replaces every known secret in a text; the last line of defence before output. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  // Longest first, so a secret that contains another is replaced whole.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length > 0) out = out.split(secret).join('***');
  }
  return out;
}
