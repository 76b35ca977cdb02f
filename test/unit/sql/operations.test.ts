import { describe, expect, it } from 'vitest';
import { describeRef, refKey, viewBase } from '../../../src/sql/operations.js';
import { loadParser } from '../../../src/sql/parse.js';
import { operationsOfSql } from '../operations-helpers.js';

const summary = (sql: string) =>
  operationsOfSql(sql).flatMap((op) =>
    op.kind === 'create' || op.kind === 'drop'
      ? [`${op.kind} ${describeRef(op.object)}`]
      : op.kind === 'rename' || op.kind === 'move'
        ? [`${op.kind} ${describeRef(op.from)} -> ${describeRef(op.to)}`]
        : [],
  );

/** Every operation, in a line each: what data protection reads. */
const described = (sql: string) =>
  operationsOfSql(sql).map((op) => {
    const via = op.via ? ` (${op.via})` : '';
    switch (op.kind) {
      case 'create':
        return `create ${describeRef(op.object)}${op.body ? ` [${op.body.map((b) => (b.kind === 'delete-rows' || b.kind === 'write-rows' ? `${b.kind} ${describeRef(b.table)}` : b.kind === 'search-path' ? `search-path ${b.path?.join(',') ?? 'reset'}` : b.kind)).join(', ')}]` : ''}${via}`;
      case 'drop':
        return `drop ${describeRef(op.object)}${op.cascade ? ' cascade' : ''}${via}`;
      case 'rename':
      case 'move':
        return `${op.kind} ${describeRef(op.from)} -> ${describeRef(op.to)}${via}`;
      case 'write-rows':
        return `${op.kind} ${describeRef(op.table)}${op.wholesale ? ' wholesale' : ''}${op.only ? ' only' : ''}${op.keepsExisting ? ' keeps existing' : ''}${via}`;
      case 'delete-rows':
        return `${op.kind} ${describeRef(op.table)}${op.wholesale ? ' wholesale' : ''}${op.only ? ' only' : ''}${via}`;
      case 'alter-type':
        return `alter-type ${describeRef(op.column)} ${op.type.name}(${op.type.modifiers.join(',')})`;
      case 'alter-column':
        return `alter-column ${describeRef(op.column)} ${op.change}`;
      case 'drop-owned':
        return `drop-owned ${op.roles.join(',')}`;
      case 'search-path':
        return `search-path ${op.path?.join(',') ?? 'reset'}`;
      case 'setting':
        return `setting ${op.name}`;
      case 'annotate':
        return `annotate ${describeRef(op.object)} ${op.what}`;
      case 'call':
        return `call ${describeRef(op.function).replace('(...)', '')}${via}`;
      case 'opaque':
        return `opaque${via}: ${op.why}`;
      case 'inherit':
        return `inherit ${describeRef(op.table)} ${op.attached ? 'under' : 'out of'} ${describeRef(op.parent)}${op.partition ? ' as a partition' : ''}`;
      case 'routine-path':
        return `routine-path ${describeRef(op.routine)} ${Array.isArray(op.path) ? op.path.join(',') : op.path}`;
      case 'rule': {
        const change = op.change;
        const what =
          'made' in change
            ? `made ${change.made.events.join(',')} [${change.made.actions.map((a) => (a.kind === 'delete-rows' || a.kind === 'write-rows' ? `${a.kind} ${describeRef(a.table)}${a.wholesale ? ' wholesale' : ''}` : a.kind)).join(', ')}]`
            : 'fires' in change
              ? change.fires
                ? 'fires'
                : 'off'
              : `renamed ${change.renamed}`;
        return `rule ${op.name} on ${describeRef(op.table)} ${what}`;
      }
    }
  });

