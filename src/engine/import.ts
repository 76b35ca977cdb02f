import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseMigrationFileName } from '../config/discover.js';
import { loadProjectConfig, projectRoot, selectSets } from '../config/file.js';
import { ConfigError, EXIT, type ExitCode } from '../errors.js';
import { asSchemataError } from './execute.js';
import { loadParser } from '../sql/parse.js';
import { readMigration } from '../sql/read.js';
import { TOOLS } from '../tools/index.js';
import { MANIFEST_FILE, manifestPath, type ImportManifest } from '../tools/manifest.js';
import { downFileOf, listed, toolNamed } from '../tools/tool.js';

export interface ImportOptions {
  cwd?: string | undefined;
  config?: string | undefined;
  /** One of prisma, drizzle, typeorm, knex, node-pg-migrate, golang-migrate, dbmate, flyway. */
  tool: string;
  set: string;
  /** The tool's migrations folder; default: where the tool keeps it. */
  from?: string | undefined;
}

export interface ImportReport {
  command: 'import';
  ok: boolean;
  exitCode: ExitCode;
  tool: string;
  set: string;
  /** The folder read, relative to the working directory. */
  from?: string | undefined;
  /** The files written, relative to the working directory, in order. */
  files: string[];
  /** Their down files. */
  downs: string[];
  /** What was left out and why: a down part that does not parse. */
  warnings: string[];
  manifest?: string | undefined;
  error?: { message: string; hint?: string | undefined } | undefined;
}

/**
 * `import <tool> --set <set> [--from PATH]` (SPEC §11): writes the tool's
 * migrations as the set's files, in the tool's order, with their down files
 * and a manifest (`import.json`) mapping each to the tool's own name for it.
 * Writes into a set that has no migrations yet, and writes nothing when any
 * migration cannot be converted or parsed.
 */
export async function importHistory(options: ImportOptions): Promise<ImportReport> {
  try {
    return await writeImport(options);
  } catch (error) {
    const failure = asSchemataError(error);
    return {
      command: 'import',
      ok: false,
      exitCode: failure.exitCode,
      tool: options.tool,
      set: options.set,
      files: [],
      downs: [],
      warnings: [],
      error: { message: failure.message, hint: failure.hint },
    };
  }
}

