import { expect } from 'vitest';
import { migrate } from '../../src/api.js';
import { freshDatabase, query } from './db.js';
import { makeProject } from './project.js';

/**
 * A project of `files` whose data set is applied on a fresh database, then
 * `rows` run there (what its tables hold before the migration a test
 * writes): the database's URL, the project's folder and the environment
 * that reaches it.
 */
export async function appliedDataSet(files: Record<string, string>, rows?: string) {
  const url = await freshDatabase();
  const cwd = makeProject(files);
  const env = { PRIMARY_DATABASE_URL: url };
  expect((await migrate({ cwd, env, sets: ['data'] })).error).toBeUndefined();
  if (rows !== undefined) await query(url, rows);
  return { url, cwd, env };
}
