import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { json, runCli } from '../support/cli.js';
import { makeProject } from '../support/project.js';

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
    expect(json(again)).toMatchObject({ command: 'create', ok: true, file: expect.stringMatching(/primary\/\d{14}_seed\.sql$/) });
  });

  it('refuses an unknown set with exit 2', async () => {
    const result = await runCli(['create', 'analytics', 'x'], { cwd: makeProject() });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('There is no set named "analytics"');
  });
});
