import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve } from 'node:path';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';

/** One migration set: a directory of files run against one database. */
export interface SetConfig {
  name: string;
  /** Absolute directory of the set's migration files. */
  dir: string;
  /** Names the URL variable: `data` → DATA_DATABASE_URL. */
  database: string;
  /** Schemas this set owns and validates; for a fleet of tenant schemas, each tenant's own. */
  schemas: string[];
  /** Applied to many tenants (SPEC §10): schemas of its database, or databases. */
  tenants?: TenantSource | undefined;
}

/** Where a set's tenants are listed: as names or URLs, or by a query run on the set's database, or in an environment variable. */
export type TenantSource =
  | { kind: 'schemas'; list: string[] }
  | { kind: 'schemas'; query: string }
  | { kind: 'databases'; list: string[] }
  | { kind: 'databases'; query: string }
  | { kind: 'databases'; env: string };

export interface ProjectConfig {
  /** The config file, or undefined when the defaults are used. */
  file: string | undefined;
  /** Folder that set directories are relative to. */
  baseDir: string;
  sets: SetConfig[];
}

// An unquoted PostgreSQL identifier: the names we put in SQL without quoting
// surprises (a mixed-case schema would need quotes in every migration).
const IDENTIFIER = /^[a-z_][a-z0-9_$]{0,62}$/;

/*
 * zod takes about 90 ms to load: it is required only when there is a
 * schemata.json to check, so a project on the default sets never pays it.
 */
function fileSchema() {
  const { z: zod } = createRequire(import.meta.url)('zod') as typeof import('zod');
  const identifier = zod
    .string()
    .regex(
      IDENTIFIER,
      'must be a lower-case PostgreSQL identifier (letters, digits, _; at most 63)',
    )
    .refine((name) => name !== 'schemata' && !name.startsWith('pg_'), {
      error: 'is reserved (schemata keeps its tracking there, or PostgreSQL owns it)',
    });
  const set = zod.strictObject({
    name: zod.string().regex(/^[a-z][a-z0-9_-]*$/, 'must be lower-case letters, digits, - or _'),
    dir: zod.string().min(1, 'must name a directory'),
    database: zod
      .string()
      .regex(
        /^[a-z][a-z0-9_]*$/,
        'must be lower-case letters, digits or _ (it names <DATABASE>_DATABASE_URL)',
      )
      .optional(),
    schemas: zod.array(identifier).min(1, 'must list at least one schema').optional(),
    tenants: zod
      .union([
        zod.strictObject({
          schemas: zod.union([
            zod.array(identifier).min(1, 'must list at least one schema'),
            zod.string().min(1),
          ]),
        }),
        zod.strictObject({
          databases: zod.union([
            zod.array(zod.string().min(1)).min(1, 'must list at least one database'),
            zod.string().min(1),
            zod.strictObject({
              env: zod
                .string()
                .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must name an environment variable'),
            }),
          ]),
        }),
      ])
      .optional(),
  });
  return zod.strictObject({ sets: zod.array(set).min(1, 'must list at least one set') });
}

interface RawSet {
  name: string;
  dir: string;
  database?: string | undefined;
  schemas?: string[] | undefined;
  tenants?:
    { schemas: string[] | string } | { databases: string[] | string | { env: string } } | undefined;
}

function tenantSource(raw: NonNullable<RawSet['tenants']>): TenantSource {
  if ('schemas' in raw)
    return typeof raw.schemas === 'string'
      ? { kind: 'schemas', query: raw.schemas }
      : { kind: 'schemas', list: raw.schemas };
  const d = raw.databases;
  return typeof d === 'string'
    ? { kind: 'databases', query: d }
    : Array.isArray(d)
      ? { kind: 'databases', list: d }
      : { kind: 'databases', env: d.env };
}

export const DEFAULT_SETS: readonly RawSet[] = [
  { name: 'primary', dir: 'primary', database: 'primary', schemas: ['config', 'customer'] },
  { name: 'data', dir: 'data', database: 'data', schemas: ['workspace', 'reference'] },
];

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path)
    out += typeof key === 'number' ? `[${key}]` : out ? `.${String(key)}` : String(key);
  return out || '(top level)';
}

