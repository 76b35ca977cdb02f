/*
 * Every bad input schemata knows, with what it answers. The bad-input test
 * runs each; the guide test checks that MIGRATION_GUIDE.md's "Errors and what
 * to do" table is this catalogue.
 */
import { randomBytes } from 'node:crypto';
import { databaseName, query, setOnDatabase } from '../support/db.js';

export interface BadInput {
  /** The situation, as the guide's table names it. */
  situation: string;
  args: string[];
  /** Extra environment; PRIMARY_DATABASE_URL is the test database unless given. */
  env?: (url: string) => Record<string, string>;
  /** Migration files (path under database/ → content), on top of two small valid sets. */
  files?: Record<string, string | Buffer>;
  /** Files written into the project root. */
  root?: Record<string, string>;
  /** Symbolic links (path under database/ → what it points at). */
  links?: Record<string, string>;
  /** Prepares the database; returns environment to use instead of the default. */
  setup?: (url: string) => Promise<Record<string, string>>;
  exit: number;
  /** What the output must say. */
  message: string | RegExp;
  /** The guide's "what to do". */
  fix: string;
  /** Node itself answers before schemata runs: it prints its own words. */
  node?: boolean;
  /** The exit as the guide shows it, where it depends on the Node version. */
  exitShown?: string;
  /** The setup made schema schemata itself (empty): nothing written is then no tracking table in it. */
  schemataMade?: boolean;
}

const set = (sets: unknown) => JSON.stringify({ sets });
const valid = [
  { name: 'primary', dir: 'primary', database: 'primary', schemas: ['config', 'customer'] },
  { name: 'data', dir: 'data', database: 'data', schemas: ['workspace', 'reference'] },
];