async function writeImport(options: ImportOptions): Promise<ImportReport> {
  const cwd = options.cwd ?? process.cwd();
  const shown = (path: string) => relative(cwd, path) || '.';
  const tool = TOOLS[toolNamed(options.tool)];
  const project = loadProjectConfig({ cwd, configPath: options.config, setToBeMade: options.set });
  const [set] = selectSets(project, [options.set]);
  const root = projectRoot(project, cwd);
  const candidates =
    options.from === undefined
      ? tool.defaultFrom.map((d) => resolve(root, d))
      : [resolve(cwd, options.from)];
  const dir = candidates.find((c) => existsSync(c) && statSync(c).isDirectory());
  if (!dir)
    throw new ConfigError(
      `No ${tool.name} migrations folder at ${candidates.map(shown).join(' or ')}. Nothing was written.`,
      `Name the folder: schemata import ${tool.name} --set ${set!.name} --from path/to/migrations`,
    );
  const parser = await loadParser();
  let source: ReturnType<typeof tool.readSource>;
  try {
    source = tool.readSource(dir, parser);
  } catch (error) {
    // A file the tool's index names that is not there, a folder that cannot be read.
    throw new ConfigError(
      `${shown(dir)}: cannot read the ${tool.name} migrations: ${(error as Error).message}. Nothing was written.`,
      `Restore the folder as ${tool.name} keeps it (git checkout -- ${shown(dir)}), then run: schemata import ${tool.name} --set ${set!.name}${options.from === undefined ? '' : ` --from ${options.from}`}`,
      { cause: error },
    );
  }
  if (source.unconvertible.length > 0)
    throw new ConfigError(
      `${shown(dir)}: ${source.unconvertible.length} ${tool.name} migration${source.unconvertible.length === 1 ? '' : 's'} cannot become SQL files: ${listed(source.unconvertible.map((u) => `${u.source} (${u.why})`))}. Nothing was written.`,
      `Write each as SQL in its place (or move it out of ${shown(dir)}), then run the import again: schemata import ${tool.name} --set ${set!.name}${options.from === undefined ? '' : ` --from ${options.from}`}`,
    );
  if (source.migrations.length === 0)
    throw new ConfigError(
      `${shown(dir)} holds no ${tool.name} migrations. Nothing was written.`,
      `Name the folder that holds them: schemata import ${tool.name} --set ${set!.name} --from path/to/migrations`,
    );
  const versions = new Map<string, string>();
  for (const m of source.migrations) {
    const version = parseMigrationFileName(m.file)?.version;
    const twin = version === undefined ? undefined : versions.get(version);
    if (version === undefined || twin !== undefined)
      throw new ConfigError(
        `${shown(dir)}: ${m.source} ${version === undefined ? `would become ${m.file}, which is not a migration name` : `has the version of ${twin} (${version})`}. Nothing was written.`,
        `Give it a version of its own in ${tool.name}, then run the import again.`,
      );
    versions.set(version, m.source);
  }
  // Schemas another set owns: a history that makes objects there spans two sets.
  const owners = new Map(
    project.sets
      .filter((s) => s.name !== set!.name)
      .flatMap((s) => s.schemas.map((schema) => [schema, s.name])),
  );
  const spanning: string[] = [];
  // A down part the tool never ran (it runs downs only on request) may not parse, or hold no statement: it is
  // left out, not the history, with a warning.
  const unparsedDowns = new Map<string, string>();
  for (const m of source.migrations) {
    for (const [part, sql] of [
      ['up', m.up],
      ['down', m.down],
    ] as const) {
      if (sql === undefined) continue;
      const parsed = readMigration(parser, sql);
      if (!parsed.ok && part === 'down') {
        unparsedDowns.set(
          m.file,
          `${shown(join(dir, m.source))}: its down SQL does not parse at line ${parsed.problem.at.line}, column ${parsed.problem.at.column}: ${parsed.problem.message}; ${downFileOf(m.file)} was not written, so a rollback of ${m.file} is refused until you write it.`,
        );
        continue;
      }
      if (!parsed.ok)
        throw new ConfigError(
          `${shown(join(dir, m.source))}: its ${part} SQL does not parse at line ${parsed.problem.at.line}, column ${parsed.problem.at.column}: ${parsed.problem.message}. Nothing was written.`,
          `Fix it in ${tool.name}'s folder, then run the import again.`,
        );
      // A down part of comments alone (an empty .down.sql, a `-- migrate:down` with nothing under it) undoes nothing:
      // no down file, so that status says so and a rollback is refused for want of one, not for undoing nothing.
      if (part === 'down') {
        if (parsed.statements.length === 0)
          unparsedDowns.set(
            m.file,
            `${shown(join(dir, m.source))}: its down part holds no statement; ${downFileOf(m.file)} was not written, so a rollback of ${m.file} is refused until you write it.`,
          );
        continue;
      }
      const others = new Set(
        parsed.operations.flatMap((op) => {
          if (op.kind !== 'create') return [];
          const schema =
            op.object.kind === 'schema'
              ? op.object.name
              : op.object.unqualified
                ? ''
                : op.object.schema;
          const owner = owners.get(schema);
          return owner ? [`${schema} (set ${owner})`] : [];
        }),
      );
      if (others.size > 0) spanning.push(`${m.source} makes objects in ${[...others].join(', ')}`);
    }
  }
  if (spanning.length > 0)
    throw new ConfigError(
      `${shown(dir)}: the ${tool.name} history spans the schemas of two sets, so it cannot become set "${set!.name}" alone: ${listed(spanning)}. Nothing was written.`,
      `Give one set every schema this history makes (in database/schemata.json), or split the history in ${tool.name}'s folder so that each part makes objects of one set; then run: schemata import ${tool.name} --set ${set!.name}${options.from === undefined ? '' : ` --from ${options.from}`}`,
    );
  const present = (existsSync(set!.dir) ? readdirSync(set!.dir) : [])
    .sort()
    .filter((f) => f.toLowerCase().endsWith('.sql') || f === MANIFEST_FILE);
  if (present.length > 0)
    throw new ConfigError(
      `Set "${set!.name}": ${shown(set!.dir)} already holds ${listed(present, 5)}: import writes a set's history from its start, into a folder with no migrations. Nothing was written.`,
      `Import into a set of its own (add it to database/schemata.json), or move those files away first.`,
    );
  const written: string[] = [];
  const manifest: ImportManifest = {
    tool: tool.name,
    from: relative(root, dir) || '.',
    migrations: source.migrations.map((m) => ({ id: m.id, source: m.source, file: m.file })),
  };
  // The folders this import makes (the set's, when it is new) go again with its files if it fails.
  let madeFolder: string | undefined;
  try {
    madeFolder = mkdirSync(set!.dir, { recursive: true });
    for (const m of source.migrations) {
      const path = join(set!.dir, m.file);
      writeFileSync(path, m.up, { flag: 'wx' });
      written.push(path);
      if (m.down !== undefined && !unparsedDowns.has(m.file)) {
        const down = join(set!.dir, downFileOf(m.file));
        writeFileSync(down, m.down, { flag: 'wx' });
        written.push(down);
      }
    }
    writeFileSync(manifestPath(set!.dir), `${JSON.stringify(manifest, null, 2)}\n`, { flag: 'wx' });
  } catch (error) {
    // Nothing half-written: what this import wrote goes again.
    for (const path of written) rmSync(path, { force: true });
    if (madeFolder !== undefined) rmSync(madeFolder, { recursive: true, force: true });
    throw new ConfigError(
      `Set "${set!.name}": cannot write into ${shown(set!.dir)}: ${(error as Error).message}. Nothing was written.`,
      undefined,
      { cause: error },
    );
  }
  return {
    command: 'import',
    ok: true,
    exitCode: EXIT.ok,
    tool: tool.name,
    set: set!.name,
    from: shown(dir),
    files: source.migrations.map((m) => shown(join(set!.dir, m.file))),
    downs: source.migrations.flatMap((m) =>
      m.down === undefined || unparsedDowns.has(m.file)
        ? []
        : [shown(join(set!.dir, downFileOf(m.file)))],
    ),
    warnings: [...unparsedDowns.values()],
    manifest: shown(manifestPath(set!.dir)),
  };
}

/** What import printed: the files, then the command that adopts each database's history. */
export function formatImport(report: ImportReport): string {
  return [
    `imported ${report.files.length} ${report.tool} migration${report.files.length === 1 ? '' : 's'} from ${report.from} into set "${report.set}"${report.downs.length > 0 ? `, with ${report.downs.length} down file${report.downs.length === 1 ? '' : 's'}` : ''}:`,
    ...report.files.map((f) => `  ${f}`),
    `manifest: ${report.manifest}`,
    `next, on each database ${report.tool} kept: schemata baseline ${report.set} --from ${report.tool}`,
  ].join('\n');
}