function formatIssue(issue: z.core.$ZodIssue, json: unknown): string {
  if (issue.code === 'unrecognized_keys') {
    const where = issue.path.length ? `${formatPath(issue.path)}: ` : '';
    return `${where}unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  }
  // The value itself, so that the one to fix is seen at once (sets[0].schemas[1] "bad schema;").
  const value = issue.path.reduce<unknown>(
    (at, key) =>
      at && typeof at === 'object' ? (at as Record<PropertyKey, unknown>)[key] : undefined,
    json,
  );
  const shown = value === undefined ? '' : ` ${JSON.stringify(value).slice(0, 80)}`;
  return `${formatPath(issue.path)}${shown} ${issue.message}`;
}

/**
 * Loads `database/schemata.json` (or the file given with --config), or the
 * default sets when there is none. Every mistake is a ConfigError naming the
 * file and the key.
 */
export function loadProjectConfig(options: {
  cwd: string;
  configPath?: string | undefined;
  /** A set whose folder may not exist yet: `import` makes it. */
  setToBeMade?: string | undefined;
}): ProjectConfig {
  const explicit = options.configPath !== undefined;
  const file = resolve(options.cwd, options.configPath ?? join('database', 'schemata.json'));
  if (!existsSync(file)) {
    if (explicit) {
      throw new ConfigError(
        `The config file ${file} given with --config does not exist.`,
        'Pass the path of a schemata.json file.',
      );
    }
    const elsewhere = existsSync(join(options.cwd, 'database'))
      ? []
      : projectsNear(resolve(options.cwd));
    if (elsewhere.length > 0) {
      const cds = elsewhere.map((dir) => `cd ${relative(options.cwd, dir)}`);
      throw new ConfigError(
        `There is no database/ folder in ${resolve(options.cwd)}: schemata runs in the folder that holds a project's database/ (its migration sets), and ${elsewhere.length === 1 ? `${elsewhere[0]!} is one` : `${elsewhere.join(', ')} are`}.`,
        `Run the command there: ${cds.join(', or ')}`,
      );
    }
    return checkSets(
      undefined,
      resolve(options.cwd, 'database'),
      [...DEFAULT_SETS],
      options.setToBeMade,
    );
  }
  let json: unknown;
  try {
    // An editor's byte-order mark is no part of the JSON.
    json = JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new ConfigError(
      `The config file ${file} is not valid JSON: ${(error as Error).message}.`,
      'Fix the JSON syntax.',
      {
        cause: error,
      },
    );
  }
  const parsed = fileSchema().safeParse(json);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => formatIssue(issue, json));
    throw new ConfigError(
      `The config file ${file} is invalid: ${lines.join('; ')}.`,
      'See the "sets" format in MIGRATION_GUIDE.md.',
    );
  }
  return checkSets(file, dirname(file), parsed.data.sets, options.setToBeMade);
}

/** A folder that holds a schemata project: database/schemata.json, or a default set's folder. */
function holdsProject(dir: string): boolean {
  const database = join(dir, 'database');
  return ['schemata.json', ...DEFAULT_SETS.map((set) => set.dir)].some((entry) =>
    existsSync(join(database, entry)),
  );
}

/**
 * Where the project is when the working directory has no database/: a folder
 * above (run from database/ itself, or deeper), else the packages below a
 * workspace root (apps/api), a few levels down, without node_modules or
 * hidden folders. So that the hint is a `cd` that works, not "create
 * database/database/primary".
 */
function projectsNear(cwd: string): string[] {
  for (let dir = dirname(cwd); dir !== dirname(dir); dir = dirname(dir))
    if (holdsProject(dir)) return [dir];
  const found: string[] = [];
  let level = [cwd];
  for (let depth = 0; depth < 3 && found.length === 0; depth++) {
    const next: string[] = [];
    for (const dir of level) {
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        continue; // a folder we may not read is no project of ours
      }
      for (const entry of entries) {
        if (!entry.isDirectory() || entry.name.startsWith('.') || entry.name === 'node_modules')
          continue;
        const child = join(dir, entry.name);
        if (holdsProject(child)) found.push(child);
        else next.push(child);
      }
    }
    level = next;
  }
  return found.sort();
}

/**
 * The project a config belongs to: the folder holding its `database/`
 * (or the config's own folder when it is elsewhere); the working directory
 * without a config. The embedded database lives there, so that a run from a
 * workspace root with --config uses the app's, not a second one.
 */