export const CATALOGUE: BadInput[] = [
  // command line
  {
    situation: 'no command',
    args: [],
    exit: 2,
    message: 'Name a command',
    fix: 'schemata --help lists them',
  },
  {
    situation: 'an unknown command',
    args: ['explode'],
    exit: 2,
    message: 'Unknown argument: explode',
    fix: 'schemata --help lists them',
  },
  {
    situation: 'an unknown flag',
    args: ['migrate', '--frobnicate'],
    exit: 2,
    message: 'Unknown argument: frobnicate',
    fix: 'schemata <command> --help lists the flags',
  },
  {
    situation: 'an unknown set',
    args: ['migrate', 'analytics'],
    exit: 2,
    message: 'There is no set named "analytics"',
    fix: 'name a set of database/schemata.json',
  },
  {
    situation: '--renderer with an unknown name',
    args: ['migrate', '--renderer', 'fancy'],
    exit: 2,
    message: 'Invalid values',
    fix: 'default, simple, verbose or silent',
  },
  {
    situation: '--lock-timeout that is not a number',
    args: ['migrate', '--lock-timeout', 'soon'],
    exit: 2,
    message: '--lock-timeout is "soon"',
    fix: 'seconds, 0 or more',
  },
  {
    situation: '--lock-timeout that is negative',
    args: ['migrate', '--lock-timeout', '-3'],
    exit: 2,
    message: '--lock-timeout is "-3"',
    fix: 'seconds, 0 or more',
  },
  {
    situation: '--max-warnings that is not a whole number',
    args: ['lint', '--max-warnings', 'many'],
    exit: 2,
    message: '--max-warnings must be a whole number',
    fix: 'a whole number, 0 or more',
  },
  {
    situation: 'create without a name',
    args: ['create', 'data'],
    exit: 2,
    message: 'Not enough non-option arguments',
    fix: 'schemata create <set> <name>',
  },
  {
    situation: 'create with an unusable name',
    args: ['create', 'data', 'drop tables!'],
    exit: 2,
    message: 'is not a usable migration name',
    fix: 'letters (of any script), digits and underscores; CamelCase becomes words',
  },
  {
    situation: 'create with a name too long for a file name',
    args: ['create', 'data', 'x'.repeat(300)],
    exit: 2,
    message: 'bytes long, and file systems take at most 255',
    fix: 'a shorter name, as the hint shows',
  },
  {
    situation: 'baseline without a set',
    args: ['baseline'],
    exit: 2,
    message: 'Not enough non-option arguments',
    fix: 'schemata baseline <set>',
  },
  {
    situation: 'baseline --version that is not a version',
    args: ['baseline', 'data', '--version', 'latest'],
    exit: 2,
    message: '--version "latest" is not a migration version',
    fix: 'the digits that start a file name',
  },
  {
    situation: 'baseline --from an unknown tool',
    args: ['baseline', 'data', '--from', 'liquibase'],
    exit: 2,
    message: '"liquibase" is not a tool schemata adopts a history from',
    fix: 'prisma, drizzle, typeorm, knex, node-pg-migrate, golang-migrate, dbmate or flyway',
  },
  {
    situation: 'baseline --from before import',
    args: ['baseline', 'data', '--from', 'drizzle'],
    exit: 2,
    message: 'database/data/import.json is missing',
    fix: 'schemata import <tool> --set <set> first',
  },
  {
    situation: 'baseline --from with --version',
    args: ['baseline', 'data', '--from', 'drizzle', '--version', '2'],
    exit: 2,
    message: '--version does not go with it',
    fix: 'one or the other',
  },
  {
    situation: 'baseline --table without --from',
    args: ['baseline', 'data', '--table', 'schema_migrations'],
    exit: 2,
    message: "--table names another tool's table, for --from",
    fix: 'add --from <tool>',
  },
  {
    situation: 'import from an unknown tool',
    args: ['import', 'liquibase', '--set', 'data'],
    exit: 2,
    message: '"liquibase" is not a tool schemata adopts a history from',
    fix: 'prisma, drizzle, typeorm, knex, node-pg-migrate, golang-migrate, dbmate or flyway',
  },
  {
    situation: 'import without --set',
    args: ['import', 'drizzle'],
    exit: 2,
    message: 'Missing required argument: set',
    fix: 'schemata import <tool> --set <set>',
  },
  {
    situation: "import from a folder that isn't there",
    args: ['import', 'drizzle', '--set', 'data', '--from', 'nowhere'],
    exit: 2,
    message: 'No drizzle migrations folder at nowhere',
    fix: "the tool's migrations folder, with --from",
  },
  {
    situation: 'import of a code migration',
    args: ['import', 'node-pg-migrate', '--set', 'data', '--from', '.'],
    root: { '1700000000000_seed.js': 'exports.up = (pgm) => { pgm.createTable("x", {}); };\n' },
    exit: 2,
    message: '1700000000000_seed.js (a JavaScript or TypeScript migration is code)',
    fix: 'write it as SQL in its place, then import again',
  },
  {
    situation: 'import into a set that has migrations',
    args: ['import', 'dbmate', '--set', 'data', '--from', '.'],
    root: { '20240101000000_items.sql': '-- migrate:up\nCREATE TABLE workspace.items (id int);\n' },
    exit: 2,
    message: 'already holds 001_schemas.sql, 002_tables.sql',
    fix: 'import into a set of its own',
  },
  {
    situation: '--shard on a run without tenants',
    args: ['migrate', '--shard', '1/4'],
    exit: 2,
    message: '--shard applies to sets with "tenants", and this run has none',
    fix: 'name a set with tenants, or leave the flag out',
  },
  {
    situation: 'rollback --steps that is not a whole number',
    args: ['rollback', 'data', '--steps', 'two'],
    exit: 2,
    message: '--steps two is not a positive whole number.',
    fix: 'how many migrations to roll back, 1 or more',
  },
  {
    situation: 'rollback with both --steps and --to',
    args: ['rollback', 'data', '--steps', '1', '--to', '1'],
    exit: 2,
    message: 'rollback takes --steps or --to, not both',
    fix: 'one of them',
  },
  {
    situation: 'rollback --scratch-url without --check',
    args: ['rollback', 'data', '--scratch-url', 'postgres://localhost/scratch'],
    exit: 2,
    message: '--scratch-url goes with --check',
    fix: 'add --check, or leave the flag out',
  },
  {
    situation: 'rollback of more than is applied',
    args: ['rollback', 'data'],
    exit: 2,
    message:
      'Set "data": --steps 1 asks for more than the 0 applied migrations (none). Nothing ran.',
    fix: 'fewer steps, or --to 0 for every one',
  },
  {
    situation: 'a missing --env-file',
    args: ['migrate', '--env-file', 'nope.env'],
    exit: process.versions.node.startsWith('20.') ? 9 : 2,
    message: process.versions.node.startsWith('20.')
      ? 'nope.env'
      : 'given with --env-file does not exist',
    fix: 'the path of an existing file',
    node: process.versions.node.startsWith('20.'),
    exitShown: '2 (9 on Node 20, which checks the flag before schemata starts)',
  },
  {
    situation: 'a missing --config',
    args: ['migrate', '--config', 'elsewhere/schemata.json'],
    exit: 2,
    message: 'given with --config does not exist',
    fix: 'the path of a schemata.json',
  },
  {
    situation: '--config naming a directory',
    args: ['migrate', '--config', 'database'],
    exit: 2,
    message: 'is not valid JSON',
    fix: 'the path of a schemata.json file',
  },

  // environment
  {
    situation: 'SPLIT_DB_MODE that is not a boolean',
    args: ['migrate'],
    env: () => ({ SPLIT_DB_MODE: 'maybe' }),
    exit: 2,
    message: 'SPLIT_DB_MODE is "maybe"',
    fix: 'true/false, 1/0, yes/no',
  },
  {
    situation: 'SCHEMATA_LOCK_TIMEOUT that is not a number',
    args: ['migrate'],
    env: () => ({ SCHEMATA_LOCK_TIMEOUT: 'soon' }),
    exit: 2,
    message: 'SCHEMATA_LOCK_TIMEOUT is "soon"',
    fix: 'seconds, 0 or more',
  },
  {
    situation: 'SCHEMATA_LOCK_TIMEOUT that is negative',
    args: ['migrate'],
    env: () => ({ SCHEMATA_LOCK_TIMEOUT: '-1' }),
    exit: 2,
    message: 'SCHEMATA_LOCK_TIMEOUT is "-1"',
    fix: 'seconds, 0 or more',
  },
  {
    situation: 'PRIMARY_DATABASE_URL that does not parse',
    args: ['migrate'],
    env: () => ({ PRIMARY_DATABASE_URL: 'postgres://u:pw@@host:port/db' }),
    exit: 2,
    message: 'PRIMARY_DATABASE_URL is not a valid URL',
    fix: 'postgres://user:password@host:5432/db, special characters percent-encoded',
  },
  {
    situation: 'a URL of another kind of database',
    args: ['migrate'],
    env: () => ({ PRIMARY_DATABASE_URL: 'mysql://u:pw@localhost/db' }),
    exit: 2,
    message: 'must be a postgres:// or postgresql:// URL',
    fix: 'a postgres:// URL',
  },
  {
    situation: 'DATABASE_URL that does not parse',
    args: ['migrate'],
    env: () => ({ PRIMARY_DATABASE_URL: '', DATABASE_URL: 'not a url' }),
    exit: 2,
    message: 'DATABASE_URL is not a valid URL',
    fix: 'a postgres:// URL',
  },
  {
    situation: 'split mode without DATA_DATABASE_URL',
    args: ['migrate'],
    env: () => ({ SPLIT_DB_MODE: 'true' }),
    exit: 2,
    message: 'DATA_DATABASE_URL is not set',
    fix: 'set it, or turn SPLIT_DB_MODE off',
  },
  {
    situation: 'DATA_DATABASE_URL that does not parse',
    args: ['migrate'],
    env: () => ({ SPLIT_DB_MODE: 'true', DATA_DATABASE_URL: 'postgres://x:y@:bad' }),
    exit: 2,
    message: 'DATA_DATABASE_URL is not a valid URL',
    fix: 'a postgres:// URL',
  },
  {
    situation: 'no URL with NODE_ENV=production',
    args: ['migrate'],
    env: () => ({ PRIMARY_DATABASE_URL: '', NODE_ENV: 'production' }),
    exit: 2,
    message: 'PRIMARY_DATABASE_URL is not set and NODE_ENV is production',
    fix: 'set the URL: production never uses the embedded database',
  },

  // the database behind the URL
  {
    situation: 'a wrong password',
    args: ['migrate'],
    env: (url) => ({ PRIMARY_DATABASE_URL: withPassword(url, 'not-the-password') }),
    exit: 2,
    message: 'password authentication failed',
    fix: 'the user and password in the URL',
  },
  {
    situation: 'a database that does not exist',
    args: ['migrate'],
    env: (url) => ({ PRIMARY_DATABASE_URL: `${url}_missing` }),
    exit: 2,
    message: 'does not exist',
    fix: 'create it, or fix its name in the URL',
  },
  {
    situation: 'a host that cannot be reached',
    args: ['migrate'],
    env: (url) => ({ PRIMARY_DATABASE_URL: withPort(url, '1') }),
    exit: 1,
    message: 'cannot connect to',
    fix: 'start the server or fix host and port',
  },
  {
    situation: 'sslmode=require against a server without TLS',
    args: ['migrate'],
    env: (url) => ({ PRIMARY_DATABASE_URL: `${url}?sslmode=require` }),
    exit: 2,
    message: 'does not support SSL',
    fix: 'sslmode that matches the server',
  },
  {
    situation: 'a role without the CREATE privilege',
    args: ['migrate'],
    setup: async (url) => {
      const role = `limited_${randomBytes(4).toString('hex')}`;
      const database = databaseName(url);
      await query(
        url,
        `CREATE ROLE ${role} LOGIN PASSWORD '${new URL(url).password}'; REVOKE CREATE ON DATABASE ${database} FROM PUBLIC; REVOKE CREATE ON SCHEMA public FROM PUBLIC`,
      );
      const limited = new URL(url);
      limited.username = role;
      return { PRIMARY_DATABASE_URL: limited.toString() };
    },
    exit: 2,
    message: "cannot create schemata's tracking table",
    fix: 'GRANT CREATE ON DATABASE, or create the schemata schema for the role',
  },

  {
    situation: "a role without USAGE on schemata's schema",
    args: ['migrate'],
    setup: async (url) => {
      // Tracked by the owner first: the schema schemata is there, and another role may not use it.
      await query(url, 'CREATE SCHEMA IF NOT EXISTS schemata');
      const role = `outsider_${randomBytes(4).toString('hex')}`;
      await query(url, `CREATE ROLE ${role} LOGIN PASSWORD '${new URL(url).password}'`);
      const outsider = new URL(url);
      outsider.username = role;
      return { PRIMARY_DATABASE_URL: outsider.toString() };
    },
    schemataMade: true,
    exit: 2,
    message: "may not use schemata's tracking tables in schema schemata",
    fix: "the owner's GRANT on schema schemata and its tables, as printed",
  },
  {
    situation: 'a database that takes no writes (default_transaction_read_only on)',
    args: ['migrate'],
    setup: async (url) => {
      await setOnDatabase(url, 'default_transaction_read_only = on');
      return { PRIMARY_DATABASE_URL: url };
    },
    exit: 2,
    message: 'takes no writes: default_transaction_read_only is on, by database',
    fix: "the hint's ALTER ... SET default_transaction_read_only = off, or the primary's URL for a standby",
  },

  // schemata.json
  {
    situation: 'schemata.json that is not JSON',
    args: ['migrate'],
    root: { 'database/schemata.json': '{ "sets": [ }' },
    exit: 2,
    message: 'is not valid JSON',
    fix: 'the JSON syntax',
  },
  {
    situation: 'schemata.json with an unknown key',
    args: ['migrate'],
    root: { 'database/schemata.json': set([{ ...valid[0], owner: 'me' }]) },
    exit: 2,
    message: 'sets[0]: unknown key "owner"',
    fix: 'remove the key',
  },
  {
    situation: 'schemata.json without sets',
    args: ['migrate'],
    root: { 'database/schemata.json': set([]) },
    exit: 2,
    message: 'sets [] must list at least one set',
    fix: 'list the sets',
  },
  {
    situation: 'schemata.json whose sets are not a list',
    args: ['migrate'],
    root: { 'database/schemata.json': JSON.stringify({ sets: { primary: {} } }) },
    exit: 2,
    message: 'schemata.json is invalid: sets',
    fix: 'a list of sets',
  },
  {
    situation: 'a schema name that is not an identifier',
    args: ['migrate'],
    root: { 'database/schemata.json': set([{ ...valid[0], schemas: ['config', 'Bad Name'] }]) },
    exit: 2,
    message: 'sets[0].schemas[1]',
    fix: 'lower-case letters, digits, _',
  },
  {
    situation: 'a reserved schema name',
    args: ['migrate'],
    root: { 'database/schemata.json': set([{ ...valid[0], schemas: ['schemata'] }]) },
    exit: 2,
    message: 'is reserved',
    fix: 'another name: schemata and pg_* are taken',
  },
  {
    situation: 'a database name that is not lower-case',
    args: ['migrate'],
    root: { 'database/schemata.json': set([{ ...valid[0], database: 'Primary' }]) },
    exit: 2,
    message: 'sets[0].database',
    fix: 'lower-case letters, digits, _',
  },
  {
    situation: 'two sets with one name',
    args: ['migrate'],
    root: { 'database/schemata.json': set([valid[0], { ...valid[1], name: 'primary' }]) },
    exit: 2,
    message: 'is also the name of sets[0]',
    fix: 'a name of its own for each set',
  },
  {
    situation: 'two sets owning one schema',
    args: ['migrate'],
    root: { 'database/schemata.json': set([valid[0], { ...valid[1], schemas: ['config'] }]) },
    exit: 2,
    message: 'already owned by set "primary"',
    fix: 'a schema belongs to one set',
  },
  {
    situation: 'a set directory that does not exist',
    args: ['migrate'],
    root: { 'database/schemata.json': set([{ ...valid[0], dir: 'missing' }]) },
    exit: 2,
    message: 'sets[0].dir "missing" is not a directory',
    fix: 'create it, or fix "dir"',
  },

  // migration files
  {
    situation: 'two files with one version',
    args: ['migrate'],
    files: { 'data/003_a.sql': 'SELECT 1;', 'data/3_b.sql': 'SELECT 1;' },
    exit: 2,
    message: 'have the same version 3',
    fix: 'rename one as the hint says (a version no file has)',
  },
  {
    situation: 'a .sql file without a version',
    args: ['migrate'],
    files: { 'data/cleanup.sql': 'SELECT 1;' },
    exit: 2,
    message: 'is not named <version>_<name>.sql',
    fix: 'rename it as the hint says (<version>_<name>.sql, a free version)',
  },
  {
    situation: "a symbolic link among a set's files whose target is gone",
    args: ['migrate'],
    links: { 'data/003_shared.sql': '../../shared/003_shared.sql' },
    exit: 2,
    message:
      /003_shared\.sql is a symbolic link to \.\.\/\.\.\/shared\/003_shared\.sql, which does not exist/,
    fix: 'restore its target, or remove the link (rm, as the hint shows)',
  },
  {
    situation: 'a file that is not UTF-8',
    args: ['migrate'],
    files: { 'data/009_latin1.sql': Buffer.from([0x53, 0x45, 0x4c, 0xe9, 0xff, 0x3b]) },
    exit: 2,
    message: 'is not valid UTF-8',
    fix: 'save it as UTF-8',
  },
  {
    situation: 'a psql meta-command in a file',
    args: ['migrate'],
    files: { 'data/003_include.sql': 'SELECT 1;\n\\i other.sql\n' },
    exit: 3,
    message: '003_include.sql:2:1 does not parse: \\i is a psql meta-command',
    fix: 'remove it: files go to the server as SQL',
  },
  {
    situation: 'a syntax error',
    args: ['migrate'],
    files: {
      'data/003_typo.sql':
        'CREATE TABLE workspace.x (id int);\nCREAT INDEX i ON workspace.x (id);\n',
    },
    exit: 3,
    message: '003_typo.sql:2:1 does not parse: syntax error at or near "CREAT"',
    fix: 'the SQL at the line and column shown (schemata lint)',
  },
  {
    situation: "COPY ... FROM stdin with psql's data lines after it",
    args: ['migrate'],
    files: {
      'data/003_rows.sql':
        'CREATE TABLE IF NOT EXISTS workspace.c (x int);\nCOPY workspace.c (x) FROM stdin;\n1\n2\n\\.\n',
    },
    exit: 3,
    message:
      '003_rows.sql:2:1 does not parse: COPY workspace.c (x) FROM STDIN reads its rows from the client (psql sends the lines after it)',
    fix: 'the INSERT the hint shows, or COPY ... FROM a file on the server',
  },
  {
    situation: 'COPY ... FROM stdin alone',
    args: ['migrate'],
    files: {
      'data/003_rows.sql':
        'CREATE TABLE IF NOT EXISTS workspace.c (x int);\nCOPY workspace.c (x) FROM stdin;\n',
    },
    exit: 3,
    message: '003_rows.sql:2:1: COPY workspace.c (x) FROM STDIN reads its rows from the client',
    fix: 'INSERT, or COPY ... FROM a file on the server',
  },
  {
    situation: 'PREPARE TRANSACTION (two-phase commit) in a file',
    args: ['migrate'],
    files: {
      'data/003_prepare.sql':
        "BEGIN;\nCREATE TABLE IF NOT EXISTS workspace.p (x int);\nPREPARE TRANSACTION 'deploy';\nCOMMIT PREPARED 'deploy';\n",
    },
    exit: 3,
    message:
      '003_prepare.sql:3:1: PREPARE TRANSACTION is two-phase commit: it hands a transaction to a COMMIT PREPARED',
    fix: 'remove it: schemata commits each migration, or each BEGIN ... COMMIT block of the file',
  },
  {
    situation: 'ADD CONSTRAINT IF NOT EXISTS',
    args: ['migrate'],
    files: {
      'data/003_check.sql':
        'ALTER TABLE workspace.items ADD CONSTRAINT IF NOT EXISTS c CHECK (id > 0);\n',
    },
    exit: 3,
    message: 'ADD CONSTRAINT IF NOT EXISTS is a syntax error in PostgreSQL',
    fix: 'the guarded DO block this guide shows',
  },
  {
    situation: 'an error at run time',
    args: ['migrate'],
    files: {
      'data/003_zero.sql':
        'CREATE TABLE workspace.z (n int);\nINSERT INTO workspace.z VALUES (1 / 0);\n',
    },
    exit: 1,
    message: '003_zero.sql:2:1: division by zero',
    fix: 'fix the file; the migration was rolled back and the rerun resumes',
  },
];

