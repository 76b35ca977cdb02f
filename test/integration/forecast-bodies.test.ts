import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/api.js';
import { query, tableExists, trackedVersions } from '../support/db.js';
import { appliedDataSet } from '../support/applied.js';
import { writeFile } from '../support/project.js';

/*
 * The forecast reads the functions, procedures, triggers and rules an
 * earlier deploy made (SPEC §5): a run that reaches one of them that
 * destroys rows is refused before anything of it is applied, the harmless
 * migration before it included. Every case starts from tables holding rows,
 * made by the first run, and counts them from the server afterwards.
 */

const BASE = {
  'data/001_schemas.sql':
    'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
  'data/002_tables.sql': [
    'CREATE TABLE workspace.items (id int PRIMARY KEY, label text);',
    'CREATE TABLE workspace.audit (id int PRIMARY KEY);',
    'CREATE TABLE workspace.flagged (id int PRIMARY KEY);',
    'CREATE TABLE workspace.notes (id int PRIMARY KEY, body text);',
    'CREATE TABLE workspace.log (note int, at timestamptz DEFAULT now());',
    '',
  ].join('\n'),
  'data/003_routines.sql': [
    'CREATE PROCEDURE workspace.purge() LANGUAGE sql AS $$ DELETE FROM workspace.items $$;',
    'CREATE PROCEDURE public.purge_all() LANGUAGE plpgsql AS $body$ BEGIN DELETE FROM workspace.items WHERE true; END $body$;',
    'CREATE PROCEDURE workspace."Purge Items"() LANGUAGE plpgsql AS $$ BEGIN TRUNCATE workspace.items; END $$;',
    'CREATE FUNCTION workspace.cut() RETURNS void LANGUAGE plpgsql AS $$ BEGIN TRUNCATE workspace.items; END $$;',
    "CREATE FUNCTION workspace.cut_dynamic() RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'TRUNCATE workspace.items'; END $$;",
    'CREATE FUNCTION workspace.tidy() RETURNS void LANGUAGE sql SET search_path = workspace AS $$ DELETE FROM items $$;',
    'SET search_path = workspace;',
    'CREATE FUNCTION public.tidy_here() RETURNS void LANGUAGE sql SET search_path FROM CURRENT AS $$ DELETE FROM items $$;',
    'RESET search_path;',
    'CREATE FUNCTION public.clear_items() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DELETE FROM items; END $$;',
    'CREATE FUNCTION public.tidy_ref() RETURNS void LANGUAGE plpgsql SET search_path = reference AS $$ BEGIN DELETE FROM items; END $$;',
    "CREATE FUNCTION public.path_to_workspace() RETURNS text LANGUAGE sql AS $$ SELECT set_config('search_path', 'workspace', true) $$;",
    'CREATE FUNCTION public.wipe() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN DELETE FROM workspace.items; RETURN NEW; END $$;',
    'CREATE TRIGGER wipe AFTER INSERT ON workspace.audit FOR EACH ROW EXECUTE FUNCTION public.wipe();',
    'CREATE RULE forget AS ON INSERT TO workspace.flagged DO ALSO DELETE FROM workspace.items;',
    'CREATE PROCEDURE workspace.add_item(id int) LANGUAGE sql AS $p$ INSERT INTO workspace.items VALUES (id, $$new$$) $p$;',
    'CREATE FUNCTION workspace.log_note() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO workspace.log (note) VALUES (NEW.id); RETURN NEW; END $$;',
    'CREATE TRIGGER log_note AFTER INSERT ON workspace.notes FOR EACH ROW EXECUTE FUNCTION workspace.log_note();',
    '',
  ].join('\n'),
};

async function setUp() {
  const applied = await appliedDataSet(
    BASE,
    // audit's trigger empties items: its row first.
    "INSERT INTO workspace.audit VALUES (1); INSERT INTO workspace.items VALUES (1, 'apple'), (2, 'banana'), (3, 'cherry')",
  );
  // An earlier migration of the same run: the refusal must leave it unapplied too.
  writeFile(applied.cwd, 'data/004_more.sql', 'CREATE TABLE workspace.more (id int);\n');
  return applied;
}

const count = async (url: string, table: string) =>
  (await query<{ n: number }>(url, `SELECT count(*)::int AS n FROM ${table}`))[0]!.n;

