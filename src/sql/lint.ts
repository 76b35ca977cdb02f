import { readMigration } from './read.js';
import { RULES } from './rules/index.js';
import { lineIndex, nodeKind, type Location, type Parser, scan, type Token } from './statements.js';

export interface LintFinding {
  rule: string;
  severity: 'error' | 'warning';
  at: Location;
  message: string;
  /** How to write it instead. */
  fix: string;
}

/**
 * Lints one file: a syntax error (with the rule that explains it, when one
 * does) or the findings of every rule on every statement. Pure: text in,
 * findings out, in file order.
 */
export function lintFile(parser: Parser, sql: string): LintFinding[] {
  const findings: LintFinding[] = [];
  let inExplicitTransaction = false;
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
    if (nodeKind(statement.node) === 'TransactionStmt') {
      const kind = (statement.node as { TransactionStmt: { kind?: string } }).TransactionStmt.kind;
      if (kind === 'TRANS_STMT_BEGIN' || kind === 'TRANS_STMT_START') inExplicitTransaction = true;
      if (kind === 'TRANS_STMT_COMMIT' || kind === 'TRANS_STMT_ROLLBACK')
        inExplicitTransaction = false;
    }
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
  if (parsed.ok) return sortByPosition(findings);
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
