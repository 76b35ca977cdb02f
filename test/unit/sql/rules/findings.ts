import { beforeAll } from 'vitest';
import { type LintFinding, lintFile } from '../../../../src/sql/lint.js';
import { loadParser } from '../../../../src/sql/parse.js';
import type { Parser } from '../../../../src/sql/statements.js';

/** Every finding on a text, through lintFile and the real parser (loaded once per file). */
export function lintWithParser(): (sql: string) => LintFinding[] {
  let parser: Parser;
  beforeAll(async () => {
    parser = await loadParser();
  });
  return (sql) => lintFile(parser, sql);
}

/** The findings of one rule on a text. */
export function findingsOf(rule: string): (sql: string) => LintFinding[] {
  const lint = lintWithParser();
  return (sql) => lint(sql).filter((f) => f.rule === rule);
}
