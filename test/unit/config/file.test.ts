import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_SETS, loadProjectConfig, selectSets } from '../../../src/config/file.js';
import { expectConfigError, tempDir, writeTree } from '../helpers.js';

let dir: string;
let remove: () => void;
beforeEach(() => {
  ({ dir, remove } = tempDir('schemata-file-'));
});
afterEach(() => {
  remove();
});

const configFile = () => join(dir, 'database', 'schemata.json');
const writeConfig = (value: unknown) => {
  writeFileSync(configFile(), typeof value === 'string' ? value : JSON.stringify(value));
};
const set = (overrides: Record<string, unknown> = {}) => ({
  name: 'primary',
  dir: 'primary',
  database: 'primary',
  schemas: ['config'],
  ...overrides,
});

describe('loadProjectConfig without a config file', () => {
  it('uses the default sets, relative to database/', () => {
    writeTree(dir, { 'database/primary': null, 'database/data': null });
    const config = loadProjectConfig({ cwd: dir });
    expect(config).toEqual({
      file: undefined,
      baseDir: join(dir, 'database'),
      sets: [
        {
          name: 'primary',
          dir: join(dir, 'database', 'primary'),
          database: 'primary',
          schemas: ['config', 'customer'],
        },
        {
          name: 'data',
          dir: join(dir, 'database', 'data'),
          database: 'data',
          schemas: ['workspace', 'reference'],
        },
      ],
    });
  });

  it('the defaults match SPEC §1', () => {
    expect(DEFAULT_SETS).toEqual([
      { name: 'primary', dir: 'primary', database: 'primary', schemas: ['config', 'customer'] },
      { name: 'data', dir: 'data', database: 'data', schemas: ['workspace', 'reference'] },
    ]);
  });

  it('a default set directory that is missing is exit 2 naming the set key and the directory', () => {
    writeTree(dir, { 'database/primary': null });
    expectConfigError(
      () => loadProjectConfig({ cwd: dir }),
      'sets[1].dir',
      '"data"',
      join(dir, 'database', 'data'),
    );
  });
});

describe('loadProjectConfig with database/schemata.json', () => {
  beforeEach(() => {
    writeTree(dir, { 'database/primary': null, 'database/data': null, 'database/extra': null });
  });

  it('reads the sets in order, directories relative to the file', () => {
    writeConfig({
      sets: [
        set({ name: 'data', dir: 'data', database: 'data', schemas: ['workspace'] }),
        set({ name: 'primary', schemas: ['config', 'customer'] }),
      ],
    });
    const config = loadProjectConfig({ cwd: dir });
    expect(config.file).toBe(configFile());
    expect(config.baseDir).toBe(join(dir, 'database'));
    expect(config.sets.map((s) => [s.name, s.dir, s.database, s.schemas])).toEqual([
      ['data', join(dir, 'database', 'data'), 'data', ['workspace']],
      ['primary', join(dir, 'database', 'primary'), 'primary', ['config', 'customer']],
    ]);
  });

  it.each<[string, unknown, string[]]>([
    ['unknown top-level key', { sets: [set()], extra: true }, ['unknown key', '"extra"']],
    ['unknown key inside a set', { sets: [set({ folder: 'x' })] }, ['sets[0]', '"folder"']],
    [
      'unknown key inside the second set',
      { sets: [set(), set({ name: 'data', schemas: ['workspace'], dir: 'data', colour: 'red' })] },
      ['sets[1]', '"colour"'],
    ],
    [
      'schema name with a capital',
      { sets: [set({ schemas: ['config', 'Customer'] })] },
      ['sets[0].schemas[1]', 'identifier'],
    ],
    [
      'schema name with a dash',
      { sets: [set({ schemas: ['config', 'my-schema'] })] },
      ['sets[0].schemas[1]'],
    ],
    [
      'the offending value is named',
      { sets: [set({ schemas: ['config', 'bad schema;'] })] },
      ['sets[0].schemas[1] "bad schema;"'],
    ],
    [
      'schema name starting with a digit',
      { sets: [set({ schemas: ['1abc'] })] },
      ['sets[0].schemas[0]'],
    ],
    [
      'schema name longer than 63',
      { sets: [set({ schemas: ['a'.repeat(64)] })] },
      ['sets[0].schemas[0]'],
    ],
    [
      'reserved schema pg_*',
      { sets: [set({ schemas: ['pg_catalog'] })] },
      ['sets[0].schemas[0]', 'reserved'],
    ],
    [
      'reserved schema schemata',
      { sets: [set({ schemas: ['schemata'] })] },
      ['sets[0].schemas[0]', 'reserved'],
    ],
    ['no schemas', { sets: [set({ schemas: [] })] }, ['sets[0].schemas']],
    [
      'database missing',
      { sets: [{ name: 'primary', dir: 'primary', schemas: ['config'] }] },
      ['sets[0].database'],
    ],
    [
      'schemas missing',
      { sets: [{ name: 'primary', dir: 'primary', database: 'primary' }] },
      ['sets[0].schemas'],
    ],
    ['bad set name', { sets: [set({ name: 'Primary Set' })] }, ['sets[0].name']],
    ['bad database name', { sets: [set({ database: 'PRIMARY-DB' })] }, ['sets[0].database']],
    ['empty dir', { sets: [set({ dir: '' })] }, ['sets[0].dir']],
    ['no sets', { sets: [] }, ['sets']],
    ['sets not an array', { sets: 'primary' }, ['sets']],
    ['not an object', [1, 2], []],
  ])('%s → exit 2 naming the file and the key', (_what, value, fragments) => {
    writeConfig(value);
    expectConfigError(() => loadProjectConfig({ cwd: dir }), configFile(), 'invalid', ...fragments);
  });

  it('two sets owning the same schema → exit 2 naming both', () => {
    writeConfig({
      sets: [
        set({ schemas: ['config', 'shared'] }),
        set({ name: 'data', dir: 'data', database: 'data', schemas: ['workspace', 'shared'] }),
      ],
    });
    const error = expectConfigError(
      () => loadProjectConfig({ cwd: dir }),
      configFile(),
      'sets[1].schemas[1]',
      '"shared"',
      '"primary"',
    );
    expect(error.hint).toBeDefined();
  });

  it('one set listing a schema twice → exit 2', () => {
    writeConfig({ sets: [set({ schemas: ['config', 'config'] })] });
    expectConfigError(
      () => loadProjectConfig({ cwd: dir }),
      configFile(),
      'sets[0].schemas[1]',
      '"config"',
    );
  });

  it('two sets reading one folder → exit 2 naming both', () => {
    writeConfig({ sets: [set(), set({ name: 'data', database: 'data', schemas: ['workspace'] })] });
    expectConfigError(
      () => loadProjectConfig({ cwd: dir }),
      configFile(),
      'sets[1].dir "primary" is also the dir of sets[0]',
    );
  });

  it('a byte-order mark before the JSON is no error', () => {
    writeTree(dir, { 'database/schemata.json': `\ufeff${JSON.stringify({ sets: [set()] })}` });
    expect(loadProjectConfig({ cwd: dir }).sets.map((s) => s.name)).toEqual(['primary']);
  });

  it('a duplicate set name → exit 2 naming both positions', () => {
    writeConfig({ sets: [set(), set({ dir: 'data', schemas: ['workspace'] })] });
    expectConfigError(
      () => loadProjectConfig({ cwd: dir }),
      configFile(),
      'sets[1].name',
      '"primary"',
      'sets[0]',
    );
  });

  it('a missing directory → exit 2 naming the key and where it looked', () => {
    writeConfig({ sets: [set({ dir: 'nowhere' })] });
    expectConfigError(
      () => loadProjectConfig({ cwd: dir }),
      configFile(),
      'sets[0].dir',
      '"nowhere"',
      join(dir, 'database', 'nowhere'),
    );
  });

  it('a dir that is a file → exit 2', () => {
    writeTree(dir, { 'database/afile': 'not a directory' });
    writeConfig({ sets: [set({ dir: 'afile' })] });
    expectConfigError(() => loadProjectConfig({ cwd: dir }), configFile(), 'sets[0].dir');
  });

  it.each(['{ "sets": [ ', '', '{ sets: [] }', '{"sets": []},'])(
    'invalid JSON %j → exit 2 naming the file',
    (text) => {
      writeConfig(text);
      expectConfigError(() => loadProjectConfig({ cwd: dir }), configFile(), 'not valid JSON');
    },
  );
});