describe('operationsOf', () => {
  it.each([
    [
      'CREATE TABLE with columns and a named constraint',
      'CREATE TABLE w.t (id int, CONSTRAINT t_ok CHECK (id > 0));',
      ['create table w.t', 'create column w.t.id', 'create constraint t_ok on w.t'],
    ],
    [
      'ALTER TABLE ADD/DROP COLUMN and ADD/DROP CONSTRAINT',
      'ALTER TABLE w.t ADD COLUMN c int, DROP COLUMN d, ADD CONSTRAINT k UNIQUE (c), DROP CONSTRAINT j;',
      [
        'create column w.t.c',
        'drop column w.t.d',
        'create constraint k on w.t',
        'drop constraint j on w.t',
      ],
    ],
    [
      'a function by its input types, OUT left out',
      'CREATE FUNCTION w.f(a int, OUT b text, VARIADIC c text[]) RETURNS text LANGUAGE sql AS $$ SELECT 1 $$;',
      ['create function w.f(int4, text[])'],
    ],
    ['DROP FUNCTION without arguments', 'DROP FUNCTION w.f;', ['drop function w.f(...)']],
    [
      'renames of every kind',
      'ALTER TYPE w.m RENAME TO n; ALTER INDEX w.i RENAME TO j; ALTER FUNCTION w.f(int) RENAME TO g; ALTER TABLE w.t RENAME CONSTRAINT a TO b; ALTER TABLE w.t RENAME COLUMN x TO y;',
      [
        'rename type w.m -> type w.n',
        'rename index w.i -> index w.j',
        'rename function w.f(int4) -> function w.g(int4)',
        'rename constraint a on w.t -> constraint b on w.t',
        'rename column w.t.x -> column w.t.y',
      ],
    ],
    [
      'a constraint made USING INDEX renames the index to the constraint',
      'ALTER TABLE w.t ADD CONSTRAINT t_pkey PRIMARY KEY USING INDEX t_id_idx, ADD CONSTRAINT t_k_key UNIQUE USING INDEX t_k_key;',
      [
        'create constraint t_pkey on w.t',
        'rename index w.t_id_idx -> index w.t_pkey',
        'create constraint t_k_key on w.t',
      ],
    ],
    [
      'SET SCHEMA',
      'ALTER TABLE w.t SET SCHEMA r; ALTER TYPE w.m SET SCHEMA r;',
      ['move table w.t -> table r.t', 'move type w.m -> type r.m'],
    ],
    [
      'triggers and policies',
      'CREATE TRIGGER tg BEFORE UPDATE ON w.t FOR EACH ROW EXECUTE FUNCTION w.f(); CREATE POLICY p ON w.t USING (true); DROP TRIGGER tg ON w.t; DROP POLICY p ON w.t;',
      [
        'create trigger tg on w.t',
        'create policy p on w.t',
        'drop trigger tg on w.t',
        'drop policy p on w.t',
      ],
    ],
    [
      'a SET search_path qualifies what follows',
      'SET search_path TO w, public; CREATE TABLE t (id int); RESET search_path; CREATE VIEW v AS SELECT 1;',
      ['create table w.t', 'create column w.t.id', 'create view v'],
    ],
    [
      '"$user" is no schema to qualify with',
      'SET search_path TO "$user", w; CREATE TABLE t (id int);',
      ['create table w.t', 'create column w.t.id'],
    ],
  ])('%s', (_name, sql, expected) => {
    expect(summary(sql)).toEqual(expected);
  });

  it('keys: `int` and `integer` are one signature; an index is keyed by its schema, not its table; unqualified names through the creation schema', () => {
    const [a, b] = operationsOfSql(
      'CREATE FUNCTION f(int) RETURNS int LANGUAGE sql AS $$ SELECT 1 $$; DROP FUNCTION public.f(integer);',
    );
    expect(
      a?.kind === 'create' &&
        b?.kind === 'drop' &&
        refKey(a.object, 'public') === refKey(b.object, 'public'),
    ).toBe(true);
    const [index, rename] = operationsOfSql(
      'CREATE INDEX i ON w.t (id); ALTER INDEX w.i RENAME TO j;',
    );
    expect(
      index?.kind === 'create' &&
        rename?.kind === 'rename' &&
        refKey(index.object) === refKey(rename.from),
    ).toBe(true);
  });

  it.each([
    [
      'DELETE and UPDATE, with and without a WHERE that limits them',
      'DELETE FROM w.a WHERE true; DELETE FROM w.a WHERE id = 1; UPDATE w.b SET x = 1 WHERE 1 = 1 OR id = 2; UPDATE w.b SET x = 1 WHERE id = 2;',
      [
        'delete-rows table w.a wholesale',
        'delete-rows table w.a',
        'write-rows table w.b wholesale',
        'write-rows table w.b',
      ],
    ],
    [
      'INSERT changes rows; ON CONFLICT DO NOTHING keeps those there (its triggers still fire)',
      'INSERT INTO w.a VALUES (1); INSERT INTO w.a VALUES (1) ON CONFLICT DO NOTHING; INSERT INTO w.a VALUES (1) ON CONFLICT (id) DO UPDATE SET x = 2;',
      ['write-rows table w.a', 'write-rows table w.a keeps existing', 'write-rows table w.a'],
    ],
    [
      'CALL, qualified, unqualified, quoted, and in a DO block',
      'CALL w.purge(); CALL purge(1); CALL "W"."Purge It"(); DO $$ BEGIN CALL w.purge(); END $$;',
      [
        'call procedure w.purge',
        'call procedure purge',
        'call procedure W.Purge It',
        'call procedure w.purge (the DO block at line 1)',
      ],
    ],
    [
      "a function's own SET search_path comes first in its body",
      'CREATE FUNCTION w.tidy() RETURNS void LANGUAGE sql SET search_path = w, public AS $$ DELETE FROM items $$;',
      ['create function w.tidy() [search-path w,public, delete-rows table w.items]'],
    ],
    [
      'a data-modifying WITH',
      'WITH gone AS (DELETE FROM w.old RETURNING *) INSERT INTO w.archive SELECT * FROM gone;',
      ['write-rows table w.archive', 'delete-rows table w.old wholesale'],
    ],
    [
      'MERGE',
      'MERGE INTO w.t USING w.s ON t.id = s.id WHEN MATCHED THEN DELETE WHEN NOT MATCHED THEN INSERT VALUES (s.id);',
      ['delete-rows table w.t wholesale', 'write-rows table w.t'],
    ],
    [
      'TRUNCATE',
      'TRUNCATE w.a, w.b CASCADE;',
      ['delete-rows table w.a wholesale', 'delete-rows table w.b wholesale'],
    ],
    [
      'ALTER FUNCTION ... SET search_path, FROM CURRENT, RESET; a rename without parentheses names any overload',
      'ALTER FUNCTION w.f(int) SET search_path = a, b; ALTER PROCEDURE w.p SET search_path FROM CURRENT; ALTER ROUTINE w.r() RESET ALL; ALTER FUNCTION w.f SECURITY DEFINER; ALTER FUNCTION w.g RENAME TO h;',
      [
        'routine-path function w.f(int4) a,b',
        'routine-path procedure w.p(...) current',
        'routine-path function w.r() caller',
        'rename function w.g(...) -> function w.h(...)',
      ],
    ],
    [
      'partitions and inheritance children: made, attached, detached',
      'CREATE TABLE w.p PARTITION OF w.ev FOR VALUES IN (1); CREATE TABLE w.k () INHERITS (w.a, b); ALTER TABLE w.ev ATTACH PARTITION w.q FOR VALUES IN (2); ALTER TABLE w.ev DETACH PARTITION w.p; ALTER TABLE w.k NO INHERIT w.a, INHERIT w.c;',
      [
        'create table w.p',
        'inherit table w.p under table w.ev as a partition',
        'create table w.k',
        'inherit table w.k under table w.a',
        'inherit table w.k under table b',
        'inherit table w.q under table w.ev as a partition',
        'inherit table w.p out of table w.ev as a partition',
        'inherit table w.k out of table w.a',
        'inherit table w.k under table w.c',
      ],
    ],
    [
      'rules: made with what their actions do, dropped, disabled, enabled and renamed',
      'CREATE OR REPLACE RULE r AS ON INSERT TO w.t WHERE NEW.id > 0 DO INSTEAD (DELETE FROM w.a; UPDATE w.b SET x = 1 WHERE y = 2); CREATE RULE n AS ON DELETE TO w.t DO ALSO NOTHING; DROP RULE IF EXISTS r ON w.t; ALTER TABLE w.t DISABLE RULE n, ENABLE RULE n; ALTER RULE n ON w.t RENAME TO m;',
      [
        'rule r on table w.t made INSERT [search-path, delete-rows table w.a wholesale, write-rows table w.b]',
        'rule n on table w.t made DELETE [search-path]',
        'rule r on table w.t off',
        'rule n on table w.t off',
        'rule n on table w.t fires',
        'rule n on table w.t renamed m',
      ],
    ],
    [
      'ONLY: the table without its inheritance children or partitions',
      'TRUNCATE ONLY w.a, w.b; DELETE FROM ONLY w.c; UPDATE ONLY w.d SET x = 1; DELETE FROM w.e;',
      [
        'delete-rows table w.a wholesale only',
        'delete-rows table w.b wholesale',
        'delete-rows table w.c wholesale only',
        'write-rows table w.d wholesale only',
        'delete-rows table w.e wholesale',
      ],
    ],
    [
      'DROP OWNED and type changes',
      'DROP OWNED BY app, CURRENT_USER; ALTER TABLE w.t ALTER COLUMN c TYPE varchar(1024), ALTER COLUMN d TYPE numeric(12,2);',
      [
        'drop-owned app,CURRENT_USER',
        'alter-type column w.t.c varchar(1024)',
        'alter-type column w.t.d numeric(12,2)',
      ],
    ],
    [
      "ALTER COLUMN ... NOT NULL and DEFAULT: a column's definition",
      'ALTER TABLE w.t ALTER COLUMN a DROP NOT NULL, ALTER COLUMN a SET DEFAULT 0, ALTER COLUMN b DROP DEFAULT, ALTER COLUMN c SET NOT NULL;',
      [
        'alter-column column w.t.a drop-not-null',
        'alter-column column w.t.a set-default',
        'alter-column column w.t.b drop-default',
        'alter-column column w.t.c set-not-null',
      ],
    ],
    [
      'set_config and SET LOCAL change the search_path',
      "SELECT set_config('search_path', '\"$user\", app', false); SET LOCAL search_path = w; RESET search_path;",
      ['search-path $user,app', 'search-path w', 'search-path reset'],
    ],
    [
      'SET ROLE, SET LOCAL and RESET ALL are settings of their own',
      "SET ROLE app_owner; SET LOCAL lock_timeout = '4s'; RESET ALL;",
      ['setting role', 'setting lock_timeout', 'setting all'],
    ],
    [
      "SET TRANSACTION and SESSION CHARACTERISTICS set a transaction's mode, no session setting: a part does not run them first",
      "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ; SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY; SET TRANSACTION SNAPSHOT '0001';",
      [],
    ],
    [
      'GRANT, REVOKE and COMMENT ON a table or a column, OWNER TO and ROW LEVEL SECURITY: what a table carries',
      "GRANT SELECT ON TABLE w.t, u TO r; REVOKE ALL ON w.t FROM PUBLIC; COMMENT ON TABLE w.t IS 'x'; COMMENT ON COLUMN t.c IS 'y'; ALTER TABLE w.t OWNER TO o, ENABLE ROW LEVEL SECURITY; GRANT USAGE ON SCHEMA w TO r; GRANT SELECT ON ALL TABLES IN SCHEMA w TO r;",
      [
        'annotate table w.t privileges',
        'annotate table u privileges',
        'annotate table w.t privileges',
        'annotate table w.t comment',
        'annotate column t.c comment',
        'annotate table w.t owner',
        'annotate table w.t row security',
      ],
    ],
    [
      'a DO block, read by the PL/pgSQL parser: its SQL counts where it stands, EXECUTE of an expression is opaque',
      "DO $$ DECLARE r record; BEGIN IF EXISTS (SELECT 1 FROM w.t) THEN TRUNCATE w.t; END IF; FOR r IN SELECT 1 LOOP DELETE FROM w.u; END LOOP; EXECUTE 'DROP TABLE ' || 'w.v'; END $$;",
      [
        'delete-rows table w.t wholesale (the DO block at line 1)',
        'delete-rows table w.u wholesale (the DO block at line 1)',
        'opaque: the DO block at line 1 runs dynamic SQL (EXECUTE): the server-side check judges what it destroys',
      ],
    ],
    [
      'EXECUTE of one string constant (quoted, E-quoted or dollar-quoted) runs SQL the text holds, its USING values read too',
      "DO $$ DECLARE r record; BEGIN EXECUTE 'DROP TABLE w.v'; EXECUTE E'DELETE FROM w.u WHERE id = $1' USING w.pick(); FOR r IN EXECUTE $q$SELECT 1 FROM w.t$q$ LOOP END LOOP; EXECUTE format('TRUNCATE %I', 'x'); END $$;",
      [
        'drop table w.v (the DO block at line 1)',
        'delete-rows table w.u (the DO block at line 1)',
        'call function w.pick (the DO block at line 1)',
        // The expression EXECUTE runs, read as a SELECT: what it calls counts.
        'call function format (the DO block at line 1)',
        'opaque: the DO block at line 1 runs dynamic SQL (EXECUTE): the server-side check judges what it destroys',
      ],
    ],
    [
      'a function the file creates: its body is kept, and runs where it is called',
      'CREATE FUNCTION w.purge() RETURNS void LANGUAGE sql AS $$ DELETE FROM w.items $$; SELECT w.purge();',
      ['create function w.purge() [delete-rows table w.items]', 'call function w.purge'],
    ],
    [
      'a PL/pgSQL function, and a call in PERFORM',
      'CREATE FUNCTION w.wipe() RETURNS void LANGUAGE plpgsql AS $$ BEGIN UPDATE w.items SET price = price * 100; END $$; DO $$ BEGIN PERFORM w.wipe(); END $$;',
      [
        'create function w.wipe() [write-rows table w.items]',
        'call function w.wipe (the DO block at line 1)',
      ],
    ],
    [
      'a BEGIN ATOMIC function body',
      'CREATE FUNCTION w.clear() RETURNS void LANGUAGE sql BEGIN ATOMIC DELETE FROM w.items; END;',
      ['create function w.clear() [delete-rows table w.items]'],
    ],
    [
      'a prepared statement where it is executed, each time, the one prepared last under its name',
      'PREPARE d AS DELETE FROM w.items; EXECUTE d; DEALLOCATE d; EXECUTE d; PREPARE d AS UPDATE w.pets SET n = 0; EXPLAIN ANALYZE EXECUTE d; DEALLOCATE ALL; EXECUTE d;',
      [
        'delete-rows table w.items wholesale (the statement prepared as d at line 1)',
        'write-rows table w.pets wholesale (the statement prepared as d at line 1)',
      ],
    ],
    [
      'a prepared statement with the search_path where it is executed',
      'PREPARE d AS DELETE FROM items; SET search_path = w; EXECUTE d;',
      [
        'search-path w',
        'delete-rows table w.items wholesale (the statement prepared as d at line 1)',
      ],
    ],
    [
      'a SET LOCAL ends at COMMIT, a ROLLBACK undoes a SET, a SET outlives its COMMIT',
      "BEGIN; SET LOCAL search_path = a; COMMIT; SET search_path = b; BEGIN; SET search_path = c; ROLLBACK; BEGIN; SELECT set_config('search_path', 'd', true); SET search_path = e; COMMIT;",
      [
        'search-path a',
        'search-path reset',
        'search-path b',
        'search-path c',
        'search-path b',
        'search-path d',
        'search-path e',
      ],
    ],
    [
      'EXPLAIN runs its statement only with ANALYZE',
      'EXPLAIN DELETE FROM w.a; EXPLAIN (ANALYZE false) DELETE FROM w.b; EXPLAIN (ANALYZE off, COSTS off) DELETE FROM w.c; EXPLAIN (ANALYZE 0) DELETE FROM w.d; ' +
        'EXPLAIN ANALYZE DELETE FROM w.e; EXPLAIN (ANALYZE, BUFFERS) DELETE FROM w.f; EXPLAIN (ANALYZE on) DELETE FROM w.g; EXPLAIN (ANALYZE 1) DELETE FROM w.h;',
      [
        'delete-rows table w.e wholesale',
        'delete-rows table w.f wholesale',
        'delete-rows table w.g wholesale',
        'delete-rows table w.h wholesale',
      ],
    ],
  ])('%s', (_name, sql, expected) => {
    expect(described(sql)).toEqual(expected);
  });

  it('foreign tables: CREATE FOREIGN TABLE and IMPORT FOREIGN SCHEMA ... LIMIT TO make tables marked foreign; an import of a whole schema names none', () => {
    const foreign = (sql: string) =>
      operationsOfSql(sql).flatMap((op) =>
        op.kind === 'create' ? [`${describeRef(op.object)}${op.foreign ? ' foreign' : ''}`] : [],
      );
    expect(
      foreign("CREATE FOREIGN TABLE IF NOT EXISTS w.r (id int) SERVER s OPTIONS (table_name 'u');"),
    ).toEqual(['table w.r foreign', 'column w.r.id']);
    expect(
      foreign('IMPORT FOREIGN SCHEMA public LIMIT TO (users, "Orders") FROM SERVER s INTO w;'),
    ).toEqual(['table w.users foreign', 'table w.Orders foreign']);
    expect(foreign('IMPORT FOREIGN SCHEMA public EXCEPT (a) FROM SERVER s INTO w;')).toEqual([]);
  });

  it('work in another session: dblink calls that run SQL and COPY ... PROGRAM are opaque, elsewhere', () => {
    const elsewhere = (sql: string) =>
      operationsOfSql(sql).flatMap((op) => (op.kind === 'opaque' && op.elsewhere ? [op.why] : []));
    expect(elsewhere("SELECT dblink_exec('c', 'DELETE FROM t');")).toEqual([
      'dblink_exec runs its SQL in another session, over a connection of its own',
    ]);
    expect(elsewhere("COPY t FROM PROGRAM 'cat f';")).toEqual([
      'COPY ... FROM PROGRAM runs a program on the server, in a process of its own',
    ]);
    expect(elsewhere("SELECT dblink_connect('c', 'dbname=x'); COPY t TO '/tmp/f';")).toEqual([]);
  });

  it('a create inside a DO block is conditional: never drift', () => {
    const [op] = operationsOfSql(
      "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'k') THEN ALTER TABLE w.t ADD CONSTRAINT k UNIQUE (id); END IF; END $$;",
    );
    expect(op).toMatchObject({
      kind: 'create',
      object: { kind: 'constraint', name: 'k' },
      ifNotExists: true,
    });
  });
});

