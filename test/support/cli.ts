import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { LintReport, Report } from '../../src/api.js';
import { PASSWORD } from './db.js';
import { REPO } from './project.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const BIN = join(REPO, 'bin', 'schemata.js');

/**
 * Runs bin/schemata.js as a user would, with only the environment given
 * (plus PATH and HOME), and checks that the test password appears nowhere
 * in what it printed.
 */
export async function runCli(
  args: string[],
  options: { cwd: string; env?: Record<string, string>; bin?: string },
): Promise<CliResult> {
  const result = await startCli(args, options).done;
  const password = PASSWORD();
  expect(result.stdout, 'the password leaked to stdout').not.toContain(password);
  expect(result.stderr, 'the password leaked to stderr').not.toContain(password);
  expect(result.stdout + result.stderr, 'a stack trace leaked').not.toMatch(
    /\n\s+at .+\(.+:\d+:\d+\)/,
  );
  return result;
}

/** Starts bin/schemata.js (or `bin`: an installed copy) and returns the child with a promise of its result (for signals sent while it runs). */
export function startCli(
  args: string[],
  options: { cwd: string; env?: Record<string, string>; bin?: string },
): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [options.bin ?? BIN, ...args], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', CI: 'true', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
  return { child, done };
}

/** Parses --json output (a run's report: migrate, status, validate, baseline), failing the test when stdout holds anything else. */
export function json(result: CliResult): Report {
  return JSON.parse(result.stdout) as Report;
}

/** Parses lint --json output, failing the test when stdout holds anything else. */
export function lintJson(result: CliResult): LintReport {
  return JSON.parse(result.stdout) as LintReport;
}

/** The arguments of the `npx schemata …` a hint prints (the first, or the one starting with `starts`). */
export function hintedArgs(result: CliResult, starts = ''): string[] {
  const found = new RegExp(`npx schemata (${starts}[^"\n]*)`).exec(result.stderr);
  expect(found, `an "npx schemata ${starts}…" hint in:\n${result.stderr}`).not.toBeNull();
  // The command ends where the sentence goes on: a parenthesis, a semicolon, a full stop.
  const command = found![1]!.split(/ \(|; /)[0]!.replace(/[.;,]+$/, '');
  return command.trim().split(/\s+/);
}