export function projectRoot(project: ProjectConfig, cwd: string): string {
  if (project.file === undefined) return cwd;
  const folder = dirname(project.file);
  return basename(folder) === 'database' ? dirname(folder) : folder;
}

/** The rules a schema cannot say: unique names, one owner per schema, directories that exist. */
function checkSets(
  file: string | undefined,
  baseDir: string,
  raw: RawSet[],
  setToBeMade?: string,
): ProjectConfig {
  const where = file ?? `the default sets (no ${join(baseDir, 'schemata.json')})`;
  const names = new Map<string, number>();
  const owners = new Map<string, string>();
  const dirs = new Map<string, number>();
  const sets: SetConfig[] = raw.map((set, i) => {
    const seen = names.get(set.name);
    if (seen !== undefined) {
      throw new ConfigError(
        `${where}: sets[${i}].name "${set.name}" is also the name of sets[${seen}].`,
        'Give every set its own name.',
      );
    }
    names.set(set.name, i);
    const tenants = set.tenants ? tenantSource(set.tenants) : undefined;
    if (!tenants && !set.schemas)
      throw new ConfigError(
        `The config file ${where} is invalid: sets[${i}].schemas is missing: set "${set.name}" must list the schemas it owns.`,
        'List the schemas the set owns, or give the set "tenants" (MIGRATION_GUIDE.md, "Tenants").',
      );
    // A set runs on the database it names; only a fleet of tenant databases has its own (the default: primary, for its query).
    if (set.database === undefined && tenants?.kind !== 'databases')
      throw new ConfigError(
        `The config file ${where} is invalid: sets[${i}].database is missing: set "${set.name}" must name its database (primary, data, …).`,
        'Add "database": "primary" (its URL is PRIMARY_DATABASE_URL), or the database the set runs on.',
      );
    if (tenants?.kind === 'schemas' && set.schemas)
      throw new ConfigError(
        `${where}: sets[${i}] "${set.name}" has tenant schemas, so "schemas" does not go with it: each tenant's schema is its own.`,
        'Remove "schemas" from the set.',
      );
    const schemas = tenants?.kind === 'schemas' ? [] : (set.schemas ?? ['public']);
    schemas.forEach((schema, j) => {
      const owner = owners.get(schema);
      if (owner !== undefined) {
        throw new ConfigError(
          `${where}: sets[${i}].schemas[${j}] "${schema}" is already owned by set "${owner}"; a schema belongs to one set.`,
          'Remove the schema from one of the two sets.',
        );
      }
      owners.set(schema, set.name);
    });
    const dir = resolve(baseDir, set.dir);
    const toBeMade = set.name === setToBeMade && !existsSync(dir);
    if (!toBeMade && (!existsSync(dir) || !statSync(dir).isDirectory())) {
      throw new ConfigError(
        `${where}: sets[${i}].dir "${set.dir}" is not a directory (looked at ${dir}).`,
        `Create ${dir}, or fix "dir".`,
      );
    }
    // Two sets reading one folder would run its files twice, recorded under two names.
    const twin = dirs.get(dir);
    if (twin !== undefined) {
      throw new ConfigError(
        `${where}: sets[${i}].dir "${set.dir}" is also the dir of sets[${twin}] (${dir}): each set needs a folder of its own.`,
        'Give each set its own folder.',
      );
    }
    dirs.set(dir, i);
    return {
      name: set.name,
      dir,
      database: set.database ?? 'primary',
      schemas,
      ...(tenants ? { tenants } : {}),
    };
  });
  return { file, baseDir, sets };
}

/** Picks the named sets, in config order; an unknown name is a usage error. */
export function selectSets(config: ProjectConfig, names: readonly string[]): SetConfig[] {
  if (names.length === 0) return config.sets;
  const known = config.sets.map((s) => s.name);
  for (const name of names) {
    if (!known.includes(name)) {
      throw new ConfigError(
        `There is no set named "${name}"; the sets are ${known.map((k) => `"${k}"`).join(', ')}.`,
        `Use one of: ${known.join(', ')}.`,
      );
    }
  }
  return config.sets.filter((s) => names.includes(s.name));
}
