import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { TOOL_NAMES, type ToolName } from './tool.js';

/** The file `schemata import` writes in the set's folder: which of the tool's migrations became which file. */
export const MANIFEST_FILE = 'import.json';

const Manifest = z.object({
  tool: z.enum(TOOL_NAMES),
  from: z.string(),
  migrations: z.array(z.object({ id: z.string(), source: z.string(), file: z.string() })),
});
export type ImportManifest = z.infer<typeof Manifest>;

export function manifestPath(setDir: string): string {
  return join(setDir, MANIFEST_FILE);
}

/** The set's import manifest, checked; a missing one or another tool's is a usage error (exit 2). */
export function readManifest(
  set: { name: string; dir: string },
  tool: ToolName,
  shown: string,
): ImportManifest {
  const path = manifestPath(set.dir);
  if (!existsSync(path))
    throw new ConfigError(
      `Set "${set.name}": ${shown} is missing: baseline --from ${tool} reads ${tool}'s table against the migrations imported from it. Nothing was recorded.`,
      `Import the history first: schemata import ${tool} --set ${set.name}`,
    );
  let manifest: ImportManifest;
  try {
    manifest = Manifest.parse(JSON.parse(readFileSync(path, 'utf8')));
  } catch (error) {
    throw new ConfigError(
      `Set "${set.name}": ${shown} is not an import manifest schemata wrote (${(error as Error).message.split('\n')[0]}). Nothing was recorded.`,
      `Restore it from version control, or remove the set's files and import again: schemata import ${tool} --set ${set.name}`,
      { cause: error },
    );
  }
  if (manifest.tool !== tool)
    throw new ConfigError(
      `Set "${set.name}": its migrations were imported from ${manifest.tool} (${shown}), not ${tool}. Nothing was recorded.`,
      `Run: schemata baseline ${set.name} --from ${manifest.tool}`,
    );
  return manifest;
}
