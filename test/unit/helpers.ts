import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { ConfigError, EXIT, SchemataError } from '../../src/errors.js';

/** Runs `fn` and returns what it threw; fails the test when it throws nothing. */
export function thrown(fn: () => unknown): SchemataError {
  try {
    fn();
  } catch (error) {
    return error as SchemataError;
  }
  throw new Error('expected the call to throw, but it returned');
}

/** Asserts a ConfigError (exit 2) whose message contains every fragment; returns it. */
export function expectConfigError(fn: () => unknown, ...fragments: string[]): SchemataError {
  const error = thrown(fn);
  expect(error).toBeInstanceOf(ConfigError);
  expect(error.exitCode).toBe(EXIT.usage);
  expect(error.exitCode).toBe(2);
  for (const fragment of fragments) expect(error.message).toContain(fragment);
  return error;
}

/** A fresh directory under the OS temp dir, with a remover. */
export function tempDir(prefix = 'schemata-unit-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    remove: () => {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Writes files (creating folders) relative to `root`; a directory when the content is null. */
export function writeTree(root: string, tree: Record<string, string | Buffer | null>): void {
  for (const [path, content] of Object.entries(tree)) {
    const full = join(root, path);
    if (content === null) {
      mkdirSync(full, { recursive: true });
    } else {
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, content);
    }
  }
}
