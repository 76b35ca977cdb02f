import { chmodSync, cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { madeProject } from './cleanup.js';

export const REPO = new URL('../..', import.meta.url).pathname;

/**
 * A throw-away project: `database/primary` and `database/data` with the
 * given files (path relative to database/ → content). With `example`, the
 * repository's own example sets.
 */
export function makeProject(
  files: Record<string, string> = {},
  options: { example?: boolean } = {},
): string {
  const root = mkdtempSync(join(tmpdir(), 'schemata-project-'));
  madeProject(root);
  // An embedded server run as the postgres user (when we are root) must reach it.
  chmodSync(root, 0o755);
  if (options.example) cpSync(join(REPO, 'database'), join(root, 'database'), { recursive: true });
  mkdirSync(join(root, 'database', 'primary'), { recursive: true });
  mkdirSync(join(root, 'database', 'data'), { recursive: true });
  for (const [path, content] of Object.entries(files)) writeFile(root, path, content);
  return root;
}

export function writeFile(root: string, path: string, content: string): void {
  const full = join(root, 'database', path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, content);
}

/** Two small sets: schemas and a table each. */
export const SMALL_SETS: Record<string, string> = {
  'primary/001_schemas.sql':
    'CREATE SCHEMA IF NOT EXISTS config;\nCREATE SCHEMA IF NOT EXISTS customer;\n',
  'primary/002_tables.sql':
    'CREATE TABLE IF NOT EXISTS config.settings (key text PRIMARY KEY, value text);\n',
  'data/001_schemas.sql':
    'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
  'data/002_tables.sql': 'CREATE TABLE IF NOT EXISTS workspace.items (id int PRIMARY KEY);\n',
};
