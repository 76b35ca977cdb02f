import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { json, runCli, startCli } from '../support/cli.js';
import { databaseName, freshDatabase, query, servers } from '../support/db.js';
import { makeProject } from '../support/project.js';

/*
 * SPEC §10 from the command line: a fleet of tenant databases over two
 * servers (their URLs in an environment variable), and a fleet of tenant
 * schemas split between concurrent processes with --shard, one of them
 * killed mid-fleet.
 */

describe('a fleet of 50 tenant databases over two servers', () => {
  it('applies to each, names tenants (never a URL with its password); a no-op; a failing tenant stops new ones, --canary 1 and --continue-on-error as told, the rerun does only the failed one', async () => {
    const urls = await Promise.all(
      Array.from({ length: 50 }, (_, i) => freshDatabase(i % 2 === 0 ? 'primary' : 'data')),
    );
    const cwd = makeProject({
      'schemata.json': JSON.stringify({
        sets: [{ name: 'shard', dir: 'shard', tenants: { databases: { env: 'SHARD_URLS' } } }],
      }),
      'shard/001_items.sql': 'CREATE TABLE items (id int PRIMARY KEY);\n',
    });
    const env = { PRIMARY_DATABASE_URL: servers().primary, SHARD_URLS: urls.join(',\n') };
    const names = urls.map(databaseName);

    const first = await runCli(['migrate', '--concurrency', '3'], { cwd, env });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/done: applied 50 migrations \(shard 50 tenants, 50 applied, /);
    for (const url of urls)
      expect(await query(url, "SELECT to_regclass('public.items') IS NOT NULL AS made")).toEqual([
        { made: true },
      ]);

    const shown = await runCli(['status', '--json'], { cwd, env });
    expect(
      json(shown)
        .sets[0]!.tenants!.map((t) => t.name)
        .sort(),
    ).toEqual([...names].sort());
    const human = await runCli(['status'], { cwd, env });
    expect(human.stdout).toContain('tenants: 50');
    for (const name of names) expect(human.stdout).toMatch(new RegExp(`${name} +1 +0 +ok`));

    // Nothing to apply: every tenant up to date, none applied.
    const noop = await runCli(['migrate', '--json'], { cwd, env });
    expect(noop.code, noop.stderr).toBe(0);
    expect(json(noop).sets[0]!.tenants!.filter((t) => t.ok && t.applied.length === 0)).toHaveLength(
      50,
    );

    // One tenant already has what the next file makes.
    const sorted = [...names].sort();
    const broken = urls[names.indexOf(sorted[0]!)]!;
    await query(broken, 'CREATE TABLE notes (id int)');
    await import('node:fs').then(({ writeFileSync }) => {
      writeFileSync(`${cwd}/database/shard/002_notes.sql`, 'CREATE TABLE notes (id int);\n');
    });
    // By default its failure stops new tenants from starting (one at a time here: it is the first).
    const stopped = await runCli(['migrate', '--concurrency', '1', '--json'], { cwd, env });
    expect(stopped.code).toBe(3);
    expect(json(stopped).sets[0]!.tenants!.map((t) => t.name)).toEqual([sorted[0]]);
    expect(json(stopped).error?.message).toContain('49 tenants were not started');
    // With --canary 1 the run stops after the first tenant if it fails, however many run at once.
    const canary = await runCli(['migrate', '--canary', '1', '--json'], { cwd, env });
    expect(canary.code).toBe(3);
    expect(json(canary).sets[0]!.tenants!.map((t) => t.name)).toEqual([sorted[0]]);
    const rest = await runCli(['migrate', '--continue-on-error'], { cwd, env });
    expect(rest.code).toBe(3);
    expect(rest.stderr).toContain(`1 of 50 tenants failed: ${sorted[0]} (exit 3`);
    expect(rest.stderr).toContain(`schemata migrate shard --tenants ${sorted[0]}`);
    // Its cause fixed, the rerun does only the failed one.
    await query(broken, 'DROP TABLE notes');
    const rerun = await runCli(['migrate', '--json'], { cwd, env });
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(
      json(rerun)
        .sets[0]!.tenants!.filter((t) => t.applied.length > 0)
        .map((t) => [t.name, t.applied.map((a) => a.file)]),
    ).toEqual([[sorted[0], ['002_notes.sql']]]);
    // Fifty databases made and nine runs over them: about 34 s alone, more beside the rest of the suite.
  }, 180_000);
});

