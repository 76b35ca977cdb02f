import type { Parser } from '../sql/statements.js';
import { ConfigError } from '../errors.js';

/*
 * Another migration tool's history, as schemata adopts it (SPEC §11): its
 * files turned into a set's migrations (`schemata import`), and its tracking
 * table read, never written, to learn which of them this database ran
 * (`schemata baseline <set> --from <tool>`). One module per tool; each says
 * where the tool keeps its files, what its table looks like, and how the tool
 * itself judges a row.
 */

export const TOOL_NAMES = [
  'prisma',
  'drizzle',
  'typeorm',
  'knex',
  'node-pg-migrate',
  'golang-migrate',
  'dbmate',
  'flyway',
] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

/** Is `name` one of the tools? */
export function toolNamed(name: string): ToolName {
  const tool = TOOL_NAMES.find((t) => t === name);
  if (!tool)
    throw new ConfigError(
      `"${name}" is not a tool schemata adopts a history from: ${TOOL_NAMES.join(', ')}.`,
      `For example: schemata import drizzle --set data`,
    );
  return tool;
}

/** One migration of the other tool, converted. */
export interface SourceMigration {
  /** What the tool's table knows it by: Prisma's migration_name, drizzle's journal `when`, a version, a class or file name. */
  id: string;
  /** The file it was read from, relative to the tool's folder. */
  source: string;
  /** Its schemata file name, `<version>_<name>.sql`. */
  file: string;
  /** The SQL to run, byte for byte where the tool keeps SQL. */
  up: string;
  /** The SQL that undoes it, where the tool keeps one: written as `<version>_<name>.down.sql`. */
  down?: string | undefined;
}

/** A migration of the tool that cannot become SQL: code, a repeatable migration, a file that does not fit. */
export interface Unconvertible {
  source: string;
  why: string;
}

export interface SourceHistory {
  migrations: SourceMigration[];
  unconvertible: Unconvertible[];
}

/** A migration as the import manifest keeps it: the tool's key and the file schemata runs. */
export interface ImportedMigration {
  id: string;
  source: string;
  file: string;
}

/** What the tool's table says of the imported migrations on this database. */
export interface HistoryVerdict {
  /** The ids of the migrations the tool ran here, and for each what row said so. */
  applied: Map<string, string>;
  /** Why the history cannot be adopted: a failed or dirty row, a checksum that does not match its file, a row of no imported migration. */
  problems: string[];
}

/** A row of the tool's table, as the driver gives it. */
export type HistoryRow = Readonly<Record<string, unknown>>;

export interface Tool {
  name: ToolName;
  /** Where the tool keeps its migrations unless told, relative to the project; the first that exists is read. */
  defaultFrom: readonly string[];
  /** Reads the tool's folder (I/O); the parser places what code passes as query parameters. */
  readSource(dir: string, parser: Parser): SourceHistory;
  /** The tracking table's usual name (`schema.table`, or unqualified: on the search path), and the columns that tell it is this tool's. */
  table: { name: string; columns: readonly string[] };
  /**
   * The other tables the tool keeps beside its table, in the same schema, by
   * the table's bare name (knex's `knex_migrations_lock`): like the table,
   * never an object a migration made.
   */
  beside?: (table: string) => readonly string[];
  /** The SELECT of its rows; `table` is quoted and qualified. */
  rowsSql(table: string): string;
  /**
   * Which imported migrations the tool ran, as the tool itself would judge
   * its rows. `text` gives an imported file's content, for the tools that
   * keep a checksum. Pure.
   */
  judge(
    rows: readonly HistoryRow[],
    migrations: readonly ImportedMigration[],
    text: (file: string) => Buffer,
  ): HistoryVerdict;
}

/** `1_init.sql` → its down file, `1_init.down.sql` (SPEC §12). */
export const downFileOf = (file: string) => file.replace(/\.sql$/, '.down.sql');

/** A row's column as text: ids and versions come back as strings, numbers or bigint strings. */
export function textOf(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value);
  return JSON.stringify(value);
}

/**
 * The judgement of a tool that writes one row per applied migration and
 * keeps no checksum (TypeORM, knex, node-pg-migrate, dbmate): a row of an
 * imported migration says it ran; a row of any other says the database ran
 * what the files lack. Pure.
 */
export function rowPerMigration(
  rows: readonly HistoryRow[],
  migrations: readonly ImportedMigration[],
  row: {
    /** The imported migration's id the row names. */
    id: (row: HistoryRow) => string;
    /** What the row says, shown with the migration it recorded. */
    says: (row: HistoryRow) => string;
    /** Why a row of no imported migration is refused. */
    unknown: (id: string) => string;
  },
): HistoryVerdict {
  const known = new Set(migrations.map((m) => m.id));
  const applied = new Map<string, string>();
  const problems: string[] = [];
  for (const r of rows) {
    const id = row.id(r);
    if (known.has(id)) applied.set(id, row.says(r));
    else problems.push(row.unknown(id));
  }
  return { applied, problems };
}

/** Rows the tool wrote for migrations the import does not have: the database ran what the files lack. */
export function unknownRows(ids: readonly string[], migrations: readonly ImportedMigration[]) {
  const known = new Set(migrations.map((m) => m.id));
  return ids.filter((id) => !known.has(id));
}

export function listed(items: readonly string[], max = 10): string {
  return items.length > max
    ? `${items.slice(0, max).join(', ')} and ${items.length - max} more`
    : items.join(', ');
}
