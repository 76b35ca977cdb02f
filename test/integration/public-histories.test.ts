import { beforeAll, describe, expect, it } from 'vitest';
import { baseline, migrate, status, validate } from '../../src/api.js';
import type { Report } from '../../src/api.js';
import { json, runCli } from '../support/cli.js';
import { freshDatabase, query } from '../support/db.js';
import { configOf, DRIZZLE, HISTORIES, type History, runAsPsql } from '../support/histories.js';
import { makeProject, writeFile } from '../support/project.js';

/*
 * Issue 22, "Done when": histories in the shapes public projects have
 * (test/support/histories.ts) apply with no edit, a rerun and validate are
 * clean, each object dropped by hand is named with its migration, the hint
 * (`--repair`, typed at the CLI) restores it with every other row untouched,
 * and baseline adopts a copy built statement by statement as psql builds it.
 */

const env = (url: string) => ({ PRIMARY_DATABASE_URL: url });

function projectOf(history: History): string {
  const cwd = makeProject();
  writeFile(cwd, 'schemata.json', configOf(history));
  for (const [file, sql] of Object.entries(history.files)) writeFile(cwd, `app/${file}`, sql);
  return cwd;
}

/** Rows of each table, read from the server. */
async function rowCounts(url: string, tables: readonly string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of tables)
    counts[table] = (
      await query<{ n: number }>(url, `SELECT count(*)::int AS n FROM ${table}`)
    )[0]!.n;
  return counts;
}

/** Runs the one `schemata <command> ...` a hint names, at the CLI as a user types it. */
async function followHint(hint: string | undefined, cwd: string, url: string) {
  const commands = [
    ...(hint ?? '').matchAll(/\bschemata ((?:migrate|validate|baseline)[^.;,)]*)/g),
  ];
  expect(
    commands.map((c) => c[0]),
    `the hint "${hint}" names one command`,
  ).toHaveLength(1);
  const args = commands[0]![1]!.trim().split(/\s+/);
  return runCli([...args, '--json'], { cwd, env: env(url) });
}

const problemsOf = (report: Report) => report.sets.flatMap((s) => s.problems);

describe.each(HISTORIES)('$name history', (history) => {
  let url: string;
  let cwd: string;

  beforeAll(async () => {
    url = await freshDatabase();
    cwd = projectOf(history);
  });

  it('applies with no edit; a rerun applies nothing and validate is clean', async () => {
    const first = await migrate({ cwd, env: env(url) });
    expect(first.error).toBeUndefined();
    expect(first.exitCode).toBe(0);
    expect(first.sets[0]!.applied.map((a) => a.file)).toEqual(Object.keys(history.files));

    const again = await migrate({ cwd, env: env(url) });
    expect(again.exitCode).toBe(0);
    expect(again.sets[0]!.applied).toEqual([]);
    expect(problemsOf(again)).toEqual([]);
    const checked = await validate({ cwd, env: env(url) });
    expect(problemsOf(checked)).toEqual([]);
    expect(checked.exitCode).toBe(0);

    await query(url, history.seed);
  });

  it.each(history.drops)(
    '$what, dropped by hand: named with its migration, and the hint restores it with every row untouched',
    async (drop) => {
      const before = await rowCounts(url, history.tables);
      await query(url, drop.sql);

      const blocked = await validate({ cwd, env: env(url) });
      expect(blocked.exitCode).toBe(3);
      const mismatch = problemsOf(blocked).find((p) => p.kind === 'mismatch');
      expect(mismatch, JSON.stringify(problemsOf(blocked))).toBeDefined();
      for (const named of drop.named) expect(mismatch!.message).toContain(named);

      const repaired = await followHint(mismatch!.hint, cwd, url);
      expect(repaired.code, repaired.stdout + repaired.stderr).toBe(0);
      expect(json(repaired).ok).toBe(true);

      const after = await rowCounts(url, history.tables);
      for (const table of history.tables)
        expect(after[table], table).toBe(drop.emptied?.includes(table) ? 0 : before[table]);

      if (drop.check) expect(await query(url, drop.check)).toEqual([{ ok: true }]);

      const clean = await validate({ cwd, env: env(url) });
      expect(problemsOf(clean)).toEqual([]);
      expect(clean.exitCode).toBe(0);
    },
  );

  it('baseline adopts a copy built with psql; then validate is clean and status shows every file baselined', async () => {
    const copy = await freshDatabase();
    await runAsPsql(copy, Object.values(history.files));
    const adopted = await baseline({ cwd, env: env(copy), set: 'app' });
    expect(adopted.error).toBeUndefined();
    expect(adopted.exitCode).toBe(0);

    const checked = await validate({ cwd, env: env(copy) });
    expect(problemsOf(checked)).toEqual([]);
    expect(checked.exitCode).toBe(0);

    const shown = await status({ cwd, env: env(copy) });
    const applied = shown.sets[0]!.applied;
    expect(applied.map((a) => a.file)).toEqual(Object.keys(history.files));
    expect(applied.every((a) => a.event === 'baselined')).toBe(true);
    expect(shown.sets[0]!.pending).toEqual([]);

    const deploy = await migrate({ cwd, env: env(copy) });
    expect(deploy.exitCode).toBe(0);
    expect(deploy.sets[0]!.applied).toEqual([]);
  });
});

describe('a constraint written inside a CREATE TABLE whose table still exists (drizzle-kit)', () => {
  async function droppedUnique() {
    const url = await freshDatabase();
    const cwd = projectOf(DRIZZLE);
    expect((await migrate({ cwd, env: env(url) })).exitCode).toBe(0);
    await query(url, DRIZZLE.seed);
    await query(url, 'ALTER TABLE "clubs" DROP CONSTRAINT "clubs_name_unique"');
    const blocked = await validate({ cwd, env: env(url) });
    expect(blocked.exitCode).toBe(3);
    expect(problemsOf(blocked)[0]!.message).toContain(
      'constraint clubs_name_unique on public.clubs (0000_quiet_heron.sql)',
    );
    return { url, cwd, hint: problemsOf(blocked)[0]!.hint };
  }

  it("the hint (--repair, typed at the CLI) adds it to the table from the CREATE TABLE's definition; every row untouched", async () => {
    const { url, cwd, hint } = await droppedUnique();
    const before = await rowCounts(url, DRIZZLE.tables);
    const repaired = await followHint(hint, cwd, url);
    expect(repaired.code).toBe(0);
    expect(
      await query(
        url,
        "SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conname = 'clubs_name_unique' AND conrelid = 'public.clubs'::regclass",
      ),
    ).toEqual([{ def: 'UNIQUE (name)' }]);
    expect(await rowCounts(url, DRIZZLE.tables)).toEqual(before);
    const checked = await validate({ cwd, env: env(url) });
    expect(problemsOf(checked)).toEqual([]);
  });
});
