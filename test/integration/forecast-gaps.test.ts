import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/api.js';
import { query, tableExists, trackedVersions } from '../support/db.js';
import { appliedDataSet } from '../support/applied.js';
import { writeFile } from '../support/project.js';

/*
 * The forecast follows what the run itself does to triggers, what foreign
 * keys do to the rows that reference a write, and which overload a call
 * reaches (SPEC §5): a run that would lose rows this way is refused before
 * anything of it is applied, the harmless migration before it included;
 * one that would not runs without --force. Every case starts from tables
 * holding rows and asks the server afterwards.
 */

const BASE = {
  'data/001_schemas.sql':
    'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
  'data/002_tables.sql': [
    'CREATE TABLE workspace.items (id int PRIMARY KEY, label text);',
    'CREATE TABLE workspace.a (id int);',
    'CREATE TABLE workspace.b (id int);',
    'CREATE TABLE workspace.audit (id int);',
    'CREATE TABLE workspace.pets (id int PRIMARY KEY, name text);',
    'CREATE VIEW workspace.item_ids AS SELECT id FROM workspace.items;',
    'CREATE MATERIALIZED VIEW workspace.id_counts AS SELECT count(*) AS n FROM workspace.item_ids;',
    'CREATE TABLE workspace.big (id int);',
    'CREATE TABLE workspace.base (id int);',
    'CREATE TABLE workspace.kid (extra int) INHERITS (workspace.base);',
    'CREATE TABLE workspace.events (id int, at date NOT NULL) PARTITION BY RANGE (at);',
    "CREATE TABLE workspace.events_2025 PARTITION OF workspace.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');",
    'CREATE FUNCTION workspace.wipe_items() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN DELETE FROM workspace.items; RETURN NULL; END $$;',
    'CREATE FUNCTION workspace.note() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO workspace.b VALUES (0); RETURN NULL; END $$;',
    'CREATE TRIGGER wipe AFTER INSERT ON workspace.audit FOR EACH ROW EXECUTE FUNCTION workspace.wipe_items();',
    'CREATE TRIGGER wipe_off AFTER INSERT ON workspace.b FOR EACH ROW EXECUTE FUNCTION workspace.wipe_items();',
    'ALTER TABLE workspace.b DISABLE TRIGGER wipe_off;',
    'CREATE TRIGGER note AFTER INSERT ON workspace.a FOR EACH ROW EXECUTE FUNCTION workspace.note();',
    'CREATE TABLE workspace.log (id int);',
    'CREATE RULE purge AS ON INSERT TO workspace.log DO ALSO DELETE FROM workspace.items;',
    'CREATE TABLE workspace.journal (id int);',
    // Empty tables, and materialized views built on them through views: what CASCADE takes along holds a row.
    'CREATE TABLE workspace.tally (id int);',
    'CREATE VIEW workspace.tally_ids AS SELECT id FROM workspace.tally;',
    'CREATE MATERIALIZED VIEW workspace.tally_count AS SELECT count(*) AS n FROM workspace.tally_ids;',
    'CREATE TABLE workspace.stock (id int);',
    'CREATE TABLE workspace.stock_kid () INHERITS (workspace.stock);',
    'CREATE VIEW workspace.stock_kid_ids AS SELECT id FROM ONLY workspace.stock_kid;',
    'CREATE MATERIALIZED VIEW workspace.stock_kid_count AS SELECT count(*) AS n FROM workspace.stock_kid_ids;',
    'CREATE SCHEMA side;',
    'CREATE TABLE side.empty (id int);',
    'CREATE VIEW side.empty_ids AS SELECT id FROM side.empty;',
    'CREATE MATERIALIZED VIEW workspace.side_count AS SELECT count(*) AS n FROM side.empty_ids;',
    'CREATE RULE purge_off AS ON INSERT TO workspace.journal DO ALSO DELETE FROM workspace.items;',
    'ALTER TABLE workspace.journal DISABLE RULE purge_off;',
    // Overloads: p(int) empties items, p(text) does not; q the reverse.
    'CREATE PROCEDURE workspace.p(n int) LANGUAGE sql AS $$ DELETE FROM workspace.items $$;',
    'CREATE PROCEDURE workspace.p(t text) LANGUAGE sql AS $$ SELECT 1 $$;',
    'CREATE PROCEDURE workspace.q(n int) LANGUAGE sql AS $$ SELECT 1 $$;',
    'CREATE PROCEDURE workspace.q(t text) LANGUAGE sql AS $$ DELETE FROM workspace.items $$;',
    // Its table through the caller's search_path.
    'CREATE FUNCTION workspace.wipe_pets_here() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DELETE FROM pets; END $$;',
    '',
  ].join('\n'),
};