describe('views PostgreSQL writes through', () => {
  it('a view of one table, with or without a WHERE; none of a join, a GROUP BY, a DISTINCT or a UNION', async () => {
    const bases = operationsOfSql(
      'CREATE VIEW w.a AS SELECT * FROM w.t; CREATE OR REPLACE VIEW w.b AS SELECT id FROM w.t WHERE id > 1; CREATE VIEW w.c AS SELECT * FROM w.t JOIN w.u USING (id); CREATE VIEW w.d AS SELECT id, count(*) FROM w.t GROUP BY id; CREATE VIEW w.e AS SELECT DISTINCT id FROM w.t; CREATE VIEW w.f AS SELECT id FROM w.t UNION SELECT id FROM w.u;',
    ).map((op) =>
      op.kind === 'create' && op.object.kind === 'view'
        ? `${op.object.name}: ${op.view ? `${describeRef(op.view.table)}${op.view.filtered ? ' filtered' : ''}` : 'none'}`
        : op.kind,
    );
    expect(bases).toEqual([
      'a: table w.t',
      'b: table w.t filtered',
      'c: none',
      'd: none',
      'e: none',
      'f: none',
    ]);
    const parser = await loadParser();
    expect(viewBase(parser, ' SELECT items.id\n   FROM workspace.items;')).toEqual({
      table: { kind: 'table', schema: 'workspace', name: 'items' },
      filtered: false,
    });
    expect(viewBase(parser, ' SELECT id FROM items WHERE id > 0;')).toEqual({
      table: { kind: 'table', schema: '', name: 'items', unqualified: true },
      filtered: true,
    });
  });
});