describe('status of a fleet of tenant databases over two servers', () => {
  it("names as orphans the databases of its servers that hold the set's tracking but are not listed, host:port added where two servers share a name", async () => {
    const [p1, p2, d1] = await Promise.all([
      freshDatabase('primary'),
      freshDatabase('primary'),
      freshDatabase('data'),
    ]);
    // One name on both servers.
    const twin = `twin_${randomBytes(4).toString('hex')}`;
    const twins = [servers().primary, servers().data].map((server) => {
      const url = new URL(server);
      url.pathname = `/${twin}`;
      return url.toString();
    });
    await query(servers().primary, `CREATE DATABASE ${twin}`);
    await query(servers().data, `CREATE DATABASE ${twin}`);
    const project = (set: string) =>
      makeProject({
        'schemata.json': JSON.stringify({
          sets: [{ name: set, dir: 'shard', tenants: { databases: { env: 'SHARD_URLS' } } }],
        }),
        'shard/001_items.sql': 'CREATE TABLE IF NOT EXISTS items (id int PRIMARY KEY);\n',
      });
    const cwd = project('shards');
    const env = (urls: string[]) => ({
      PRIMARY_DATABASE_URL: servers().primary,
      SHARD_URLS: urls.join(','),
    });
    const all = [p1, p2, d1, ...twins];
    expect((await runCli(['migrate'], { cwd, env: env(all) })).code).toBe(0);
    // A database of another set's fleet is not this one's orphan.
    const other = await freshDatabase('primary');
    expect((await runCli(['migrate'], { cwd: project('others'), env: env([other]) })).code).toBe(0);

    // p2 and both twins dropped from the list.
    const shown = await runCli(['status', '--json'], { cwd, env: env([p1, d1]) });
    expect(shown.code).toBe(0);
    const hostOf = (url: string) => `${new URL(url).hostname}:${new URL(url).port}`;
    const orphans = [
      databaseName(p2),
      `${hostOf(servers().primary)}/${twin}`,
      `${hostOf(servers().data)}/${twin}`,
    ].sort();
    expect(json(shown).sets[0]!.orphans).toEqual(orphans);
    expect(json(shown).sets[0]!.tenants!.length).toBe(2);
    const human = await runCli(['status'], { cwd, env: env([p1, d1]) });
    expect(human.code).toBe(0);
    expect(human.stderr).toContain(
      `3 databases hold the tracking of set "shards" but are not among its tenants (orphans): ${orphans.join(', ')}.`,
    );
    // Listed again, none is an orphan.
    expect(json(await runCli(['status', '--json'], { cwd, env: env(all) })).sets[0]!.orphans).toBe(
      undefined,
    );
  }, 180_000);
});