async function setUp() {
  const applied = await appliedDataSet(
    BASE,
    `INSERT INTO workspace.items VALUES (1, 'apple'), (2, 'banana'), (3, 'cherry');
     INSERT INTO workspace.pets VALUES (1, 'rex'), (2, 'tom');
     INSERT INTO workspace.events VALUES (1, '2025-03-01'), (2, '2025-04-01');
     INSERT INTO workspace.big SELECT generate_series(1, 12000);
     INSERT INTO workspace.base VALUES (1); INSERT INTO workspace.kid VALUES (2, 0), (3, 0);`,
  );
  // An earlier migration of the same run: a refusal must leave it unapplied too.
  writeFile(applied.cwd, 'data/003_more.sql', 'CREATE TABLE workspace.more (id int);\n');
  return applied;
}

const count = async (url: string, table: string) =>
  (await query<{ n: number }>(url, `SELECT count(*)::int AS n FROM ${table}`))[0]!.n;

/** A run made owners with a row, and a foreign key from pets to it with this action; every pet references the owner. */
const owners = (action: string) =>
  [
    'CREATE TABLE workspace.owners (id int PRIMARY KEY);',
    'INSERT INTO workspace.owners VALUES (1);',
    `ALTER TABLE workspace.pets ADD COLUMN owner int DEFAULT 1 REFERENCES workspace.owners ${action};`,
    '',
  ].join('\n');