/** Refused by the forecast before anything of the run ran: exit 4, its refusals saying each of `said`, the rows kept, 004 not applied. */
async function expectRefusedBeforeRun(
  report: Awaited<ReturnType<typeof migrate>>,
  url: string,
  said: readonly string[],
) {
  expect(report.exitCode).toBe(4);
  const refused = report.sets[0]!.problems.filter((p) => p.kind === 'refused');
  for (const text of said) expect(refused.map((p) => p.message).join(' ')).toContain(text);
  expect(await count(url, 'workspace.items')).toBe(3);
  expect(await tableExists(url, 'workspace.more')).toBe(false);
}

describe('the forecast follows what an earlier deploy made', () => {
  it.each([
    ['a SQL procedure, qualified', 'CALL workspace.purge();', 'procedure workspace.purge'],
    ['a PL/pgSQL procedure, unqualified', 'CALL purge_all();', 'procedure public.purge_all'],
    [
      'a procedure with a quoted name',
      'CALL workspace."Purge Items"();',
      'procedure workspace."Purge Items"',
    ],
    ['a function that TRUNCATEs', 'SELECT workspace.cut();', 'function workspace.cut'],
    [
      'the same function in a DO block',
      'DO $$ BEGIN PERFORM workspace.cut(); END $$;',
      'function workspace.cut',
    ],
    [
      'a function whose own search_path resolves its unqualified DELETE',
      'SELECT workspace.tidy();',
      'function workspace.tidy',
    ],
    [
      'a function made with SET search_path FROM CURRENT, called under another path',
      'SELECT public.tidy_here();',
      'function public.tidy_here',
    ],
    [
      'the same made in the file, called after it reset its path',
      'SET search_path = workspace;\nCREATE FUNCTION public.wipe_here() RETURNS void LANGUAGE plpgsql SET search_path FROM CURRENT AS $f$ BEGIN DELETE FROM items; END $f$;\nRESET search_path;\nSELECT public.wipe_here();',
      'function public.wipe_here, created at line 2',
      { line: 4, statement: 'SELECT public.wipe_here()' },
    ],
    [
      'a function renamed by the run',
      'ALTER FUNCTION workspace.cut() RENAME TO cut_old;\nSELECT workspace.cut_old();',
      'function workspace.cut',
      { line: 2, statement: 'SELECT workspace.cut_old()' },
    ],
    [
      'a procedure the run moved to public, called unqualified',
      'ALTER PROCEDURE workspace.purge SET SCHEMA public;\nCALL purge();',
      'procedure workspace.purge',
      { line: 2, statement: 'CALL purge()' },
    ],
    [
      'a function whose search_path the run sets (ALTER FUNCTION ... SET search_path)',
      'ALTER FUNCTION public.clear_items() SET search_path = workspace;\nSELECT public.clear_items();',
      'function public.clear_items',
      { line: 2, statement: 'SELECT public.clear_items()' },
    ],
    [
      'a function whose search_path the run resets, called under one that reaches the table',
      'ALTER FUNCTION public.tidy_ref RESET search_path;\nSET search_path = workspace;\nSELECT public.tidy_ref();',
      'function public.tidy_ref',
      { line: 3, statement: 'SELECT public.tidy_ref()' },
    ],
    [
      'a function the file makes, then sets to the path in force (SET search_path FROM CURRENT)',
      'CREATE FUNCTION public.w7() RETURNS void LANGUAGE plpgsql AS $f$ BEGIN DELETE FROM items; END $f$;\nSET search_path = workspace;\nALTER FUNCTION public.w7() SET search_path FROM CURRENT;\nRESET search_path;\nSELECT public.w7();',
      'function public.w7, created at line 1',
      { line: 5, statement: 'SELECT public.w7()' },
    ],
    [
      'INSERT ... ON CONFLICT DO NOTHING into a table whose AFTER INSERT trigger empties another',
      'INSERT INTO workspace.audit VALUES (2) ON CONFLICT DO NOTHING;',
      'function public.wipe, fired by trigger wipe on workspace.audit',
    ],
    [
      'the same INSERT in a DO block',
      'DO $$ BEGIN INSERT INTO workspace.audit VALUES (2) ON CONFLICT DO NOTHING; END $$;',
      'function public.wipe, fired by trigger wipe on workspace.audit',
    ],
    [
      'an INSERT into a table whose rule deletes every row of another',
      'INSERT INTO workspace.flagged VALUES (1);',
      'rule forget on workspace.flagged',
    ],
    [
      'a DO block that EXECUTEs a constant DELETE',
      "DO $$ BEGIN EXECUTE 'DELETE FROM workspace.items'; END $$;",
      'the DO block at line 1',
    ],
    [
      // It runs outside any transaction, where the loss would be found only after it committed.
      'the same DO block, which COMMITs',
      'DO $$ BEGIN EXECUTE $q$DELETE FROM workspace.items$q$; COMMIT; END $$;',
      'the DO block at line 1',
    ],
    [
      "an earlier deploy's function that EXECUTEs a constant TRUNCATE",
      'SELECT workspace.cut_dynamic();',
      'function workspace.cut_dynamic',
    ],
    [
      'a CALL in a -- schemata:no-transaction file',
      '-- schemata:no-transaction\nCREATE TABLE IF NOT EXISTS workspace.first (id int);\nCALL workspace.purge();',
      'procedure workspace.purge',
      { line: 3, statement: 'CALL workspace.purge()' },
    ],
    [
      "a CALL in the file's own BEGIN ... COMMIT",
      'BEGIN;\nCALL purge_all();\nCOMMIT;',
      'procedure public.purge_all',
      { line: 2, statement: 'CALL purge_all()' },
    ],
  ])('refuses %s before anything of the run runs', async (_what, sql, via, where?) => {
    const { url, cwd, env } = await setUp();
    writeFile(cwd, 'data/005_change.sql', `${sql}\n`);
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(4);
    const refused = report.sets[0]!.problems.filter((p) => p.kind === 'refused');
    expect(refused).toHaveLength(1);
    const message = refused[0]!.message;
    expect(message).toContain(`database/data/005_change.sql:${where?.line ?? 1}:1`);
    expect(message).toContain(`(in ${via})`);
    expect(message).toContain('workspace.items holds 3 rows');
    expect(message).toContain(`Statement: ${where?.statement ?? sql.replace(/;$/, '')}`);
    expect(message).toContain('nothing of this run was applied');
    expect(await count(url, 'workspace.items')).toBe(3);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3']);
    expect(await tableExists(url, 'workspace.more')).toBe(false);
    expect(await tableExists(url, 'workspace.first')).toBe(false);
  });

  // A routine without a search_path of its own that sets one leaves it to its caller (until the transaction ends,
  // for SET LOCAL); one with its own gives the caller's back when it returns.
  it.each([
    [
      'a procedure that SET LOCALs the path',
      'CREATE PROCEDURE public.to_workspace() LANGUAGE plpgsql AS $p$ BEGIN SET LOCAL search_path = workspace; END $p$;\nCALL public.to_workspace();\nDELETE FROM items;',
      3,
    ],
    [
      'a function that sets it with set_config, called in a DO block',
      "CREATE FUNCTION public.to_workspace() RETURNS void LANGUAGE plpgsql AS $f$ BEGIN PERFORM set_config('search_path', 'workspace', true); END $f$;\nDO $$ BEGIN PERFORM public.to_workspace(); END $$;\nTRUNCATE items;",
      3,
    ],
    [
      'a SQL function made in the file that SETs it',
      "CREATE FUNCTION public.path_here() RETURNS text LANGUAGE sql AS $f$ SELECT set_config('search_path', 'workspace', false) $f$;\nSELECT public.path_here();\nDELETE FROM items;",
      3,
    ],
    [
      "an earlier deploy's SQL function that SET LOCALs it with set_config",
      'SELECT public.path_to_workspace();\nDELETE FROM items;',
      2,
    ],
  ])(
    "refuses %s, whose caller's next statement reaches the table, before anything runs",
    async (_what, sql, line) => {
      const { url, cwd, env } = await setUp();
      writeFile(cwd, 'data/005_change.sql', `${sql}\n`);
      const report = await migrate({ cwd, env, sets: ['data'] });
      expect(report.sets[0]!.problems.filter((p) => p.kind === 'refused')).toHaveLength(1);
      await expectRefusedBeforeRun(report, url, [
        `database/data/005_change.sql:${line}:1`,
        'workspace.items holds 3 rows',
      ]);
    },
  );

  // Outside schemata's transaction, a statement outside the file's own blocks commits alone, and a SET LOCAL (or a
  // local set_config) with it: PostgreSQL warns and reads the next statement's names as before.
  it.each([
    ['SET LOCAL', 'SET LOCAL search_path = workspace;'],
    ['set_config(..., true)', "SELECT set_config('search_path', 'workspace', true);"],
    [
      'set_config(..., true) in a DO block',
      "DO $$ BEGIN PERFORM set_config('search_path', 'workspace', true); END $$;",
    ],
    [
      'a procedure that SET LOCALs it',
      'CREATE PROCEDURE public.to_workspace() LANGUAGE plpgsql AS $p$ BEGIN SET LOCAL search_path = workspace; END $p$;\nCALL public.to_workspace();',
    ],
  ])(
    'runs without --force an unqualified DELETE after %s outside any transaction block',
    async (_what, set) => {
      for (const [file, head] of [
        [
          '005_outside.sql',
          '-- schemata:no-transaction\nCREATE TABLE IF NOT EXISTS public.items (id int);',
        ],
        // A COMMIT with no BEGIN before it: the file runs outside schemata's transaction as psql runs it.
        ['005_committed.sql', 'CREATE TABLE IF NOT EXISTS public.items (id int);\nCOMMIT;'],
      ] as const) {
        const { url, cwd, env } = await setUp();
        writeFile(cwd, `data/${file}`, `${head}\n${set}\nDELETE FROM items;\n`);
        const report = await migrate({ cwd, env, sets: ['data'] });
        expect(report.error, file).toBeUndefined();
        expect(await count(url, 'workspace.items')).toBe(3);
      }
    },
  );

  it("refuses an unqualified DELETE after a SET LOCAL inside the file's own block, outside schemata's transaction", async () => {
    const { url, cwd, env } = await setUp();
    writeFile(
      cwd,
      'data/005_change.sql',
      '-- schemata:no-transaction\nCREATE TABLE IF NOT EXISTS public.items (id int);\nBEGIN;\nSET LOCAL search_path = workspace;\nDELETE FROM items;\nCOMMIT;\n',
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    await expectRefusedBeforeRun(report, url, [
      '005_change.sql:5:1',
      'workspace.items holds 3 rows',
    ]);
  });

  it("refuses a write that fires a rule made after a procedure SET LOCAL the path: the rule's names bound through it", async () => {
    const { url, cwd, env } = await setUp();
    writeFile(
      cwd,
      'data/005_change.sql',
      [
        'CREATE PROCEDURE public.to_workspace() LANGUAGE plpgsql AS $p$ BEGIN SET LOCAL search_path = workspace; END $p$;',
        'CALL public.to_workspace();',
        'CREATE RULE forget_items AS ON INSERT TO workspace.log DO ALSO DELETE FROM items;',
        'INSERT INTO workspace.log (note) VALUES (1);',
        '',
      ].join('\n'),
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    await expectRefusedBeforeRun(report, url, [
      'rule forget_items on workspace.log',
      'workspace.items holds 3 rows',
    ]);
  });

  it('runs without --force an unqualified DELETE after a function with its own search_path that SET LOCALs another', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(
      cwd,
      'data/005_change.sql',
      [
        'CREATE TABLE reference.items (id int);',
        'CREATE FUNCTION public.own_path() RETURNS void LANGUAGE plpgsql SET search_path = reference AS $f$ BEGIN SET LOCAL search_path = workspace; END $f$;',
        'SET search_path = reference;',
        'SELECT public.own_path();',
        'DELETE FROM items;',
        '',
      ].join('\n'),
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(await count(url, 'workspace.items')).toBe(3);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3', '4', '5']);
  });

  it.each([
    ['a procedure that inserts rows', 'CALL workspace.add_item(4);', 'workspace.items', 4],
    [
      'an INSERT whose trigger writes an audit row',
      "INSERT INTO workspace.notes VALUES (1, 'hello');",
      'workspace.log',
      1,
    ],
  ])('runs %s without --force', async (_what, sql, table, rows) => {
    const { url, cwd, env } = await setUp();
    writeFile(cwd, 'data/005_change.sql', `${sql}\n`);
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(report.exitCode).toBe(0);
    expect(await count(url, table)).toBe(rows);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3', '4', '5']);
  });
});