describe('--shard: processes share a fleet with no coordinator', () => {
  it('four processes over 400 tenant schemas, one killed mid-fleet and its shard run again: each tenant applied once', async () => {
    const url = await freshDatabase();
    const tenants = Array.from({ length: 400 }, (_, i) => `t_${String(i).padStart(3, '0')}`);
    await query(url, tenants.map((t) => `CREATE SCHEMA ${t};`).join('\n'));
    const cwd = makeProject({
      'schemata.json': JSON.stringify({
        sets: [
          { name: 'tenant', dir: 'tenant', database: 'primary', tenants: { schemas: tenants } },
        ],
      }),
      'tenant/001_items.sql': 'CREATE TABLE items (id int PRIMARY KEY);\nSELECT pg_sleep(0.02);\n',
    });
    const env = { PRIMARY_DATABASE_URL: url };
    const runs = [0, 1, 2, 3].map((i) =>
      startCli(['migrate', '--shard', `${i}/4`, '--concurrency', '2'], { cwd, env }),
    );
    await new Promise((resolve) => setTimeout(resolve, 1200));
    runs[2]!.child.kill('SIGKILL');
    const results = await Promise.all(runs.map((r) => r.done));
    expect(results.filter((_, i) => i !== 2).map((r) => r.code)).toEqual([0, 0, 0]);
    // The killed shard's tenants (every 4th from the third): some were left behind.
    const shardTwo = tenants.filter((_, i) => i % 4 === 2).map((t) => `tenant/${t}`);
    const [doneBefore] = await query<{ n: number }>(
      url,
      "SELECT count(DISTINCT set_name)::int AS n FROM schemata.migrations WHERE event = 'applied' AND set_name = ANY($1)",
      [shardTwo],
    );
    expect(doneBefore!.n).toBeLessThan(100);
    const again = await runCli(['migrate', '--shard', '2/4'], { cwd, env });
    expect(again.code, again.stderr).toBe(0);
    // A hundred tenants on one stop signal: each tenant's run takes its listener off when it ends.
    expect(again.stderr).not.toContain('MaxListenersExceededWarning');
    const events = await query<{ set_name: string; n: number }>(
      url,
      "SELECT set_name, count(*)::int AS n FROM schemata.migrations WHERE event = 'applied' GROUP BY set_name ORDER BY set_name",
    );
    expect(events).toEqual(tenants.map((t) => ({ set_name: `tenant/${t}`, n: 1 })));
  });
});

describe('a fleet stopped by SIGTERM', () => {
  it('cancels the tenants in flight, starts no more, exits 143; every tenant is whole or untouched, and the rerun finishes', async () => {
    const url = await freshDatabase();
    const tenants = Array.from({ length: 16 }, (_, i) => `s_${String(i).padStart(2, '0')}`);
    await query(url, tenants.map((t) => `CREATE SCHEMA ${t};`).join('\n'));
    const cwd = makeProject({
      'schemata.json': JSON.stringify({
        sets: [
          { name: 'tenant', dir: 'tenant', database: 'primary', tenants: { schemas: tenants } },
        ],
      }),
      'tenant/001_items.sql': 'CREATE TABLE items (id int PRIMARY KEY);\nSELECT pg_sleep(0.4);\n',
    });
    const env = { PRIMARY_DATABASE_URL: url };
    const run = startCli(['migrate', '--concurrency', '2'], { cwd, env });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    run.child.kill('SIGTERM');
    const stopped = await run.done;
    expect(stopped.code, stopped.stderr).toBe(143);
    expect(stopped.stderr).toMatch(
      /Set "tenant": stopped by SIGTERM with \d+ of 16 tenants done; \d+ in flight (was|were) rolled back and \d+ not started\./,
    );
    expect(stopped.stderr).toMatch(
      /Run the same command again to go on:.* schemata migrate tenant/,
    );
    expect(stopped.stderr).not.toContain('DeprecationWarning');
    const state = await query<{ schema: string; made: boolean; recorded: boolean }>(
      url,
      `SELECT s AS schema, to_regclass(s || '.items') IS NOT NULL AS made,
              EXISTS (SELECT 1 FROM schemata.migrations m WHERE m.set_name = 'tenant/' || s AND m.event = 'applied') AS recorded
         FROM unnest($1::text[]) AS s`,
      [tenants],
    );
    // Whole or untouched: a table without its record, or the reverse, would be half a migration.
    expect(state.filter((t) => t.made !== t.recorded)).toEqual([]);
    expect(state.filter((t) => t.made).length).toBeLessThan(tenants.length);
    const again = await runCli(['migrate'], { cwd, env });
    expect(again.code, again.stderr).toBe(0);
    expect(
      await query(
        url,
        "SELECT count(DISTINCT set_name)::int AS n FROM schemata.migrations WHERE event = 'applied'",
      ),
    ).toEqual([{ n: 16 }]);
  });
});
