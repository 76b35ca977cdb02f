import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  compareVersions,
  discoverDowns,
  discoverMigrations,
  parseMigrationFileName,
  readContents,
  sameChecksum,
} from '../../../src/config/discover.js';
import type { SetConfig } from '../../../src/config/file.js';
import { expectConfigError, tempDir, writeTree } from '../helpers.js';

let dir: string;
let remove: () => void;
let set: SetConfig;
beforeEach(() => {
  ({ dir, remove } = tempDir('schemata-discover-'));
  set = { name: 'primary', dir, database: 'primary', schemas: ['config'] };
});
afterEach(() => {
  remove();
});

describe('parseMigrationFileName', () => {
  it.each([
    ['001_create_schemas.sql', { version: '1', name: 'create_schemas' }],
    ['1_a.sql', { version: '1', name: 'a' }],
    ['010_ten.sql', { version: '10', name: 'ten' }],
    ['000_zero.sql', { version: '0', name: 'zero' }],
    ['20250612152230_add_email.sql', { version: '20250612152230', name: 'add_email' }],
    ['99999999999999999999_big.sql', { version: '99999999999999999999', name: 'big' }],
    ['2_with-dash and.dots.sql', { version: '2', name: 'with-dash and.dots' }],
  ])('%s → %j', (file, expected) => {
    expect(parseMigrationFileName(file)).toEqual(expected);
  });

  it.each([
    'create.sql',
    'v1_create.sql',
    '001create.sql',
    '001_.sql',
    '_001_x.sql',
    '001_x.txt',
    '001_x.sql.bak',
  ])('%s is not a migration name', (file) => {
    expect(parseMigrationFileName(file)).toBeUndefined();
  });
});

