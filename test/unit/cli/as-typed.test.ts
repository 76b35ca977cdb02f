import { describe, expect, it } from 'vitest';
import {
  commandAsTyped,
  type Place,
  rewriteCommands,
  schemataArgs,
} from '../../../src/cli/as-typed.js';

const scripts = [
  { name: 'db:migrate', args: ['migrate'] },
  { name: 'db:migrate:data', args: ['migrate', 'data'] },
  { name: 'migrate:data', args: ['migrate', 'data'] },
  { name: 'db:validate', args: ['validate'] },
];
const npm: Place = { onPath: false, scripts, agent: 'npm' };

describe('commands as typed where the user is (SPEC §3)', () => {
  it.each([
    [
      'the script that runs the most of it, extra flags after --',
      ['migrate', 'data', '--repair'],
      npm,
      'npm run migrate:data -- --repair',
    ],
    [
      'pnpm takes the flags directly',
      ['migrate', 'data', '--repair'],
      { ...npm, agent: 'pnpm' as const },
      'pnpm migrate:data --repair',
    ],
    ['a script that runs it whole', ['validate'], npm, 'npm run db:validate'],
    [
      'no script runs it: npx',
      ['baseline', 'data', '--version', '3'],
      npm,
      'npx schemata baseline data --version 3',
    ],
    [
      'schemata on the PATH',
      ['migrate', 'data', '--repair'],
      { ...npm, onPath: true },
      'schemata migrate data --repair',
    ],
  ])('%s', (_name, args, place, expected) => {
    expect(commandAsTyped(args, place)).toBe(expected);
  });

  it('rewrites each command in a message, keeping the full stop', () => {
    expect(
      rewriteCommands(
        'Fix it, then run: schemata migrate data --repair. Or schemata validate.',
        npm,
      ),
    ).toBe('Fix it, then run: npm run migrate:data -- --repair. Or npm run db:validate.');
    expect(rewriteCommands('Run "schemata --help" to see the commands and flags.', npm)).toBe(
      'Run "npx schemata --help" to see the commands and flags.',
    );
    expect(rewriteCommands('then run: schemata rollback data --to 2', npm)).toBe(
      'then run: npx schemata rollback data --to 2',
    );
    expect(rewriteCommands('Import it first: schemata import drizzle --set data', npm)).toBe(
      'Import it first: npx schemata import drizzle --set data',
    );
    expect(rewriteCommands('the table schemata.migrations and -- schemata:force stay', npm)).toBe(
      'the table schemata.migrations and -- schemata:force stay',
    );
  });

  it.each([
    ['node bin/schemata.js migrate data', ['migrate', 'data']],
    ['schemata migrate', ['migrate']],
    ['node node_modules/schemata/bin/schemata.js status && echo done', ['status']],
    ['tsc -p .', undefined],
  ])('reads the schemata arguments of the script %j', (script, args) => {
    expect(schemataArgs(script)).toEqual(args);
  });
});
