import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, runCli } from '../support/cli.js';
import { query, servers } from '../support/db.js';
import { makeProject, SMALL_SETS } from '../support/project.js';

/*
 * SPEC §2: no password in any output, whatever fails, and a password of any
 * shape never mangles other text. A random password is set on a real role and
 * spelled three ways (URL user info, ?password=, libpq key=value); the CLI
 * runs through success and each failure path it can reach, and its output,
 * with what legitimately varies normalized, must be the output of the same run
 * with a long random password.
 */

const ROLE = 'migr_app';

/** Printable ASCII, biased to what the output itself holds (digits, words of it, its punctuation). */
const OUTPUT_WORDS = [
  'postgres',
  'migr',
  'app',
  'ation',
  'migr_app',
  '127.0.0.1',
  '***',
  'schemata',
  'password',
  'data',
  'primary',
];
const password = fc
  .array(
    fc.oneof(
      {
        weight: 4,
        arbitrary: fc.string({
          unit: fc.constantFrom(...'0123456789:@/=\'\\% .&?#"$;-_'.split('')),
          minLength: 1,
          maxLength: 3,
        }),
      },
      { weight: 3, arbitrary: fc.constantFrom(...OUTPUT_WORDS) },
      {
        weight: 3,
        arbitrary: fc.string({
          unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
          minLength: 1,
          maxLength: 8,
        }),
      },
    ),
    { minLength: 1, maxLength: 12 },
  )
  .map((parts) => parts.join('').slice(0, 64))
  .filter((p) => p.length >= 1);

const sqlLiteral = (text: string) => `'${text.replace(/'/g, "''")}'`;
const escapeLiteral = (text: string) => `E'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
/** libpq's quoting in key=value strings: single quotes, with \' and \\. */
const conninfoQuote = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

type Spelling = 'userinfo' | 'query' | 'keyvalue';

function spell(
  spelling: Spelling,
  secret: string,
  database: string,
  port: string,
  eq = '=',
): string {
  const enc = encodeURIComponent(secret);
  switch (spelling) {
    case 'userinfo':
      return `postgres://${ROLE}:${enc}@127.0.0.1:${port}/${database}`;
    case 'query':
      return `postgres://${ROLE}@127.0.0.1:${port}/${database}?password=${enc}&application_name=migr`;
    case 'keyvalue':
      return `host=127.0.0.1 port=${port} user=${ROLE} password${eq}${conninfoQuote(secret)} dbname=${database}`;
  }
}

/** What legitimately differs between two runs: durations (and the width of a table column of them), timestamps, databases and project folders. */
function normalize(text: string): string {
  return text
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>')
    .replace(/\b\d+(\.\d+)? ?m?s\b/g, '<n>ms')
    .replace(/<n>ms +/g, '<n>ms ')
    .replace(/"ms": \d+/g, '"ms": <n>')
    .replace(/\bt_[0-9a-f]{12}\b/g, '<db>')
    .replace(/\/[\w/.-]*schemata-project-\w+/g, '<project>');
}

const both = (r: CliResult) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

async function setRolePassword(secret: string): Promise<void> {
  await query(servers().primary, `ALTER ROLE ${ROLE} PASSWORD ${sqlLiteral(secret)}`);
}

async function freshOwnedDatabase(): Promise<string> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  await query(servers().primary, `CREATE DATABASE ${name} OWNER ${ROLE}`);
  return name;
}

interface Case {
  spelling: Spelling;
  json: boolean;
  literal: 'standard' | 'escape';
  eq: string;
}

