import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startOwnPostgres } from './own-postgres.js';

/*
 * Debian's own PostgreSQL 15 (the postgresql-15 package, which .ci/run
 * installs), with the package's defaults: unlike the embedded servers it is
 * built with LLVM, so jit = on really compiles. The tests start it
 * themselves, as they start PgBouncer.
 */
const BIN = '/usr/lib/postgresql/15/bin';

export function haveDebianPostgres(): boolean {
  return existsSync(join(BIN, 'postgres'));
}

/** .ci/run asks for it; elsewhere the tests that need it run where it is installed. */
export function debianPostgresRequired(): boolean {
  const required = process.env.SCHEMATA_REQUIRE_DEBIAN_PG === '1';
  if (required && !haveDebianPostgres())
    throw new Error(
      "SCHEMATA_REQUIRE_DEBIAN_PG=1 but Debian's PostgreSQL 15 is not installed (apt-get install -y postgresql-15)",
    );
  return required;
}

const PASSWORD = 'Debian-Test-Secret-7e1a';

/**
 * A fresh cluster of Debian's PostgreSQL 15, with the package's defaults.
 * `settings` are extra -c options (for a test's instruments; never the
 * settings under test). Returns the URL of its postgres database.
 */
export async function startDebianPostgres(
  settings: Record<string, string> = {},
): Promise<{ url: string; stop: () => Promise<void> }> {
  return startOwnPostgres({
    bin: BIN,
    label: "Debian's PostgreSQL 15",
    password: PASSWORD,
    settings,
  });
}