describe('compareVersions', () => {
  it.each([
    ['1', '2', -1],
    ['2', '10', -1],
    ['10', '2', 1],
    ['7', '7', 0],
    ['9', '20250612152230', -1],
    ['99999999999999999998', '99999999999999999999', -1],
  ])('%s vs %s → %s', (a, b, expected) => {
    expect(Math.sign(compareVersions(a, b))).toBe(expected);
  });

  it('orders any two strings of digits, leading zeros or not, as their numbers', () => {
    const digits = fc.stringMatching(/^[0-9]{1,30}$/);
    const zeros = fc.stringMatching(/^0{0,3}$/);
    fc.assert(
      fc.property(digits, digits, zeros, zeros, (a, b, za, zb) => {
        const [x, y] = [BigInt(a), BigInt(b)];
        expect(compareVersions(za + a, zb + b)).toBe(x < y ? -1 : x > y ? 1 : 0);
        expect(compareVersions(za + a, zb + a)).toBe(0);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('discoverMigrations', () => {
  it('orders numerically (1, 2, 10), not lexically', () => {
    writeTree(dir, {
      '10_ten.sql': 'SELECT 10;',
      '2_two.sql': 'SELECT 2;',
      '1_one.sql': 'SELECT 1;',
    });
    const files = discoverMigrations(set);
    expect(files.map((f) => f.file)).toEqual(['1_one.sql', '2_two.sql', '10_ten.sql']);
    expect(files.map((f) => f.version)).toEqual(['1', '2', '10']);
    expect(files.map((f) => f.name)).toEqual(['one', 'two', 'ten']);
  });

  it('normalises leading zeros in the version', () => {
    writeTree(dir, {
      '001_create_schemas.sql': 'SELECT 1;',
      '002_config_tables.sql': 'SELECT 2;',
      '0010_later.sql': 'SELECT 3;',
    });
    const files = discoverMigrations(set);
    expect(files.map((f) => [f.version, f.name, f.file])).toEqual([
      ['1', 'create_schemas', '001_create_schemas.sql'],
      ['2', 'config_tables', '002_config_tables.sql'],
      ['10', 'later', '0010_later.sql'],
    ]);
    expect(files[0]!.path).toBe(join(dir, '001_create_schemas.sql'));
  });

  it('mixes timestamp versions after short ones', () => {
    writeTree(dir, { '20250612152230_new.sql': '', '003_old.sql': '' });
    expect(discoverMigrations(set).map((f) => f.version)).toEqual(['3', '20250612152230']);
  });

  it('two files with one version → exit 2 naming both files', () => {
    writeTree(dir, { '001_a.sql': 'SELECT 1;', '1_b.sql': 'SELECT 2;' });
    expectConfigError(
      () => discoverMigrations(set),
      '001_a.sql',
      '1_b.sql',
      'version 1',
      '"primary"',
    );
  });

  it.each(['create_table.sql', 'v2_add.sql', 'UPPER.SQL', '_1_x.sql'])(
    'a .sql file without a version (%s) → exit 2 naming it',
    (file) => {
      writeTree(dir, { '001_ok.sql': 'SELECT 1;', [file]: 'SELECT 2;' });
      expectConfigError(() => discoverMigrations(set), file, '"primary"');
    },
  );

  it('ignores files that are not .sql', () => {
    writeTree(dir, {
      'README.md': '# notes',
      '001_a.sql': 'SELECT 1;',
      'notes.txt': 'x',
      '.gitkeep': '',
      '002_b.sql.orig': 'x',
    });
    expect(discoverMigrations(set).map((f) => f.file)).toEqual(['001_a.sql']);
  });

  it("ignores hidden files: macOS's ._ copies (AppleDouble, from a zip or a network share) and editors' .# locks", () => {
    writeTree(dir, {
      '001_a.sql': 'SELECT 1;',
      '._001_a.sql': '\u0000\u0005\u0016\u0007',
      '._001_a.down.sql': '\u0000\u0005\u0016\u0007',
      '.#002_b.sql': 'x',
    });
    expect(discoverMigrations(set).map((f) => f.file)).toEqual(['001_a.sql']);
    expect([...discoverDowns(set).keys()]).toEqual([]);
  });

  it('an empty directory has no migrations', () => {
    expect(discoverMigrations(set)).toEqual([]);
  });

  it('a directory that cannot be read → exit 2 naming the set', () => {
    expectConfigError(
      () => discoverMigrations({ ...set, dir: join(dir, 'gone') }),
      '"primary"',
      join(dir, 'gone'),
    );
  });

  it('checksum is the sha-256 hex of the bytes; sql is the text', () => {
    const text = "CREATE SCHEMA IF NOT EXISTS config;\n-- café ✓\nSELECT 'ü';\n";
    writeTree(dir, { '001_a.sql': text });
    const [file] = discoverMigrations(set);
    expect(file!.checksum).toBe(
      createHash('sha256').update(Buffer.from(text, 'utf8')).digest('hex'),
    );
    expect(file!.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(file!.sql).toBe(text);
  });

  it('a one-byte change changes the checksum', () => {
    writeTree(dir, { '001_a.sql': 'SELECT 1;\n', '002_b.sql': 'SELECT 1; \n' });
    const [a, b] = discoverMigrations(set);
    expect(a!.checksum).not.toBe(b!.checksum);
  });

  it('a file that is not UTF-8 → exit 2 naming it', () => {
    writeTree(dir, {
      '001_latin1.sql': Buffer.from([
        0x53, 0x45, 0x4c, 0x45, 0x43, 0x54, 0x20, 0x27, 0xe9, 0x27, 0x3b, 0x0a,
      ]),
    });
    expectConfigError(() => readContents(discoverMigrations(set)), '001_latin1.sql', 'UTF-8');
  });

  it('a symbolic link whose target is gone → exit 2 naming the link and its target, no ENOENT', () => {
    writeTree(dir, { '001_a.sql': 'SELECT 1;\n' });
    symlinkSync('../shared/002_b.sql', join(dir, '002_b.sql'));
    const error = expectConfigError(
      () => readContents(discoverMigrations(set)),
      `${join(dir, '002_b.sql')} is a symbolic link to ../shared/002_b.sql, which does not exist`,
    );
    expect(error.message).not.toContain('ENOENT');
    expect(error.hint).toBe(
      `Restore ../shared/002_b.sql, or remove the link if it is not a migration of this set: rm ${join(dir, '002_b.sql')}`,
    );
  });

  it('.sql files in a sub-folder → exit 2 in one sentence with its hint, not wrapped as an unreadable folder', () => {
    writeTree(dir, { '001_a.sql': 'SELECT 1;', 'old/002_b.sql': 'SELECT 2;' });
    const error = expectConfigError(
      () => discoverMigrations(set),
      `Set "primary": ${join(dir, 'old')} holds 1 .sql file (002_b.sql), but only ${dir} itself is read`,
    );
    expect(error.message).not.toContain('cannot read its directory');
    expect(error.hint).toBe(
      `Move them into ${dir}, or out of it if they are not migrations of this set.`,
    );
  });

  it('a file whose path is longer than the system takes → exit 2 naming it, no ENAMETOOLONG', () => {
    // A folder whose path nearly fills PATH_MAX (4,096 bytes), and a file written into it through a shorter link.
    const deep = join(dir, ...Array<string>(16).fill('d'.repeat(250)));
    mkdirSync(deep, { recursive: true });
    symlinkSync(deep, join(dir, 'short'));
    const file = `001_${'x'.repeat(200)}.sql`;
    writeFileSync(join(dir, 'short', file), 'SELECT 1;\n');
    try {
      const error = expectConfigError(
        () => readContents(discoverMigrations({ ...set, dir: deep })),
        `the path ${join(deep, file)} is`,
        'more than the file system takes',
      );
      expect(error.message).not.toContain('ENAMETOOLONG');
    } finally {
      // Removing the folder by its long path would fail the same way.
      unlinkSync(join(dir, 'short', file));
    }
  });

  it("checksums ignore a byte-order mark and CRLF line endings (SPEC §4.2), and keep the bytes' checksum of earlier versions", () => {
    const text = 'SELECT 1;\nSELECT 2;\n';
    const lf = createHash('sha256').update(text).digest('hex');
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]);
    const crlf = Buffer.from(text.replace(/\n/g, '\r\n'));
    writeTree(dir, { '001_bom.sql': bom, '002_crlf.sql': crlf, '003_lf.sql': text });
    const [withBom, withCrlf, plain] = discoverMigrations(set);
    expect(withBom!.sql).toBe(text);
    expect(withBom!.sql.charCodeAt(0)).not.toBe(0xfeff);
    expect([withBom!.checksum, withCrlf!.checksum, plain!.checksum]).toEqual([lf, lf, lf]);
    const bytesHash = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');
    expect([withBom!.rawChecksum, withCrlf!.rawChecksum, plain!.rawChecksum]).toEqual([
      bytesHash(bom),
      bytesHash(crlf),
      bytesHash(text),
    ]);
    expect(withBom!.rawChecksum).not.toBe(lf);
    expect(sameChecksum(withCrlf!, withCrlf!.rawChecksum)).toBe(true);
    expect(sameChecksum(withCrlf!, lf)).toBe(true);
    expect(sameChecksum(withCrlf!, 'other')).toBe(false);
  });
});

describe('a suggested file name works as typed (never an existing version)', () => {
  const suggestion = (hint: string | undefined) =>
    /(?:e\.g\.|rename \S+ to) (\S+\.sql)/.exec(hint ?? '')?.[1];

  it('a file without a version: the next version after the last, in the width the set uses', () => {
    writeTree(dir, {
      '001_a.sql': 'SELECT 1;',
      '003_c.sql': 'SELECT 1;',
      '2 cleanup-old.sql': 'SELECT 1;',
    });
    const error = expectConfigError(
      () => discoverMigrations(set),
      'is not named <version>_<name>.sql',
    );
    const name = suggestion(error.hint);
    expect(name).toBe('004_cleanup_old.sql');
    renameSync(join(dir, '2 cleanup-old.sql'), join(dir, name!));
    expect(discoverMigrations(set).map((f) => f.file)).toEqual([
      '001_a.sql',
      '003_c.sql',
      '004_cleanup_old.sql',
    ]);
  });

  it('two files of one version: a new version for one of them, past every version of the folder', () => {
    writeTree(dir, { '003_a.sql': 'SELECT 1;', '3_b.sql': 'SELECT 1;', '004_d.sql': 'SELECT 1;' });
    const error = expectConfigError(() => discoverMigrations(set), 'have the same version 3');
    expect(error.hint).toContain('rename 3_b.sql to 005_b.sql');
    renameSync(join(dir, '3_b.sql'), join(dir, suggestion(error.hint)!));
    expect(discoverMigrations(set).map((f) => f.version)).toEqual(['3', '4', '5']);
  });
});
