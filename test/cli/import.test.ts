import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { freshDatabase, query } from '../support/db.js';
import { makeProject } from '../support/project.js';

/** The schemata command a message prints, as arguments (after whatever runs schemata where the user is). */
function printedCommand(text: string, starts: string): string[] {
  const line = text.split('\n').find((l) => l.includes(`schemata ${starts}`));
  expect(line, `a printed "schemata ${starts}" command in:\n${text}`).toBeDefined();
  return line!
    .slice(line!.indexOf(`schemata ${starts}`) + 'schemata '.length)
    .trim()
    .split(/\s+/);
}

describe('schemata import and baseline --from, as typed', () => {
  it('imports a dbmate folder, prints the next command, which adopts what dbmate ran; status says where it came from', async () => {
    const url = await freshDatabase();
    const env = { PRIMARY_DATABASE_URL: url };
    const cwd = makeProject();
    mkdirSync(join(cwd, 'db/migrations'), { recursive: true });
    const schemas =
      '-- migrate:up\nCREATE SCHEMA workspace;\nCREATE SCHEMA reference;\n\n-- migrate:down\nDROP SCHEMA reference;\nDROP SCHEMA workspace;\n';
    writeFileSync(join(cwd, 'db/migrations/20240101000000_schemas.sql'), schemas);
    writeFileSync(
      join(cwd, 'db/migrations/20240102000000_items.sql'),
      '-- migrate:up\nCREATE TABLE workspace.items (id int);\n-- migrate:down\nDROP TABLE workspace.items;\n',
    );
    // What dbmate's binary did on this database: the first migration ran.
    await query(url, 'CREATE SCHEMA workspace; CREATE SCHEMA reference');
    await query(
      url,
      "CREATE TABLE public.schema_migrations (version varchar PRIMARY KEY); INSERT INTO public.schema_migrations VALUES ('20240101000000')",
    );

    // Before the import, baseline --from says what to type.
    const early = await runCli(['baseline', 'data', '--from', 'dbmate'], { cwd, env });
    expect(early.code).toBe(2);
    const importArgs = printedCommand(early.stderr, 'import');
    expect(importArgs).toEqual(['import', 'dbmate', '--set', 'data']);

    const imported = await runCli(importArgs, { cwd, env });
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toContain(
      'imported 2 dbmate migrations from db/migrations into set "data", with 2 down files:',
    );
    expect(imported.stdout).toContain('database/data/20240101000000_schemas.sql');
    expect(readFileSync(join(cwd, 'database/data/20240101000000_schemas.down.sql'), 'utf8')).toBe(
      '-- migrate:down\nDROP SCHEMA reference;\nDROP SCHEMA workspace;\n',
    );
    const manifest = JSON.parse(
      readFileSync(join(cwd, 'database/data/import.json'), 'utf8'),
    ) as unknown;
    expect(manifest).toEqual({
      tool: 'dbmate',
      from: 'db/migrations',
      migrations: [
        {
          id: '20240101000000',
          source: '20240101000000_schemas.sql',
          file: '20240101000000_schemas.sql',
        },
        {
          id: '20240102000000',
          source: '20240102000000_items.sql',
          file: '20240102000000_items.sql',
        },
      ],
    });

    const adopted = await runCli(printedCommand(imported.stdout, 'baseline'), { cwd, env });
    expect(adopted.code, adopted.stderr).toBe(0);
    const status = await runCli(['status', 'data'], { cwd, env });
    expect(status.stdout).toMatch(
      /20240101000000 +20240101000000_schemas\.sql .* baselined \(from dbmate\)/,
    );
    expect(status.stdout).toMatch(/20240102000000 +20240102000000_items\.sql .* pending/);
    const migrated = await runCli(['migrate', 'data'], { cwd, env });
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(await query(url, "SELECT to_regclass('workspace.items') IS NOT NULL AS made")).toEqual([
      { made: true },
    ]);
    expect(await query(url, 'SELECT version FROM public.schema_migrations')).toEqual([
      { version: '20240101000000' },
    ]);
  });
});