/** Every path a run can take with this password, each run's output keyed by the path. */
async function runAll(secret: string, wrong: string, c: Case): Promise<Map<string, CliResult>> {
  await setRolePassword(secret);
  const port = new URL(servers().primary).port;
  const flag = c.json ? ['--json'] : [];
  const out = new Map<string, CliResult>();
  const cwd = makeProject(SMALL_SETS);
  if (c.spelling === 'keyvalue') {
    // pg reads URLs only: a key=value string is a configuration error, shown without its password.
    out.set(
      'config',
      await runCli(['migrate', ...flag], {
        cwd,
        env: { PRIMARY_DATABASE_URL: spell('keyvalue', secret, 't_000000000000', port, c.eq) },
      }),
    );
    return out;
  }
  const database = await freshOwnedDatabase();
  const env = { PRIMARY_DATABASE_URL: spell(c.spelling, secret, database, port) };
  const independent = Promise.all([
    runCli(['migrate', ...flag], {
      cwd,
      env: { PRIMARY_DATABASE_URL: spell(c.spelling, wrong, database, port) },
    }),
    runCli(['validate', ...flag], {
      cwd,
      env: { PRIMARY_DATABASE_URL: spell(c.spelling, secret, database, '1') },
    }),
    runCli(['migrate', ...flag], {
      cwd,
      env: {
        PRIMARY_DATABASE_URL: spell(c.spelling, secret, database, port).replace(
          /^postgres:/,
          'mysql:',
        ),
      },
    }),
  ]);
  out.set('success', await runCli(['migrate', ...flag], { cwd, env }));
  const literal = c.literal === 'standard' ? sqlLiteral(secret) : escapeLiteral(secret);
  writeFileSync(
    join(cwd, 'database', 'data', '003_role.sql'),
    `-- a role that exists already\nCREATE ROLE ${ROLE} LOGIN PASSWORD ${literal};\nSELECT 1;\n`,
  );
  out.set('sql-error', await runCli(['migrate', ...flag], { cwd, env }));
  writeFileSync(
    join(cwd, 'database', 'primary', '002_tables.sql'),
    `${SMALL_SETS['primary/002_tables.sql']}-- changed\n`,
  );
  out.set('checksum', await runCli(['validate', 'primary', ...flag], { cwd, env }));
  const [auth, refused, config] = await independent;
  out.set('auth', auth);
  out.set('refused', refused);
  out.set('config', config);
  return out;
}

const EXPECTED_EXIT: Record<string, number> = {
  success: 0,
  'sql-error': 1,
  checksum: 3,
  auth: 2,
  refused: 1,
  config: 2,
};

describe('a password of any shape, in any spelling, on every path', () => {
  const references = new Map<string, Map<string, CliResult>>();
  const reference = randomBytes(24).toString('hex'); // 48 characters that occur nowhere else
  const wrongReference = randomBytes(24).toString('hex');

  beforeAll(async () => {
    await query(
      servers().primary,
      `DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${ROLE}') THEN CREATE ROLE ${ROLE} LOGIN; END IF; END $$`,
    );
  });

  it('never appears, and changes nothing else of the output', async () => {
    await fc.assert(
      fc.asyncProperty(
        password,
        password,
        fc.record({
          spelling: fc.constantFrom<Spelling>('userinfo', 'query', 'keyvalue'),
          json: fc.boolean(),
          literal: fc.constantFrom<Case['literal']>('standard', 'escape'),
          eq: fc.constantFrom('=', ' = ', '= ', ' ='),
        }),
        async (secret, wrongSecret, c) => {
          fc.pre(secret !== wrongSecret);
          // Neither the spelling of '=' nor of the SQL literal shows in the output: one reference serves them all.
          const key = `${c.spelling} ${c.json}`;
          if (!references.has(key)) references.set(key, await runAll(reference, wrongReference, c));
          const expected = references.get(key)!;
          const actual = await runAll(secret, wrongSecret, c);
          for (const [path, result] of actual) {
            const ref = expected.get(path)!;
            const all = result.stdout + result.stderr;
            expect(ref.code, `${path}: ${both(ref)}`).toBe(EXPECTED_EXIT[path]);
            expect(ref.stdout + ref.stderr).not.toContain(reference);
            expect(ref.stdout + ref.stderr).not.toContain(wrongReference);
            // A password that the reference output holds too (":", "2", "app") is judged by the comparison below alone;
            // both are compared without what differs from run to run (a database's random name, a duration).
            for (const s of [secret, wrongSecret]) {
              if (!normalize(ref.stdout + ref.stderr).includes(s))
                expect(
                  normalize(all),
                  `${path}: the password ${JSON.stringify(s)} leaked`,
                ).not.toContain(s);
            }
            if (c.json)
              expect(
                (): unknown => JSON.parse(result.stdout),
                `${path}: ${result.stdout}`,
              ).not.toThrow();
            // The failing statement is echoed, its literal masked: that path is really taken.
            if (path === 'sql-error') expect(all).toContain("PASSWORD '***'");
            expect(normalize(both(result)), `${path} with ${JSON.stringify(secret)}`).toBe(
              normalize(both(ref)),
            );
          }
        },
      ),
      // Each run is six CLI runs (about 3 s here); the references add one such set per spelling and format.
      { numRuns: Number(process.env.SCHEMATA_PROPERTY_RUNS ?? 8), endOnFailure: true },
    );
  }, 300_000);
});