describe('loadProjectConfig with --config', () => {
  it('reads the given file; set directories are relative to its folder', () => {
    writeTree(dir, { 'other/project/migrations/main': null });
    const file = join(dir, 'other', 'project', 'migrations', 'my.json');
    writeFileSync(
      file,
      JSON.stringify({ sets: [set({ name: 'main', dir: 'main', schemas: ['app'] })] }),
    );
    const config = loadProjectConfig({ cwd: dir, configPath: 'other/project/migrations/my.json' });
    expect(config.file).toBe(file);
    expect(config.sets).toEqual([
      {
        name: 'main',
        dir: join(dir, 'other', 'project', 'migrations', 'main'),
        database: 'primary',
        schemas: ['app'],
      },
    ]);
  });

  it('a --config path that does not exist → exit 2 naming it, even when defaults would work', () => {
    writeTree(dir, { 'database/primary': null, 'database/data': null });
    expectConfigError(
      () => loadProjectConfig({ cwd: dir, configPath: 'missing.json' }),
      join(dir, 'missing.json'),
      '--config',
    );
  });

  it('errors in the given file name that file', () => {
    writeTree(dir, { 'cfg/p': null });
    writeFileSync(
      join(dir, 'cfg', 'x.json'),
      JSON.stringify({ sets: [set({ dir: 'p', unknown: 1 })] }),
    );
    expectConfigError(
      () => loadProjectConfig({ cwd: dir, configPath: 'cfg/x.json' }),
      join(dir, 'cfg', 'x.json'),
      'sets[0]',
      '"unknown"',
    );
  });
});

describe('selectSets', () => {
  const config = {
    file: undefined,
    baseDir: '/p/database',
    sets: [
      { name: 'primary', dir: '/p/database/primary', database: 'primary', schemas: ['config'] },
      { name: 'data', dir: '/p/database/data', database: 'data', schemas: ['workspace'] },
      { name: 'audit', dir: '/p/database/audit', database: 'data', schemas: ['audit'] },
    ],
  };

  it.each([
    [[], ['primary', 'data', 'audit']],
    [['data'], ['data']],
    [
      ['audit', 'primary'],
      ['primary', 'audit'],
    ],
    [['data', 'data'], ['data']],
  ])('%j → %j (config order)', (names, expected) => {
    expect(selectSets(config, names).map((s) => s.name)).toEqual(expected);
  });

  it('an unknown set name → exit 2 naming it and the known sets', () => {
    expectConfigError(
      () => selectSets(config, ['data', 'nope']),
      '"nope"',
      '"primary"',
      '"data"',
      '"audit"',
    );
  });
});
