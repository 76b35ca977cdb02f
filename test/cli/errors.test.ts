import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { json, runCli } from '../support/cli.js';
import { freshDatabase, PASSWORD, schemaExists } from '../support/db.js';
import { makeProject, SMALL_SETS } from '../support/project.js';

let url: string;
beforeAll(async () => {
  url = await freshDatabase();
});

interface Case {
  name: string;
  args: string[];
  env?: Record<string, string>;
  files?: Record<string, string>;
  /** Written into the project root (path → content). */
  root?: Record<string, string>;
  message: string | RegExp;
}

const cases: Case[] = [
  { name: 'SPLIT_DB_MODE that is not a boolean', args: ['migrate'], env: { SPLIT_DB_MODE: 'maybe' }, message: 'SPLIT_DB_MODE is "maybe"' },
  { name: 'SCHEMATA_LOCK_TIMEOUT that is not a number', args: ['migrate'], env: { SCHEMATA_LOCK_TIMEOUT: 'soon' }, message: 'SCHEMATA_LOCK_TIMEOUT is "soon"' },
  { name: '--lock-timeout that is negative', args: ['migrate', '--lock-timeout', '-3'], message: '--lock-timeout is "-3"' },
  { name: 'an unknown flag', args: ['migrate', '--frobnicate'], message: /Unknown argument: frobnicate/ },
  { name: 'an unknown command', args: ['explode'], message: /Unknown argument: explode/ },
  { name: 'no command', args: [], message: 'Name a command' },
  { name: 'an unknown set', args: ['migrate', 'analytics'], message: 'There is no set named "analytics"' },
  { name: 'split mode without DATA_DATABASE_URL', args: ['migrate'], env: { SPLIT_DB_MODE: 'true' }, message: 'DATA_DATABASE_URL is not set' },
  { name: 'a URL that does not parse', args: ['migrate'], env: { PRIMARY_DATABASE_URL: 'postgres://u:PW@@host:notaport/db' }, message: 'PRIMARY_DATABASE_URL is not a valid URL' },
  { name: 'a URL of another database', args: ['migrate'], env: { PRIMARY_DATABASE_URL: 'mysql://u:pw@localhost/db' }, message: 'must be a postgres:// or postgresql:// URL' },
  { name: 'a database that does not exist', args: ['migrate'], message: 'does not exist' },
  { name: 'a missing --config', args: ['migrate', '--config', 'elsewhere/schemata.json'], message: 'given with --config does not exist' },
  { name: 'schemata.json that is not JSON', args: ['migrate'], root: { 'database/schemata.json': '{ "sets": [ }' }, message: 'is not valid JSON' },
  {
    name: 'schemata.json with an unknown key',
    args: ['migrate'],
    root: { 'database/schemata.json': JSON.stringify({ sets: [{ name: 'primary', dir: 'primary', database: 'primary', schemas: ['config'], owner: 'me' }] }) },
    message: /schemata\.json is invalid: sets\[0\]: unknown key "owner"/,
  },
  {
    name: 'schemata.json with a schema that is not an identifier',
    args: ['migrate'],
    root: { 'database/schemata.json': JSON.stringify({ sets: [{ name: 'primary', dir: 'primary', database: 'primary', schemas: ['config', 'Bad Name'] }] }) },
    message: 'sets[0].schemas[1]',
  },
  {
    name: 'two sets owning one schema',
    args: ['migrate'],
    root: {
      'database/schemata.json': JSON.stringify({
        sets: [
          { name: 'primary', dir: 'primary', database: 'primary', schemas: ['config'] },
          { name: 'data', dir: 'data', database: 'data', schemas: ['config'] },
        ],
      }),
    },
    message: 'already owned by set "primary"',
  },
  {
    name: 'a set directory that does not exist',
    args: ['migrate'],
    root: { 'database/schemata.json': JSON.stringify({ sets: [{ name: 'primary', dir: 'missing', database: 'primary', schemas: ['config'] }] }) },
    message: 'sets[0].dir "missing" is not a directory',
  },
  { name: 'two files with one version', args: ['migrate'], files: { 'data/003_a.sql': 'SELECT 1;', 'data/3_b.sql': 'SELECT 1;' }, message: 'have the same version 3' },
  { name: 'a .sql file without a version', args: ['migrate'], files: { 'data/cleanup.sql': 'SELECT 1;' }, message: 'is not named <version>_<name>.sql' },
  { name: 'a migration file that is not UTF-8', args: ['migrate'], files: { 'data/009_latin1.sql': '' }, message: 'is not valid UTF-8' },
  { name: 'create with a bad name', args: ['create', 'data', 'drop tables!'], message: 'is not a usable migration name' },
];

