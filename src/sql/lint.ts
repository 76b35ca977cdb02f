import { ownBlocks, runsInTransaction } from './classify.js';
import { readMigration } from './read.js';
import { RULES } from './rules/index.js';
import {
  lineIndex,
  type Location,
  markerComments,
  type Parser,
  scan,
  type Token,
} from './statements.js';

export interface LintFinding {
  rule: string;
  severity: 'error' | 'warning';
  at: Location;
  message: string;
  /** How to write it instead. */
  fix: string;
  /** The table a lock-hazard finding is about, as written: lint with a database sizes it (withSize). */
  table?: string;
}

/** What the catalog tells of a table: estimated rows (undefined before an ANALYZE), bytes with indexes. */
export interface SizeOfTable {
  rows: number | undefined;
  bytes: number;
}

/**
 * The finding with its table's size after the table's name where the message
 * says what the lock does to it: `rewrites workspace.events (41 M rows, 12 GB)
 * under ...`. Pure; a finding without a table, or a size, is returned as is.
 */
export function withSize(finding: LintFinding, size: SizeOfTable | undefined): LintFinding {
  if (!finding.table || !size) return finding;
  const shown = `${finding.table} (${[
    ...(size.rows !== undefined ? [count(size.rows, 'rows')] : []),
    bytes(size.bytes),
  ].join(', ')})`;
  // The first mention of the table as a word of its own (not `items.title`, a column of it).
  const words = finding.message.split(' ');
  const i = words.indexOf(finding.table);
  if (i === -1) return finding;
  words[i] = shown;
  return { ...finding, message: words.join(' ') };
}

/** `812 rows`, `41 k rows`, `1.5 M rows`: one decimal under 10. */
function count(n: number, unit: string): string {
  const steps: Array<[number, string]> = [
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [size, prefix] of steps) {
    if (n >= size) return `${round(n / size)} ${prefix} ${unit}`;
  }
  return `${Math.round(n)} ${unit}`;
}

/** `8 kB`, `12 GB`, as pg_size_pretty (units of 1024). */
function bytes(n: number): string {
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : round(value)} ${units[unit]!}`;
}

const round = (n: number): string =>
  n < 10 ? n.toFixed(1).replace(/\.0$/, '') : String(Math.round(n));

/**
 * Lints one file: a syntax error (with the rule that explains it, when one
 * does) or the findings of every rule on every statement. Pure: text in,
 * findings out, in file order.
 */
export function lintFile(parser: Parser, sql: string): LintFinding[] {
  const findings: LintFinding[] = [];
  // The file's own BEGIN ... COMMIT blocks, read as migrate reads them.
  const placeOf = ownBlocks();
  const created = new Set<string>();
  let searchPath: string[] | undefined;
  // An unqualified name with no search_path set resolves through the server's: '' matches any schema.
  const createdInFile = (schema: string | undefined, name: string): boolean => {
    const resolved = schema ?? searchPath?.find((s) => s !== '$user') ?? '';
    return (
      created.has(`${resolved}.${name}`) ||
      created.has(`.${name}`) ||
      (resolved === '' && [...created].some((key) => key.endsWith(`.${name}`)))
    );
  };
  const checks = RULES.map((rule) => ({
    rule,
    check: rule.checkInOrder?.() ?? rule.check,
  }));
  // Each statement while its syntax tree is there, with its own operations.
  const parsed = readMigration(parser, sql, (statement, operations) => {
    const place = placeOf(statement);
    const inExplicitTransaction = place === 'opens' || place === 'inside';
    let tokens: Token[] | undefined;
    const context = {
      statement,
      inExplicitTransaction,
      operations,
      createdInFile,
      tokens: () => (tokens ??= scan(parser, statement.text)),
    };
    for (const { rule, check } of checks) {
      for (const f of check?.(context) ?? []) {
        findings.push({ rule: rule.id, severity: rule.severity, ...f, fix: f.fix ?? rule.fix });
      }
    }
    // What this statement made counts for the statements after it, not for itself.
    for (const op of operations) {
      if (op.kind === 'search-path') searchPath = op.path;
      if (
        op.kind === 'create' &&
        (op.object.kind === 'table' || op.object.kind === 'materialized view')
      )
        created.add(`${op.object.schema}.${op.object.name}`);
    }
  });
  if (parsed.ok) {
    // Rules about the file as migrate runs it: in schemata's transaction or not, decided as migrate decides it.
    const inTransaction = runsInTransaction(parsed.classification, markerComments(parser, sql));
    for (const rule of RULES) {
      for (const f of rule.checkParsed?.({ statements: parsed.statements, inTransaction }) ?? [])
        findings.push({ rule: rule.id, severity: rule.severity, ...f, fix: f.fix ?? rule.fix });
    }
    return sortByPosition(findings);
  }
  // What the parser cannot parse is read by its tokens (a file that parses has no such error),
  // as a whole: what a long file's first pieces held is not reported apart from it.
  findings.length = 0;
  // What follows the error may not even scan (COPY ... FROM STDIN's data lines): then the text before it is read.
  const tokens = scan(parser, sql);
  const fileContext = {
    sql,
    tokens: tokens.length > 0 ? tokens : scan(parser, sql.slice(0, parsed.problem.offset)),
    locate: lineIndex(sql),
  };
  let explained = false;
  for (const rule of RULES) {
    for (const { explainsThrough, ...f } of rule.checkFile?.(fileContext) ?? []) {
      findings.push({ rule: rule.id, severity: rule.severity, ...f, fix: f.fix ?? rule.fix });
      const line = parsed.problem.at.line;
      if (rule.severity === 'error' && f.at.line <= line && line <= (explainsThrough ?? f.at.line))
        explained = true;
    }
  }
  // A rule that explains the syntax error (on its line, or lines it covers) says it better than the parser.
  if (!explained) {
    const { problem } = parsed;
    findings.push({
      rule: problem.kind === 'meta-command' ? 'psql-meta-command' : 'syntax-error',
      severity: 'error',
      at: problem.at,
      message: problem.message,
      fix:
        problem.kind === 'meta-command'
          ? 'Remove it: schemata sends each file to the server as SQL.'
          : 'Fix the SQL at this position.',
    });
  }
  return sortByPosition(findings);
}

function sortByPosition(findings: LintFinding[]): LintFinding[] {
  return findings.sort((a, b) => a.at.line - b.at.line || a.at.column - b.at.column);
}
