import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { json, runCli } from '../support/cli.js';
import { freshDatabase, tableExists } from '../support/db.js';
import { makeProject, SMALL_SETS } from '../support/project.js';

describe('schemata create (CLI)', () => {
  it('writes a timestamped file from the template in the set directory and prints its path', async () => {
    const cwd = makeProject();
    const result = await runCli(['create', 'data', 'add_items_index'], { cwd });
    expect(result.code).toBe(0);
    const path = result.stdout.trim();
    expect(path).toMatch(/^database\/data\/\d{14}_add_items_index\.sql$/);
    const content = readFileSync(join(cwd, path), 'utf8');
    expect(content).toContain('-- Purpose:');
    expect(content).toContain('-- Rollback:');
    expect(content).toContain('schemata migrate data --repair');

    const again = await runCli(['create', 'primary', 'seed', '--json'], { cwd });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout) as unknown).toMatchObject({
      command: 'create',
      ok: true,
      file: expect.stringMatching(/primary\/\d{14}_seed\.sql$/) as unknown,
    });
  });

  it('keeps the words of a CamelCase name and takes letters of any script', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(SMALL_SETS);
    const env = { PRIMARY_DATABASE_URL: url };
    const camel = await runCli(['create', 'data', 'AddItems'], { cwd });
    expect(camel.code, camel.stderr).toBe(0);
    expect(camel.stdout.trim()).toMatch(/^database\/data\/\d{14}_add_items\.sql$/);
    const spanish = await runCli(['create', 'data', 'añadir_índice'], { cwd });
    expect(spanish.code, spanish.stderr).toBe(0);
    const path = spanish.stdout.trim();
    expect(path).toMatch(/^database\/data\/\d{14}_añadir_índice\.sql$/);
    writeFileSync(join(cwd, path), 'CREATE TABLE workspace.índice (id int);\n', { flag: 'a' });
    const migrated = await runCli(['migrate'], { cwd, env });
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(await tableExists(url, 'workspace.índice')).toBe(true);
  });

  it('creates run at once each get a version of their own, and every command then works', async () => {
    const cwd = makeProject();
    const names = ['add_thing', 'add_thing', 'add_other', 'add_more'];
    const results = await Promise.all(
      names.map((name) => runCli(['create', 'data', name], { cwd })),
    );
    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0]);
    const versions = results.map((r) => r.stdout.trim().split('/').pop()?.slice(0, 14));
    expect(new Set(versions).size).toBe(4);
    expect((await runCli(['lint', 'data'], { cwd })).code).toBe(0);
  });

  it('create then migrate: the template stays pending until it holds a statement, then applies with no checksum error', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(SMALL_SETS);
    const env = { PRIMARY_DATABASE_URL: url };
    expect((await runCli(['migrate'], { cwd, env })).code).toBe(0);
    const path = (await runCli(['create', 'data', 'add_notes'], { cwd })).stdout.trim();
    const first = await runCli(['migrate', '--json'], { cwd, env });
    expect(first.code).toBe(0);
    const data = json(first).sets.find((s) => s.name === 'data');
    if (!data) throw new Error('the report has no set "data"');
    expect(data.applied).toEqual([]);
    expect(data.pending.map((p) => p.file)).toEqual([path.split('/').pop()]);
    expect(data.warnings.join('\n')).toContain(
      'holds no statement yet: it is not applied and stays pending',
    );
    writeFileSync(
      join(cwd, path),
      `${readFileSync(join(cwd, path), 'utf8')}CREATE TABLE IF NOT EXISTS workspace.notes (id int);\n`,
    );
    const filled = await runCli(['migrate', '--json'], { cwd, env });
    expect(filled.code).toBe(0);
    expect(json(filled).sets.find((s) => s.name === 'data')?.applied).toHaveLength(1);
    expect(await tableExists(url, 'workspace.notes')).toBe(true);
  });

  it('refuses an unknown set with exit 2', async () => {
    const result = await runCli(['create', 'analytics', 'x'], { cwd: makeProject() });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('There is no set named "analytics"');
  });
});