describe('bad input: exit 2, one clear paragraph, nothing written', () => {
  it.each(cases)('$name', async (c) => {
    const cwd = makeProject({ ...SMALL_SETS, ...c.files });
    if (c.name.includes('not UTF-8')) writeFileSync(join(cwd, 'database/data/009_latin1.sql'), Buffer.from([0x53, 0x45, 0x4c, 0xe9, 0xff, 0x3b]));
    for (const [path, content] of Object.entries(c.root ?? {})) writeFileSync(join(cwd, path), content);
    const databaseUrl = c.name.includes('does not exist') ? `${url}_missing` : url;
    const env = { PRIMARY_DATABASE_URL: databaseUrl, ...c.env };
    const human = await runCli(c.args, { cwd, env });
    expect(human.code).toBe(2);
    expect(human.stderr).toMatch(c.message);
    expect(human.stderr).toMatch(/^error: /m);
    expect(human.stderr).toMatch(/→ /); // a hint follows

    const machine = await runCli([...c.args, '--json'], { cwd, env });
    expect(machine.code).toBe(2);
    expect(json(machine)).toMatchObject({ ok: false, exitCode: 2 });
    expect(await schemaExists(url, 'schemata')).toBe(false);
    expect(await schemaExists(url, 'config')).toBe(false);
  });

  it('a missing --env-file: our exit 2, or exit 9 from Node 20 itself, which checks the flag before schemata starts', async () => {
    const cwd = makeProject(SMALL_SETS);
    const result = await runCli(['migrate', '--env-file', 'nope.env'], { cwd, env: { PRIMARY_DATABASE_URL: url } });
    if (process.versions.node.startsWith('20.')) {
      expect(result.code).toBe(9);
      expect(result.stderr).toContain('nope.env');
    } else {
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('The env file "nope.env" given with --env-file does not exist');
    }
    expect(await schemaExists(url, 'schemata')).toBe(false);
  });

  it('reads --env-file and .env, the process environment winning', async () => {
    const cwd = makeProject(SMALL_SETS);
    writeFileSync(join(cwd, 'custom.env'), `PRIMARY_DATABASE_URL=${url}\nSPLIT_DB_MODE=false\n`);
    const fromFile = await runCli(['status', '--json', '--env-file', 'custom.env'], { cwd });
    expect(fromFile.code).toBe(0);
    expect(json(fromFile).sets[0].target).toContain(new URL(url).pathname);
    writeFileSync(join(cwd, '.env'), `PRIMARY_DATABASE_URL=${url}\nSPLIT_DB_MODE=nonsense\n`);
    const processWins = await runCli(['status', '--json'], { cwd, env: { SPLIT_DB_MODE: 'false' } });
    expect(processWins.code).toBe(0);
    const fileLoses = await runCli(['status', '--json'], { cwd });
    expect(fileLoses.code).toBe(2);
    expect(json(fileLoses).error.message).toContain('SPLIT_DB_MODE is "nonsense"');
  });

  it('never echoes the password of a URL that does not parse', async () => {
    const cwd = makeProject(SMALL_SETS);
    const result = await runCli(['migrate'], { cwd, env: { PRIMARY_DATABASE_URL: `postgres://u:${PASSWORD()}@@host:port/db` } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('postgres://u:***@');
  });
});