describe('the forecast follows triggers, foreign keys and overloads', () => {
  it.each([
    [
      'an INSERT fires a trigger an earlier migration of the run made',
      'CREATE TRIGGER trg AFTER INSERT ON workspace.b FOR EACH ROW EXECUTE FUNCTION workspace.wipe_items();\n',
      'INSERT INTO workspace.b VALUES (1);\n',
      'function workspace.wipe_items, fired by trigger trg on workspace.b',
      'workspace.items',
    ],
    [
      'the same file, unqualified through its search_path, EXECUTE PROCEDURE',
      undefined,
      'SET search_path = workspace;\nCREATE TRIGGER trg AFTER INSERT ON b FOR EACH ROW EXECUTE PROCEDURE wipe_items();\nINSERT INTO b VALUES (1);\n',
      'function workspace.wipe_items, fired by trigger trg on workspace.b',
      'workspace.items',
    ],
    [
      'a row trigger the run made on a partitioned table, fired by a write into its partition',
      'CREATE TRIGGER trg AFTER INSERT ON workspace.events FOR EACH ROW EXECUTE FUNCTION workspace.wipe_items();\n',
      "INSERT INTO workspace.events_2025 VALUES (2, '2025-05-01');\n",
      'function workspace.wipe_items, fired by trigger trg on workspace.events_2025',
      'workspace.items',
    ],
    [
      'a statement-level trigger, fired by an UPDATE with a WHERE',
      'CREATE TRIGGER trg AFTER UPDATE ON workspace.b FOR EACH STATEMENT EXECUTE FUNCTION workspace.wipe_items();\n',
      'UPDATE workspace.b SET id = 2 WHERE id = 1;\n',
      'function workspace.wipe_items, fired by trigger trg on workspace.b',
      'workspace.items',
    ],
    [
      'a DO block that inserts',
      'CREATE TRIGGER trg AFTER INSERT ON workspace.b FOR EACH ROW EXECUTE FUNCTION workspace.wipe_items();\n',
      'DO $$ BEGIN INSERT INTO workspace.b VALUES (1); END $$;\n',
      'function workspace.wipe_items, fired by trigger trg on workspace.b',
      'workspace.items',
    ],
    [
      'a disabled trigger the run enables',
      'ALTER TABLE workspace.b ENABLE TRIGGER wipe_off;\n',
      'INSERT INTO workspace.b VALUES (1);\n',
      'function workspace.wipe_items, fired by trigger wipe_off on workspace.b',
      'workspace.items',
    ],
    [
      'a disabled rule of the catalog the run enables',
      'ALTER TABLE workspace.journal ENABLE RULE purge_off;\n',
      'INSERT INTO workspace.journal VALUES (1);\n',
      'rule purge_off on workspace.journal',
      'workspace.items',
    ],
    [
      'a trigger function the run replaces (CREATE OR REPLACE FUNCTION)',
      'CREATE OR REPLACE FUNCTION workspace.note() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN TRUNCATE workspace.items; RETURN NULL; END $$;\n',
      'INSERT INTO workspace.a VALUES (1);\n',
      'fired by trigger note on workspace.a',
      'workspace.items',
    ],
    [
      "an INSERT into a partitioned table fires its partition's own row trigger",
      'CREATE TRIGGER trg AFTER INSERT ON workspace.events_2025 FOR EACH ROW EXECUTE FUNCTION workspace.wipe_items();\n',
      "INSERT INTO workspace.events VALUES (3, '2025-06-01');\n",
      'function workspace.wipe_items, fired by trigger trg on workspace.events_2025',
      'workspace.items',
    ],
    [
      "an INSERT into a partition the run attached fires its partitioned table's row trigger",
      "CREATE TRIGGER trg AFTER INSERT ON workspace.events FOR EACH ROW EXECUTE FUNCTION workspace.wipe_items();\nCREATE TABLE workspace.events_2026 (id int, at date NOT NULL);\nALTER TABLE workspace.events ATTACH PARTITION workspace.events_2026 FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');\n",
      "INSERT INTO workspace.events_2026 VALUES (3, '2026-06-01');\n",
      'function workspace.wipe_items, fired by trigger trg on workspace.events_2026',
      'workspace.items',
    ],
    [
      "a DELETE with a WHERE of an inheritance parent fires its child's row trigger",
      'CREATE TRIGGER trg AFTER DELETE ON workspace.kid FOR EACH ROW EXECUTE FUNCTION workspace.wipe_items();\n',
      'DELETE FROM workspace.base WHERE id = 2;\n',
      'function workspace.wipe_items, fired by trigger trg on workspace.kid',
      'workspace.items',
    ],
    [
      'the same with an UPDATE, unqualified in a DO block',
      'CREATE TRIGGER trg AFTER UPDATE ON workspace.kid FOR EACH ROW EXECUTE FUNCTION workspace.wipe_items();\n',
      'DO $$ BEGIN SET LOCAL search_path = workspace; UPDATE base SET id = id WHERE id = 2; END $$;\n',
      'function workspace.wipe_items, fired by trigger trg on workspace.kid',
      'workspace.items',
    ],
    [
      'INSERT ... ON CONFLICT DO UPDATE fires the UPDATE triggers of the row it updates',
      'CREATE TRIGGER trg AFTER UPDATE ON workspace.pets FOR EACH ROW EXECUTE FUNCTION workspace.wipe_items();\n',
      "INSERT INTO workspace.pets VALUES (1, 'rex') ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name;\n",
      'function workspace.wipe_items, fired by trigger trg on workspace.pets',
      'workspace.items',
    ],
    [
      'a DELETE through a view of the catalog, which PostgreSQL writes through to its table',
      undefined,
      'DELETE FROM workspace.item_ids;\n',
      'DELETE FROM workspace.items without a WHERE that limits it (in a write through view workspace.item_ids)',
      'workspace.items',
    ],
    [
      'an UPDATE through a view the run made, unqualified in a DO block',
      'CREATE VIEW workspace.all_pets AS SELECT * FROM workspace.pets;\n',
      'DO $$ BEGIN SET LOCAL search_path = workspace; UPDATE all_pets SET name = NULL; END $$;\n',
      'UPDATE workspace.pets without a WHERE that limits it (in the DO block at line 1, a write through view workspace.all_pets)',
      'workspace.pets',
    ],
    [
      'an INSERT fires a rule an earlier migration of the run made',
      'CREATE RULE r AS ON INSERT TO workspace.b DO ALSO DELETE FROM workspace.items;\n',
      'INSERT INTO workspace.b VALUES (1);\n',
      'DELETE FROM workspace.items without a WHERE that limits it (in rule r on workspace.b)',
      'workspace.items',
    ],
    [
      'an UPDATE fires a rule made in the same DO block, unqualified through its search_path',
      undefined,
      'DO $$ BEGIN SET LOCAL search_path = workspace; CREATE RULE r AS ON UPDATE TO b DO INSTEAD DELETE FROM items; UPDATE b SET id = 2 WHERE id = 1; END $$;\n',
      'rule r on workspace.b',
      'workspace.items',
    ],
    [
      'a rule made under the file’s search_path, fired after the file reset it',
      undefined,
      'SET search_path = workspace;\nCREATE RULE r AS ON INSERT TO b DO ALSO DELETE FROM items;\nRESET search_path;\nINSERT INTO workspace.b VALUES (1);\n',
      'DELETE FROM workspace.items without a WHERE that limits it (in rule r on workspace.b)',
      'workspace.items',
    ],
    [
      'a rule the run replaces (CREATE OR REPLACE RULE)',
      'CREATE RULE r AS ON INSERT TO workspace.b DO ALSO NOTHING;\n',
      'CREATE OR REPLACE RULE r AS ON INSERT TO workspace.b DO ALSO DELETE FROM workspace.items;\nINSERT INTO workspace.b VALUES (1);\n',
      'rule r on workspace.b',
      'workspace.items',
    ],
    [
      'an INSERT fires a rule of the catalog',
      undefined,
      'INSERT INTO workspace.log VALUES (1);\n',
      'rule purge on workspace.log',
      'workspace.items',
    ],
    [
      'DELETE of a parent the run made: ON DELETE CASCADE empties the referencing table',
      owners('ON DELETE CASCADE'),
      'DELETE FROM workspace.owners;\n',
      'foreign key pets_owner_fkey on workspace.pets, ON DELETE CASCADE from workspace.owners',
      'workspace.pets',
    ],
    [
      'ON DELETE SET NULL rewrites every referencing row',
      owners('ON DELETE SET NULL'),
      'DELETE FROM workspace.owners WHERE true;\n',
      'foreign key pets_owner_fkey on workspace.pets, ON DELETE SET NULL from workspace.owners',
      'workspace.pets',
    ],
    [
      'TRUNCATE ... CASCADE of a parent the run made takes the referencing table along',
      owners(''),
      'TRUNCATE workspace.owners CASCADE;\n',
      'foreign key pets_owner_fkey on workspace.pets, TRUNCATE ... CASCADE from workspace.owners',
      'workspace.pets',
    ],
    [
      'CALL of the overload an integer reaches',
      undefined,
      'CALL workspace.p(1);\n',
      'procedure workspace.p',
      'workspace.items',
    ],
    [
      'CALL with a cast to the overload that deletes',
      undefined,
      'CALL workspace.q(1::text);\n',
      'procedure workspace.q',
      'workspace.items',
    ],
    [
      'a call the text cannot tell, in a DO block: every overload followed',
      undefined,
      'DO $$ DECLARE v int := 1; BEGIN CALL workspace.p(v); END $$;\n',
      'procedure workspace.p(integer), one of 2 overloads the call may reach (workspace.p(integer), workspace.p(text)), each followed',
      'workspace.items',
    ],
  ])('refuses %s before anything of the run runs', async (_what, first, second, via, table) => {
    const { url, cwd, env } = await setUp();
    if (first !== undefined) writeFile(cwd, 'data/004_first.sql', first);
    writeFile(cwd, 'data/005_second.sql', second);
    const before = await count(url, table);
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(4);
    const refused = report.sets[0]!.problems.filter((p) => p.kind === 'refused');
    expect(refused.length).toBeGreaterThan(0);
    const message = refused.map((p) => p.message).join('\n');
    expect(message).toContain('database/data/005_second.sql:');
    expect(message).toContain(via);
    expect(message).toContain(`${table} holds`);
    expect(message).toContain('nothing of this run was applied');
    expect(await count(url, table)).toBe(before);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2']);
    expect(await tableExists(url, 'workspace.more')).toBe(false);
    expect(await tableExists(url, 'workspace.owners')).toBe(false);
  });

  it.each([
    [
      'an INSERT into a table whose trigger the run disabled',
      'ALTER TABLE workspace.audit DISABLE TRIGGER wipe;\n',
      'INSERT INTO workspace.audit VALUES (2);\n',
    ],
    [
      'an INSERT into a table whose triggers the run disabled (USER)',
      'ALTER TABLE workspace.audit DISABLE TRIGGER USER;\n',
      'INSERT INTO workspace.audit VALUES (2);\n',
    ],
    [
      'an INSERT into a table whose trigger the run dropped',
      'DROP TRIGGER wipe ON workspace.audit;\n',
      'INSERT INTO workspace.audit VALUES (2);\n',
    ],
    [
      'a DELETE with a WHERE of a parent whose foreign key cascades',
      owners('ON DELETE CASCADE'),
      'DELETE FROM workspace.owners WHERE id = 2;\n',
    ],
    [
      'an INSERT into a table whose trigger the run renamed, then dropped by its new name',
      'ALTER TRIGGER wipe ON workspace.audit RENAME TO wipe_renamed;\n',
      'DROP TRIGGER wipe_renamed ON workspace.audit;\nINSERT INTO workspace.audit VALUES (2);\n',
    ],
    [
      'an INSERT into a table whose trigger the run renamed, then disabled by its new name',
      'ALTER TRIGGER wipe ON workspace.audit RENAME TO wipe_renamed;\n',
      'ALTER TABLE workspace.audit DISABLE TRIGGER wipe_renamed;\nINSERT INTO workspace.audit VALUES (2);\n',
    ],
    [
      'an INSERT into a table whose rule the run renamed, then dropped by its new name',
      'ALTER RULE purge ON workspace.log RENAME TO purge_renamed;\n',
      'DROP RULE purge_renamed ON workspace.log;\nINSERT INTO workspace.log VALUES (1);\n',
    ],
    [
      'INSERT ... ON CONFLICT DO NOTHING into a table with an UPDATE trigger',
      'CREATE TRIGGER trg AFTER UPDATE ON workspace.pets FOR EACH ROW EXECUTE FUNCTION workspace.wipe_items();\n',
      "INSERT INTO workspace.pets VALUES (1, 'rex') ON CONFLICT (id) DO NOTHING;\n",
    ],
    [
      'a DELETE through a view whose WHERE keeps the rows out',
      'CREATE VIEW workspace.new_pets AS SELECT * FROM workspace.pets WHERE id > 5;\n',
      'DELETE FROM workspace.new_pets;\n',
    ],
    [
      'a DELETE through a view whose INSTEAD OF trigger deletes nothing',
      'CREATE FUNCTION workspace.keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$;\nCREATE TRIGGER keep INSTEAD OF DELETE ON workspace.item_ids FOR EACH ROW EXECUTE FUNCTION workspace.keep();\n',
      'DELETE FROM workspace.item_ids;\n',
    ],
    [
      'DROP TABLE of a partitioned table whose partition the run detached first',
      'ALTER TABLE workspace.events DETACH PARTITION workspace.events_2025;\n',
      'DROP TABLE workspace.events;\n',
    ],
    [
      'DROP TABLE ... CASCADE of a partitioned table whose partition the run detached first',
      'ALTER TABLE workspace.events DETACH PARTITION workspace.events_2025;\n',
      'DROP TABLE workspace.events CASCADE;\n',
    ],
    [
      "a DELETE FROM ONLY an inheritance parent: its child's row trigger does not fire",
      'CREATE TRIGGER trg AFTER DELETE ON workspace.kid FOR EACH ROW EXECUTE FUNCTION workspace.wipe_items();\n',
      'DELETE FROM ONLY workspace.base WHERE id = 2;\n',
    ],
    [
      "an INSERT into an inheritance parent: the row stays there, its child's trigger does not fire",
      'CREATE TRIGGER trg AFTER INSERT ON workspace.kid FOR EACH ROW EXECUTE FUNCTION workspace.wipe_items();\n',
      'INSERT INTO workspace.base VALUES (9);\n',
    ],
    [
      "an INSERT into a partition the run detached: its former partitioned table's row trigger does not fire",
      'CREATE TRIGGER trg AFTER INSERT ON workspace.events FOR EACH ROW EXECUTE FUNCTION workspace.wipe_items();\nALTER TABLE workspace.events DETACH PARTITION workspace.events_2025;\n',
      "INSERT INTO workspace.events_2025 VALUES (3, '2025-06-01');\n",
    ],
    [
      'an INSERT into a table whose rule the run dropped',
      'DROP RULE purge ON workspace.log;\n',
      'INSERT INTO workspace.log VALUES (1);\n',
    ],
    [
      'an INSERT into a table whose rule the catalog holds disabled',
      undefined,
      'INSERT INTO workspace.journal VALUES (1);\n',
    ],
    [
      'an INSERT into a table whose rule the run disabled',
      'ALTER TABLE workspace.log DISABLE RULE purge;\n',
      'INSERT INTO workspace.log VALUES (1);\n',
    ],
    [
      'an INSERT after the same file made and dropped a rule',
      undefined,
      'CREATE RULE r AS ON INSERT TO workspace.b DO ALSO DELETE FROM workspace.items;\nDROP RULE IF EXISTS r ON workspace.b;\nINSERT INTO workspace.b VALUES (1);\n',
    ],
    ['CALL of the overload that does not delete', undefined, "CALL workspace.p('x');\n"],
    ['CALL of the reverse by an integer', undefined, 'CALL workspace.q(1);\n'],
  ])('runs %s without --force', async (_what, first, second) => {
    const { url, cwd, env } = await setUp();
    if (first !== undefined) writeFile(cwd, 'data/004_first.sql', first);
    writeFile(cwd, 'data/005_second.sql', second);
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(report.exitCode).toBe(0);
    expect(await count(url, 'workspace.items')).toBe(3);
    expect(await count(url, 'workspace.pets')).toBe(2);
    expect((await trackedVersions(url, 'data')).at(-1)).toBe('5');
  });

  it.each([
    [
      'a table of more than 10,000 rows, counted no further',
      'DROP TABLE workspace.big;\n',
      'workspace.big holds more than 10,000 rows',
      { table: 'workspace.big', rows: 10000, more: true },
    ],
    [
      'a partitioned table, the rows of its partitions',
      'DROP TABLE workspace.events;\n',
      'workspace.events holds 2 rows',
      { table: 'workspace.events', rows: 2, more: false },
    ],
    [
      'an inheritance parent, its rows and its children’s',
      'TRUNCATE workspace.base;\n',
      'workspace.base holds 3 rows',
      { table: 'workspace.base', rows: 3, more: false },
    ],
    [
      'a table renamed earlier in the run, as the statement names it and as it was',
      'ALTER TABLE workspace.pets RENAME TO old_pets;\nDROP TABLE workspace.old_pets;\n',
      'workspace.old_pets (workspace.pets when the run began) holds 2 rows',
      { table: 'workspace.pets', rows: 2, more: false },
    ],
    [
      'a function called by its schema’s new name (ALTER SCHEMA ... RENAME earlier in the file)',
      'ALTER SCHEMA workspace RENAME TO ws;\nSET search_path = ws;\nSELECT ws.wipe_pets_here();\n',
      'ws.pets (workspace.pets when the run began) holds 2 rows',
      { table: 'workspace.pets', rows: 2, more: false },
    ],
    [
      'a function the file makes, called unqualified after its schema was renamed',
      'CREATE FUNCTION workspace.empty_pets() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DELETE FROM pets; END $$;\n' +
        'ALTER SCHEMA workspace RENAME TO ws;\nSET search_path = ws;\nSELECT empty_pets();\n',
      'ws.pets (workspace.pets when the run began) holds 2 rows',
      { table: 'workspace.pets', rows: 2, more: false },
    ],
    [
      'a populated materialized view built on a view dropped with CASCADE',
      'DROP VIEW workspace.item_ids CASCADE;\n',
      'workspace.id_counts holds 1 row',
      { table: 'workspace.id_counts', rows: 1, more: false },
    ],
    [
      'a populated materialized view built through a view on an empty table dropped with CASCADE',
      'DROP TABLE workspace.tally CASCADE;\n',
      'workspace.tally_count holds 1 row',
      { table: 'workspace.tally_count', rows: 1, more: false },
    ],
    [
      'a populated materialized view built through a view on the inheritance child of a table dropped with CASCADE',
      'DROP TABLE workspace.stock CASCADE;\n',
      'workspace.stock_kid_count holds 1 row',
      { table: 'workspace.stock_kid_count', rows: 1, more: false },
    ],
    [
      'a populated materialized view of another schema built on a view of a schema dropped with CASCADE',
      'DROP SCHEMA side CASCADE;\n',
      'workspace.side_count holds 1 row',
      { table: 'workspace.side_count', rows: 1, more: false },
    ],
    [
      'a populated materialized view built on a view dropped with CASCADE, unqualified in a DO block',
      'DO $$ BEGIN SET LOCAL search_path = workspace; DROP VIEW item_ids CASCADE; END $$;\n',
      'workspace.id_counts holds 1 row',
      { table: 'workspace.id_counts', rows: 1, more: false },
    ],
  ])('a refusal names %s', async (_what, sql, words, holder) => {
    const { url, cwd, env } = await setUp();
    writeFile(cwd, 'data/005_second.sql', sql);
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(4);
    const [refused] = report.sets[0]!.problems.filter((p) => p.kind === 'refused');
    expect(refused!.message).toContain(`would destroy data: ${words}.`);
    expect(refused!.message).toContain('nothing of this run was applied');
    expect(refused!.holders).toEqual([holder]);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2']);
    expect(await count(url, holder.table)).toBe(
      holder.table === 'workspace.big' ? 12000 : holder.rows,
    );
  });

  it.each([
    ['TRUNCATE ONLY', 'TRUNCATE ONLY workspace.base;\n', 'TRUNCATE ONLY workspace.base'],
    [
      'DELETE FROM ONLY',
      'DELETE FROM ONLY workspace.base;\n',
      'DELETE FROM ONLY workspace.base without a WHERE that limits it',
    ],
    [
      'UPDATE ONLY, unqualified in a DO block',
      'DO $$ BEGIN SET LOCAL search_path = workspace; UPDATE ONLY base SET id = 0; END $$;\n',
      'UPDATE ONLY workspace.base without a WHERE that limits it',
    ],
  ])(
    '%s of an inheritance parent is judged on its own rows, not its children’s',
    async (_what, sql, step) => {
      const { url, cwd, env } = await setUp();
      writeFile(cwd, 'data/005_second.sql', sql);
      const report = await migrate({ cwd, env, sets: ['data'] });
      expect(report.exitCode).toBe(4);
      const [refused] = report.sets[0]!.problems.filter((p) => p.kind === 'refused');
      expect(refused!.message).toContain(step);
      expect(refused!.message).toContain('would destroy data: workspace.base holds 1 row.');
      expect(refused!.holders).toEqual([{ table: 'workspace.base', rows: 1, more: false }]);
      expect(await count(url, 'ONLY workspace.base')).toBe(1);
      expect(await count(url, 'workspace.kid')).toBe(2);
    },
  );

  it('a table the run made an inheritance child is judged with the parent it joined', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(
      cwd,
      'data/005_second.sql',
      'ALTER TABLE workspace.big INHERIT workspace.base;\nTRUNCATE workspace.base;\n',
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(4);
    const [refused] = report.sets[0]!.problems.filter((p) => p.kind === 'refused');
    expect(refused!.message).toContain(
      'TRUNCATE workspace.base would destroy data: workspace.base holds 1 row, workspace.big holds more than 10,000 rows, workspace.kid holds 2 rows.',
    );
    expect(await count(url, 'workspace.big')).toBe(12000);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2']);
  });

  it('TRUNCATE of a view is the server’s error, not a write through it', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(cwd, 'data/005_second.sql', 'TRUNCATE workspace.item_ids;\n');
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(1);
    expect(report.error?.message).toContain('"item_ids" is not a table');
    expect(await count(url, 'workspace.items')).toBe(3);
  });

  it('DELETE FROM ONLY a partitioned table takes no row: it holds none of its own', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(cwd, 'data/005_second.sql', 'DELETE FROM ONLY workspace.events;\n');
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(report.exitCode).toBe(0);
    expect(await count(url, 'workspace.events')).toBe(2);
    expect((await trackedVersions(url, 'data')).at(-1)).toBe('5');
  });

  it('a procedure the file makes and CALLs is named as a procedure', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(
      cwd,
      'data/005_second.sql',
      'CREATE PROCEDURE workspace.clear_pets() LANGUAGE sql AS $$ TRUNCATE workspace.pets $$;\nCALL workspace.clear_pets();\n',
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(4);
    expect(report.sets[0]!.problems[0]!.message).toContain(
      'TRUNCATE workspace.pets (in procedure workspace.clear_pets, created at line 1) would destroy data: workspace.pets holds 2 rows.',
    );
    expect(await count(url, 'workspace.pets')).toBe(2);
  });

  it.each([
    [
      'a prepared DELETE where it is executed, naming where it was prepared',
      'PREPARE d AS DELETE FROM workspace.items;\nEXECUTE d;\n',
      'database/data/005_second.sql:2:1: DELETE FROM workspace.items without a WHERE that limits it (in the statement prepared as d at line 1) would destroy data: workspace.items holds 3 rows. Statement: EXECUTE d.',
    ],
    [
      'a prepared DELETE executed by EXPLAIN ANALYZE',
      'PREPARE d AS DELETE FROM workspace.items;\nEXPLAIN ANALYZE EXECUTE d;\n',
      'Statement: EXPLAIN ANALYZE EXECUTE d.',
    ],
    [
      'the statement prepared last under a name, after DEALLOCATE ALL',
      'PREPARE d AS DELETE FROM workspace.audit;\nDEALLOCATE ALL;\nPREPARE d AS DELETE FROM workspace.pets;\nEXECUTE d;\n',
      'DELETE FROM workspace.pets without a WHERE that limits it (in the statement prepared as d at line 3) would destroy data: workspace.pets holds 2 rows.',
    ],
    [
      'a prepared DELETE with the search_path where it is executed (PostgreSQL parses it again there)',
      'CREATE TABLE public.pets (id int);\nPREPARE d AS DELETE FROM pets;\nSET search_path = workspace;\nEXECUTE d;\n',
      'DELETE FROM workspace.pets without a WHERE that limits it (in the statement prepared as d at line 2) would destroy data: workspace.pets holds 2 rows.',
    ],
  ])('refuses %s', async (_what, sql, words) => {
    const { url, cwd, env } = await setUp();
    writeFile(cwd, 'data/005_second.sql', sql);
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(4);
    const [refused] = report.sets[0]!.problems.filter((p) => p.kind === 'refused');
    expect(refused!.message).toContain(words);
    expect(refused!.message).toContain('nothing of this run was applied');
    expect(await count(url, 'workspace.items')).toBe(3);
    expect(await count(url, 'workspace.pets')).toBe(2);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2']);
  });

  it.each([
    ['a prepared DELETE never executed', 'PREPARE d AS DELETE FROM workspace.items;\n'],
    [
      'a prepared DELETE deallocated before it ran',
      'PREPARE d AS DELETE FROM workspace.items;\nDEALLOCATE d;\n',
    ],
    [
      'a prepared DELETE with a WHERE',
      'PREPARE d(int) AS DELETE FROM workspace.items WHERE id = $1;\nEXECUTE d(3);\n',
    ],
    [
      'a prepared DELETE executed where its name reaches an empty table',
      'SET search_path = workspace;\nPREPARE d AS DELETE FROM pets;\nRESET search_path;\nCREATE TABLE public.pets (id int);\nSET search_path = public;\nEXECUTE d;\n',
    ],
    ['EXPLAIN, which plans a DELETE and runs nothing', 'EXPLAIN DELETE FROM workspace.items;\n'],
    [
      'EXPLAIN (ANALYZE false)',
      'EXPLAIN (ANALYZE false, COSTS off) DELETE FROM workspace.items;\nEXPLAIN (ANALYZE 0) DELETE FROM workspace.items;\n',
    ],
  ])('runs %s without --force', async (_what, sql) => {
    const { url, cwd, env } = await setUp();
    writeFile(cwd, 'data/005_second.sql', sql);
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(report.exitCode).toBe(0);
    expect(await count(url, 'workspace.pets')).toBe(2);
    expect(await count(url, 'workspace.items')).toBe(sql.includes('WHERE id') ? 2 : 3);
    expect((await trackedVersions(url, 'data')).at(-1)).toBe('5');
  });
});
