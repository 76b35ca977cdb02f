/*
 * A generated migration history in the idioms real projects use, written
 * for these tests (no other project's files): per module, a table whose
 * column is dropped with its index, a rename-and-recreate swap, an enum that
 * is renamed, a table moved with SET SCHEMA, objects and a constraint made
 * in guarded DO blocks, a function that makes a table with EXECUTE, a view
 * dropped and recreated in one file, an overload, a trigger and a policy,
 * an index on a qualified table dropped through an unqualified DROP TABLE,
 * a renamed index, a renamed function. Ten files a module.
 */
export function generatedHistory(modules: number, dir = 'data'): Record<string, string> {
  const files: Record<string, string> = {
    [`${dir}/0001_schemas.sql`]:
      'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
  };
  let version = 1;
  const add = (name: string, sql: string) => {
    version += 1;
    files[`${dir}/${String(version).padStart(4, '0')}_${name}.sql`] = sql;
  };
  for (let m = 0; m < modules; m++) {
    const t = `items_${m}`;
    add(
      t,
      `CREATE TABLE workspace.${t} (id serial PRIMARY KEY, title text NOT NULL, legacy text, CONSTRAINT ${t}_title_check CHECK (title <> ''));\n` +
        `CREATE INDEX ${t}_legacy_idx ON workspace.${t} (legacy);\nCREATE SEQUENCE workspace.${t}_ticket_seq;\n`,
    );
    add(`drop_legacy_${m}`, `ALTER TABLE workspace.${t} DROP COLUMN legacy;\n`);
    add(
      `swap_${m}`,
      `ALTER TABLE workspace.${t} RENAME TO ${t}_old;\nALTER INDEX workspace.${t}_pkey RENAME TO ${t}_old_pkey;\nCREATE TABLE workspace.${t} (id bigserial PRIMARY KEY, title text NOT NULL);\n` +
        `CREATE INDEX ${t}_title_idx ON workspace.${t} (title);\n`,
    );
    add(
      `mood_${m}`,
      `CREATE TYPE workspace.mood_${m} AS ENUM ('happy', 'sad');\nALTER TYPE workspace.mood_${m} RENAME TO feeling_${m};\n`,
    );
    add(
      `guarded_${m}`,
      `DO $$\nBEGIN\n  IF to_regclass('workspace.${t}_notes') IS NULL THEN\n    CREATE TABLE workspace.${t}_notes (id int PRIMARY KEY, body text);\n  END IF;\n` +
        `  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = '${t}_notes_body_check') THEN\n` +
        `    ALTER TABLE workspace.${t}_notes ADD CONSTRAINT ${t}_notes_body_check CHECK (length(body) < 10000);\n  END IF;\nEND\n$$;\n`,
    );
    add(
      `dynamic_${m}`,
      `CREATE OR REPLACE FUNCTION workspace.make_log_${m}(suffix text) RETURNS void LANGUAGE plpgsql AS $$\nBEGIN\n` +
        `  EXECUTE format('CREATE TABLE IF NOT EXISTS workspace.%I (at timestamptz DEFAULT now())', 'log_${m}_' || suffix);\nEND\n$$;\n` +
        `SELECT workspace.make_log_${m}('a');\n`,
    );
    add(
      `views_${m}`,
      `CREATE VIEW workspace.${t}_titles AS SELECT title FROM workspace.${t};\n` +
        `CREATE FUNCTION workspace.label_${m}(n integer) RETURNS text LANGUAGE sql AS $$ SELECT n::text $$;\n` +
        `CREATE FUNCTION workspace.label_${m}(s text) RETURNS text LANGUAGE sql AS $$ SELECT s $$;\n`,
    );
    add(
      `recreate_${m}`,
      `DROP VIEW IF EXISTS workspace.${t}_titles;\nCREATE VIEW workspace.${t}_titles AS SELECT id, title FROM workspace.${t};\n` +
        `ALTER FUNCTION workspace.label_${m}(text) RENAME TO label_text_${m};\n`,
    );
    add(
      `guard_rows_${m}`,
      `CREATE FUNCTION workspace.touch_${m}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;\n` +
        `CREATE TRIGGER ${t}_touch BEFORE UPDATE ON workspace.${t} FOR EACH ROW EXECUTE FUNCTION workspace.touch_${m}();\n` +
        `ALTER TABLE workspace.${t} ENABLE ROW LEVEL SECURITY;\nCREATE POLICY ${t}_all ON workspace.${t} USING (true);\n`,
    );
    add(
      `move_${m}`,
      `CREATE TABLE public.scratch_${m} (id int);\nCREATE INDEX scratch_${m}_idx ON public.scratch_${m} (id);\nDROP TABLE scratch_${m};\n` +
        `ALTER TABLE workspace.${t}_old SET SCHEMA reference;\nALTER INDEX workspace.${t}_title_idx RENAME TO ${t}_by_title;\n`,
    );
  }
  return files;
}
