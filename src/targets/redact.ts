/**
 * A connection URL fit to show: the password replaced by `***`. Works on
 * URLs that do not parse too, since those are the ones that end up in errors.
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    // Query parameters can carry one as well (?password=...).
    for (const key of [...parsed.searchParams.keys()]) {
      if (/pass/i.test(key)) parsed.searchParams.set(key, '***');
    }
    return parsed.toString().replace('%2A%2A%2A', '***');
  } catch {
    // scheme://user:secret@host — mask what sits between the first ':' after
    // the scheme and the last '@'.
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):.*@/i, '$1:***@');
  }
}

/** The passwords a URL carries, raw and percent-decoded, to scrub from any text. */
export function secretsOfUrl(url: string): string[] {
  const found = new Set<string>();
  try {
    const parsed = new URL(url);
    if (parsed.password) {
      found.add(parsed.password);
      found.add(safeDecode(parsed.password));
    }
    for (const [key, value] of parsed.searchParams) if (/pass/i.test(key) && value) found.add(value);
  } catch {
    const match = /^[a-z][a-z0-9+.-]*:\/\/[^:/@]*:(.*)@/i.exec(url);
    if (match?.[1]) {
      found.add(match[1]);
      found.add(safeDecode(match[1]));
    }
  }
  return [...found].filter((s) => s.length > 0);
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
