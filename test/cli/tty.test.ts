import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freshDatabase, PASSWORD, query } from '../support/db.js';
import { makeProject, REPO, SMALL_SETS } from '../support/project.js';

/*
 * The task list as a person at a terminal sees it: listr2's default renderer,
 * which draws only when stdout is a TTY, captured in a real pseudo-terminal
 * (util-linux `script`). Its frames are redrawn with cursor movements; the
 * last frame is what stays on the screen.
 */

// CSI sequences (colours, cursor movement, erase), OSC sequences, and the other escapes.
const ANSI =
  // eslint-disable-next-line no-control-regex -- terminal escape sequences are made of control characters (ESC, BEL): matching them is the point
  /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-Z\\-_]/g;
const strip = (text: string) => text.replace(ANSI, '').replace(/\r/g, '');

function inTerminal(
  args: string[],
  options: { cwd: string; env: Record<string, string>; columns?: number },
): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, join(REPO, 'bin', 'schemata.js'), ...args]
    .map((a) => `'${a.replace(/'/g, `'\\''`)}'`)
    .join(' ');
  // -e: script exits with the command's code; -q: no "Script started" lines; /dev/null: no typescript file.
  // A pseudo-terminal made without a parent terminal has no size: give it one, as a terminal window has.
  const sized = `stty cols ${options.columns ?? 160} rows 50 && exec ${command}`;
  const child = spawn('script', ['-qefc', sized, '/dev/null'], {
    cwd: options.cwd,
    // No CI: with it schemata picks the simple renderer, as for a pipe.
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      TERM: 'xterm-256color',
      ...options.env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    output += d.toString();
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, output });
    });
  });
}

/** The frame the renderer drew last (what stays on the screen), and what was printed after it. */
function lastFrame(output: string): string {
  // Each frame begins by erasing the previous one and going to column 1 (ESC [ G).
  return strip(output.slice(output.lastIndexOf('\u001b[G') + 3));
}

describe('the task list in a terminal', () => {
  const failingRun = async (columns: number) => {
    const primary = await freshDatabase('primary');
    const data = await freshDatabase('data');
    const cwd = makeProject({
      ...SMALL_SETS,
      'data/003_zero.sql': 'CREATE TABLE workspace.z (id int);\nSELECT 1 / 0;\n',
    });
    return inTerminal(['migrate'], {
      cwd,
      columns,
      env: { SPLIT_DB_MODE: 'true', PRIMARY_DATABASE_URL: primary, DATA_DATABASE_URL: data },
    });
  };
  const closing =
    /\nstopped \(exit 1\): applied 4 migrations before it stopped \(primary 2 applied, 0 skipped, [\d.]+ m?s; data 2 applied, 1 skipped, [\d.]+ m?s\); the error follows\.\n/;

  it('split mode, the second set fails: ✖ on that set and its parents, the error once, the closing line', async () => {
    const { code, output } = await failingRun(160);
    const all = strip(output);
    const screen = lastFrame(output);
    expect(code, all).toBe(1);
    expect(output).not.toContain(PASSWORD());
    // The default renderer, not the simple one: it drew spinners and redrew its frames.
    expect(output).toContain('\u001b[1A');
    expect(screen).toMatch(/^✔ primary → postgres:\/\/postgres:\*\*\*@/m);
    expect(screen).toMatch(/^✖ data → postgres:\/\/postgres:\*\*\*@/m);
    expect(screen).toMatch(/^ {2}✖ apply 3 migrations$/m);
    expect(screen).toMatch(/^ {4}✖ 003_zero\.sql$/m);
    expect(screen).not.toMatch(/^✖ primary/m);
    expect(screen.match(/✖/g)).toHaveLength(3);
    // The message is printed once, after the list, in any frame of it.
    expect(all.split('division by zero').length - 1).toBe(1);
    expect(screen).toMatch(closing);
  });

  it('a terminal that reports no width gets the simple renderer, its lines whole', async () => {
    const { code, output } = await failingRun(0);
    const all = strip(output);
    expect(code, all).toBe(1);
    expect(all).toMatch(
      /^✖ data → postgres:\/\/postgres:\*\*\*@\S+ \[FAILED: failed, see below\]$/m,
    );
    expect(all.split('division by zero').length - 1).toBe(1);
    expect(all).toMatch(closing);
  });

  it('a fleet: its line with a bar, the counts and rate, the failed tenant by name; a line per tenant in flight while it runs', async () => {
    const url = await freshDatabase('primary');
    const tenants = Array.from({ length: 8 }, (_, i) => `tenant_${i + 1}`);
    await query(url, tenants.map((t) => `CREATE SCHEMA ${t};`).join('\n'));
    // tenant_5 already has the table the file makes: that tenant fails.
    await query(url, 'CREATE TABLE tenant_5.items (id int)');
    const cwd = makeProject({
      'schemata.json': JSON.stringify({
        sets: [
          {
            name: 'tenant',
            dir: 'tenant',
            database: 'primary',
            tenants: {
              schemas: "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tenant\\_%'",
            },
          },
        ],
      }),
      // Long enough for the terminal to draw the tenants in flight.
      'tenant/001_items.sql': 'CREATE TABLE items (id int PRIMARY KEY);\nSELECT pg_sleep(0.4);\n',
    });
    const { code, output } = await inTerminal(['migrate', '--continue-on-error'], {
      cwd,
      env: { PRIMARY_DATABASE_URL: url },
    });
    const screen = lastFrame(output);
    expect(code, strip(output)).toBe(3);
    expect(screen).toMatch(
      /^✖ tenant → 8 tenants █{20} 8\/8 done, 1 failed \(tenant_5\), [\d.]+\/s$/m,
    );
    // While it ran: a line per tenant in flight, under the fleet's line.
    expect(strip(output)).toMatch(
      /^\S tenant → 8 tenants [█░]{20} \d\/8 done.*\n {2}› tenant_\d: running\n {4}tenant_\d: running\n/m,
    );
  });
});
