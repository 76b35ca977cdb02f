import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { json, runCli } from '../support/cli.js';
import { freshDatabase, query, schemaExists } from '../support/db.js';
import { makeProject, SMALL_SETS } from '../support/project.js';

describe('schemata status (CLI)', () => {
  it('shows pending migrations and missing schemas before, and applied ones with data after, writing nothing', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(SMALL_SETS);
    const env = { PRIMARY_DATABASE_URL: url };
    const before = await runCli(['status'], { cwd, env });
    expect(before.code).toBe(0);
    expect(before.stdout).toContain('applied: 0   pending: 2');
    // A pending migration by its file, what a user greps for.
    expect(before.stdout).toMatch(/\n +2 +002_tables\.sql +pending\n/);
    expect(before.stdout).toContain('schema config: missing');
    expect(await schemaExists(url, 'schemata')).toBe(false);

    await runCli(['migrate'], { cwd, env });
    await query(url, "INSERT INTO config.settings VALUES ('k', 'v')");
    const after = await runCli(['status', '--json'], { cwd, env });
    expect(after.code).toBe(0);
    const report = json(after);
    expect(report.command).toBe('status');
    expect(report.sets[0]?.applied).toHaveLength(2);
    expect(report.sets[0]?.applied[0]).toMatchObject({
      version: '1',
      name: 'schemas',
      file: '001_schemas.sql',
      ms: expect.any(Number) as unknown,
    });
    expect(report.sets[0]?.schemas).toEqual([
      { name: 'config', exists: true, hasData: true },
      { name: 'customer', exists: true, hasData: false },
    ]);
    const human = await runCli(['status', 'primary'], { cwd, env });
    expect(human.stdout).toContain('schema config: present, holds data (data protection active)');
    // A table per set: version, file, applied at, duration, state.
    expect(human.stdout).toMatch(/version +file +applied at +duration +state/);
    expect(human.stdout).toMatch(
      /\n +1 +001_schemas\.sql +\d{4}-\d\d-\d\dT[\d:.]+Z +\d+ ms +applied/,
    );
    const validated = await runCli(['validate'], { cwd, env });
    expect(validated.stdout).toContain(
      'validate: passed: all 2 sets match what their migrations made.',
    );
    expect(human.stdout).not.toContain('workspace');
  });

  it('validate exits 3 and names the repair command when schemas went missing', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(SMALL_SETS);
    const env = { PRIMARY_DATABASE_URL: url };
    await runCli(['migrate'], { cwd, env });
    expect((await runCli(['validate'], { cwd, env })).code).toBe(0);
    await query(url, 'DROP SCHEMA workspace CASCADE');
    const result = await runCli(['validate'], { cwd, env });
    expect(result.code).toBe(3);
    // Listed once, under its set: not said again on stderr.
    expect(result.stdout).toContain(
      'tracking shows 2 migrations applied, but schema workspace is missing',
    );
    expect(result.stderr).toBe('');
    // No package.json here and schemata not on the PATH: npx is what works as typed.
    expect(result.stdout).toContain('→ npx schemata migrate data --repair');

    // With the project's package scripts, the one that runs it, as npm and pnpm take extra flags.
    writeFileSync(
      join(cwd, 'package.json'),
      JSON.stringify({
        scripts: {
          'db:migrate:data': 'schemata migrate data',
          'migrate:data': 'node node_modules/schemata/bin/schemata.js migrate data',
          'db:validate': 'schemata validate',
        },
      }),
    );
    const viaNpm = await runCli(['validate'], { cwd, env });
    expect(viaNpm.stdout).toContain('→ npm run migrate:data -- --repair');
    const viaPnpm = await runCli(['validate', '--json'], {
      cwd,
      env: { ...env, npm_config_user_agent: 'pnpm/10.4.1 npm/? node/v20.19.0 linux x64' },
    });
    expect(viaPnpm.stdout).toContain('"hint": "pnpm migrate:data --repair"');
  });

  it('status --check exits as validate does (3) when a set has a problem; without --check, 0', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(SMALL_SETS);
    const env = { PRIMARY_DATABASE_URL: url };
    expect((await runCli(['migrate'], { cwd, env })).code).toBe(0);
    expect((await runCli(['status', '--check'], { cwd, env })).code).toBe(0);
    await query(url, 'DROP SCHEMA reference');
    const plain = await runCli(['status'], { cwd, env });
    expect(plain.code).toBe(0);
    const checked = await runCli(['status', '--check'], { cwd, env });
    expect(checked.code).toBe(3);
    expect(checked.stdout).toContain('schema reference: missing');
    expect(checked.stdout).toContain('status --check: 1 problem (exit 3).');
    const machine = json(await runCli(['status', '--check', '--json'], { cwd, env }));
    expect(machine).toMatchObject({ ok: false, exitCode: 3 });
    expect((await runCli(['validate'], { cwd, env })).code).toBe(checked.code);
  });
});
