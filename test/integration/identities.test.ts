import { describe, expect, it } from 'vitest';
import { migrate, validate } from '../../src/api.js';
import { freshDatabase, query } from '../support/db.js';
import { makeProject } from '../support/project.js';

/*
 * SPEC §4.2: an object's identity does not depend on the search_path in
 * force when it is read. A function over a type of another schema (citext
 * in public, an enum of a set's schema) is the same function whether
 * schemata's functions, a batch under the file's path, or validate under the
 * database's path reads it.
 */

const single = (url: string) => ({ PRIMARY_DATABASE_URL: url });
const SCHEMAS = {
  'data/001_schemas.sql':
    'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
};
const FUNCTIONS = {
  'data/002_functions.sql': [
    'CREATE EXTENSION IF NOT EXISTS citext SCHEMA public;',
    "CREATE TYPE workspace.mood AS ENUM ('happy', 'sad');",
    'CREATE FUNCTION workspace.normalised(v citext) RETURNS text LANGUAGE sql AS $$ SELECT lower(v::text) $$;',
    'CREATE FUNCTION workspace.moods(m workspace.mood[], n integer) RETURNS int LANGUAGE sql AS $$ SELECT n $$;',
    '',
  ].join('\n'),
};

const setDatabasePath = (url: string, path: string) =>
  query(
    url,
    `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET search_path = ${path}', current_database()); END $$`,
  );

describe('identities no search path changes', () => {
  it.each([
    ['the default path', undefined, undefined],
    ["the database's path names the set's schema", 'workspace, public', undefined],
    ['made under one path, validated under another', undefined, 'workspace, public'],
    ['the file sets its own path', undefined, undefined, 'SET search_path = workspace, public;\n'],
  ])(
    '%s: applied, then migrate and validate are clean',
    async (_name, pathBefore, pathAfter, prefix = '') => {
      const url = await freshDatabase();
      if (pathBefore) await setDatabasePath(url, pathBefore);
      const files = {
        ...SCHEMAS,
        'data/002_functions.sql': `${prefix}${FUNCTIONS['data/002_functions.sql']}`,
      };
      const cwd = makeProject(files);
      const first = await migrate({ cwd, env: single(url), sets: ['data'] });
      expect(first.error).toBeUndefined();
      if (pathAfter) await setDatabasePath(url, pathAfter);
      const again = await migrate({ cwd, env: single(url), sets: ['data'] });
      expect(again.error).toBeUndefined();
      const checked = await validate({ cwd, env: single(url), sets: ['data'] });
      expect(checked.sets[0]?.problems).toEqual([]);
      const identities = await query<{ identity: string }>(
        url,
        "SELECT identity FROM schemata.objects WHERE kind = 'function' ORDER BY identity",
      );
      expect(identities.map((r) => r.identity)).toEqual([
        'workspace.moods(workspace.mood[], integer)',
        'workspace.normalised(public.citext)',
      ]);
      // Dropped by hand, it is named under that identity.
      await query(url, 'DROP FUNCTION workspace.normalised(public.citext)');
      const report = await validate({ cwd, env: single(url), sets: ['data'] });
      expect(report.exitCode).toBe(3);
      expect(report.sets[0]?.problems[0]?.message).toContain(
        'function workspace.normalised(public.citext) (002_functions.sql)',
      );
    },
  );
});