describe('a type change USING the column itself', () => {
  const computed = (sql: string) =>
    operationsOfSql(sql).flatMap((op) =>
      op.kind === 'alter-type' ? [op.type.computed === true] : [],
    );
  it.each([
    ['no USING', 'ALTER TABLE w.t ALTER COLUMN c TYPE bigint;'],
    ['the column', 'ALTER TABLE w.t ALTER COLUMN c TYPE bigint USING c;'],
    [
      'a cast to the new type',
      'ALTER TABLE w.t ALTER COLUMN c TYPE varchar(80) USING c::varchar(80);',
    ],
    [
      'CAST to the new type',
      'ALTER TABLE w.t ALTER COLUMN c TYPE numeric(12,2) USING CAST(c AS numeric(12,2));',
    ],
    [
      'through text, as Prisma changes an enum',
      'ALTER TABLE "w"."t" ALTER COLUMN "c" TYPE "w"."E_new" USING ("c"::text::"w"."E_new");',
    ],
    [
      'through unbounded varchar',
      'ALTER TABLE w.t ALTER COLUMN c TYPE text USING c::varchar::text;',
    ],
    ['a qualified column', 'ALTER TABLE w.t ALTER COLUMN c TYPE text USING t.c::text;'],
  ])('hands the values on: %s', (_what, sql) => {
    expect(computed(sql)).toEqual([false]);
  });

  it.each([
    [
      'through a shorter varchar',
      'ALTER TABLE w.t ALTER COLUMN c TYPE text USING c::varchar(1)::text;',
    ],
    [
      'CAST to a shorter varchar than the new type',
      'ALTER TABLE w.t ALTER COLUMN c TYPE varchar(80) USING CAST(c AS varchar(2));',
    ],
    [
      'through fewer numeric digits',
      'ALTER TABLE w.t ALTER COLUMN c TYPE numeric(14,2) USING c::numeric(4,0);',
    ],
    ['through boolean', 'ALTER TABLE w.t ALTER COLUMN c TYPE bigint USING c::boolean::int;'],
    ['through char(n)', 'ALTER TABLE w.t ALTER COLUMN c TYPE text USING c::char(3)::text;'],
    ['a function of it', 'ALTER TABLE w.t ALTER COLUMN c TYPE text USING lower(c);'],
    ['another column', 'ALTER TABLE w.t ALTER COLUMN c TYPE text USING d::text;'],
    ['NULL', 'ALTER TABLE w.t ALTER COLUMN c TYPE text USING NULL;'],
  ])('computes: %s', (_what, sql) => {
    expect(computed(sql)).toEqual([true]);
  });
});
