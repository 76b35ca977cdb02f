import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadParser } from '../../../src/sql/parse.js';
import { flyway, flywayChecksum, flywayVersion } from '../../../src/tools/flyway.js';

const file = (text: string) => Buffer.from(text, 'utf8');

describe("Flyway's checksum", () => {
  // Known answers: java.util.zip.CRC32 fed BufferedReader.readLine()'s lines, BOM stripped from the first,
  // as Flyway's ChecksumCalculator does (computed with OpenJDK 17 for these exact bytes).
  it.each([
    ['LF lines', 'CREATE SCHEMA workspace;\nCREATE SCHEMA reference;\n', 1224658250],
    [
      'a byte-order mark, CRLF lines, a blank line and a non-ASCII comment',
      '\uFEFFCREATE TABLE workspace.items (id int PRIMARY KEY, title text);\r\n-- é\r\n\r\n',
      -1728382825,
    ],
    [
      'a lone CR and no final line end',
      'CREATE TABLE workspace.notes (id int);\rCREATE INDEX notes_id ON workspace.notes (id);',
      -1613941789,
    ],
  ])('%s', (_, text, expected) => {
    expect(flywayChecksum(file(text))).toBe(expected);
  });
});

describe("Flyway's versions", () => {
  it.each([
    ['1', '1'],
    ['1.0', '1'],
    ['1_1', '1.1'],
    ['2.01.0', '2.1'],
    ['010', '10'],
  ])('%s is %s', (text, version) => {
    expect(flywayVersion(text)).toBe(version);
  });
});

describe("Flyway's history, judged as Flyway does", () => {
  const migrations = [
    { id: '1', source: 'V1__a.sql', file: '001_a.sql' },
    { id: '1.1', source: 'V1.1__b.sql', file: '002_b.sql' },
    { id: '2', source: 'V2__c.sql', file: '003_c.sql' },
  ];
  const text = (f: string) => file(`-- ${f}\n`);
  const row = (
    rank: number,
    version: string | null,
    type: string,
    success = true,
    script = `V${version}__x.sql`,
  ) => ({
    installed_rank: rank,
    version,
    type,
    script,
    checksum:
      type === 'SQL' && version
        ? flywayChecksum(text(migrations.find((m) => m.id === version)!.file))
        : null,
    success,
  });

  it('a BASELINE row counts every version up to it; later SQL rows their own', () => {
    const verdict = flyway.judge(
      [
        row(1, null, 'SCHEMA', true, '"app"'),
        row(2, '1.1', 'BASELINE', true, '<< Flyway Baseline >>'),
        row(3, '2', 'SQL'),
      ],
      migrations,
      text,
    );
    expect(verdict.problems).toEqual([]);
    expect([...verdict.applied.keys()].sort()).toEqual(['1', '1.1', '2']);
  });

  it('a failed row is a problem until a later run of it succeeds; a DELETE row takes a version back', () => {
    const failed = flyway.judge(
      [row(1, '1', 'SQL'), row(2, '1.1', 'SQL', false)],
      migrations,
      text,
    );
    expect(failed.problems).toEqual(['V1.1__x.sql failed (installed_rank 2)']);
    const retried = flyway.judge(
      [row(1, '1', 'SQL'), row(2, '1.1', 'SQL', false), row(3, '1.1', 'SQL')],
      migrations,
      text,
    );
    expect(retried.problems).toEqual([]);
    const deleted = flyway.judge([row(1, '1', 'SQL'), row(2, '1', 'DELETE')], migrations, text);
    expect([...deleted.applied.keys()]).toEqual([]);
  });

  it("a checksum that is not the file's names the file", () => {
    const verdict = flyway.judge([{ ...row(1, '1', 'SQL'), checksum: 42 }], migrations, text);
    expect(verdict.problems[0]).toMatch(
      /^001_a\.sql: its checksum -?\d+ is not the 42 Flyway recorded \(installed_rank 1\)/,
    );
  });
});

describe("Flyway's folder", () => {
  it('names a script with placeholders, which Flyway rewrites as it runs it, and a callback', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flyway-'));
    writeFileSync(join(dir, 'V1__schemas.sql'), 'CREATE SCHEMA ${schema};\n');
    writeFileSync(join(dir, 'V2__items.sql'), 'CREATE TABLE items (id int);\n');
    writeFileSync(join(dir, 'afterMigrate.sql'), 'ANALYZE;\n');
    const read = flyway.readSource(dir, await loadParser());
    expect(read.migrations.map((m) => m.file)).toEqual(['2_items.sql']);
    expect(read.unconvertible.map((u) => u.source).sort()).toEqual([
      'V1__schemas.sql',
      'afterMigrate.sql',
    ]);
    expect(read.unconvertible.find((u) => u.source === 'V1__schemas.sql')?.why).toContain(
      'Flyway placeholders',
    );
  });
});