function withPassword(url: string, password: string): string {
  const u = new URL(url);
  u.password = password;
  return u.toString();
}

function withPort(url: string, port: string): string {
  const u = new URL(url);
  u.port = port;
  return u.toString();
}

/** Inputs that look odd but are fine: each migrates, exit 0. */
export const ACCEPTED: Array<{
  situation: string;
  files: Record<string, string | Buffer>;
  warning?: string;
  tracked?: string[];
}> = [
  {
    situation: 'an empty file (stays pending)',
    files: { 'data/003_empty.sql': '' },
    warning: '003_empty.sql holds no statement yet',
    tracked: ['1', '2'],
  },
  {
    situation: 'a file with only comments (stays pending)',
    files: { 'data/003_notes.sql': '-- nothing yet\n/* later */\n' },
    warning: '003_notes.sql holds no statement yet',
    tracked: ['1', '2'],
  },
  {
    situation: 'a byte-order mark',
    files: {
      'data/003_bom.sql': Buffer.concat([
        Buffer.from([0xef, 0xbb, 0xbf]),
        Buffer.from('CREATE TABLE workspace.bom (id int);\n'),
      ]),
    },
  },
  {
    situation: 'a 10 MB file',
    files: {
      'data/003_big.sql': `CREATE TABLE workspace.big (id int, note text);\n${Array.from({ length: 100 }, (_, k) => `INSERT INTO workspace.big VALUES ${Array.from({ length: 1000 }, (_, i) => `(${k * 1000 + i}, '${'x'.repeat(80)}')`).join(', ')};`).join('\n')}\n`,
    },
  },
];

/** The guide's table, made from the catalogue. */
export function guideTable(): string {
  const rows = CATALOGUE.map((c) => `| ${c.situation} | ${c.exitShown ?? c.exit} | ${c.fix} |`);
  return ['| situation | exit | what to do |', '|---|---|---|', ...rows].join('\n');
}
