import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { json, runCli } from '../support/cli.js';
import { freshDatabase, PASSWORD, query, schemaExists, trackedVersions } from '../support/db.js';
import { makeProject, REPO, SMALL_SETS } from '../support/project.js';
import { ACCEPTED, CATALOGUE, guideTable } from './bad-input.catalogue.js';

let url: string;
beforeAll(async () => {
  url = await freshDatabase();
});

const project = (
  files: Record<string, string | Buffer> = {},
  root: Record<string, string> = {},
  links: Record<string, string> = {},
) => {
  const cwd = makeProject(SMALL_SETS);
  for (const [path, content] of Object.entries(files))
    writeFileSync(join(cwd, 'database', path), content);
  for (const [path, target] of Object.entries(links))
    symlinkSync(target, join(cwd, 'database', path));
  for (const [path, content] of Object.entries(root)) writeFileSync(join(cwd, path), content);
  return cwd;
};

describe(`bad input: ${CATALOGUE.length} cases, each with its exit code and message, no stack trace, no password, nothing written`, () => {
  it.each(CATALOGUE)('$situation → exit $exit', async (c) => {
    const db = await freshDatabase();
    const cwd = project(c.files, c.root, c.links);
    const env = { PRIMARY_DATABASE_URL: db, ...(c.setup ? await c.setup(db) : {}), ...c.env?.(db) };
    const human = await runCli(c.args, { cwd, env });
    expect(human.code, human.stderr).toBe(c.exit);
    expect(human.stderr).toContain(typeof c.message === 'string' ? c.message : '');
    if (typeof c.message !== 'string') expect(human.stderr).toMatch(c.message);
    if (!c.node) {
      expect(human.stderr).toMatch(/^error: /m);
      expect(human.stderr).toMatch(/→ /); // a hint follows
      const machine = await runCli([...c.args, '--json'], { cwd, env });
      expect(machine.code).toBe(c.exit);
      expect(json(machine)).toMatchObject({ ok: false, exitCode: c.exit });
    }
    // Nothing half-applied: a migration failing at run time is rolled back with its tracking row
    // (the ones before it stay applied); everything else stops before writing anything.
    if (c.exit === 1 && c.files) {
      expect(await trackedVersions(db, 'data')).toEqual(['1', '2']);
    } else {
      expect(await schemaExists(db, 'workspace')).toBe(false);
      if (c.schemataMade)
        expect(await query(db, "SELECT to_regclass('schemata.migrations') AS t")).toEqual([
          { t: null },
        ]);
      else expect(await schemaExists(db, 'schemata')).toBe(false);
    }
  });
});

describe('odd but valid input migrates', () => {
  it.each(ACCEPTED)('$situation', async (c) => {
    const db = await freshDatabase();
    const cwd = project(c.files);
    const result = await runCli(['migrate', 'data'], { cwd, env: { PRIMARY_DATABASE_URL: db } });
    expect(result.code, result.stderr).toBe(0);
    if (c.warning) expect(result.stderr).toContain(c.warning);
    expect(await trackedVersions(db, 'data')).toEqual(c.tracked ?? ['1', '2', '3']);
  });
});

describe('MIGRATION_GUIDE.md', () => {
  it('has the "Errors and what to do" table of this catalogue', () => {
    const guide = readFileSync(join(REPO, 'MIGRATION_GUIDE.md'), 'utf8');
    expect(guide, `MIGRATION_GUIDE.md should contain:\n${guideTable()}`).toContain(guideTable());
  });
});

describe('the environment and secrets', () => {
  it('reads --env-file and .env, the process environment winning', async () => {
    const cwd = makeProject(SMALL_SETS);
    writeFileSync(join(cwd, 'custom.env'), `PRIMARY_DATABASE_URL=${url}\nSPLIT_DB_MODE=false\n`);
    const fromFile = await runCli(['status', '--json', '--env-file', 'custom.env'], { cwd });
    expect(fromFile.code).toBe(0);
    expect(json(fromFile).sets[0]?.target).toContain(new URL(url).pathname);
    writeFileSync(join(cwd, '.env'), `PRIMARY_DATABASE_URL=${url}\nSPLIT_DB_MODE=nonsense\n`);
    const processWins = await runCli(['status', '--json'], {
      cwd,
      env: { SPLIT_DB_MODE: 'false' },
    });
    expect(processWins.code).toBe(0);
    const fileLoses = await runCli(['status', '--json'], { cwd });
    expect(fileLoses.code).toBe(2);
    expect(json(fileLoses).error?.message).toContain('SPLIT_DB_MODE is "nonsense"');
  });

  it('never echoes the password of a URL that does not parse', async () => {
    const cwd = makeProject(SMALL_SETS);
    const result = await runCli(['migrate'], {
      cwd,
      env: { PRIMARY_DATABASE_URL: `postgres://u:${PASSWORD()}@@host:port/db` },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('postgres://u:***@');
  });
});
