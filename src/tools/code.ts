import { parse } from '@babel/parser';
import type { Expression, Node, Statement } from '@babel/types';
import { quoteLiteral } from '../sql/quote.js';
import { type Parser, scan } from '../sql/statements.js';

/** A literal TypeORM passes as a query parameter. */
export type LiteralParameter = string | number | boolean | null;

/** One call's SQL, and the literal parameters it passes (TypeORM's generated view metadata). */
export interface LiteralQuery {
  sql: string;
  parameters?: LiteralParameter[];
}

/** What a migration's up or down function runs, when it runs nothing but literal SQL. */
export type LiteralQueries = { ok: true; sql: LiteralQuery[] } | { ok: false; why: string };

/** A code migration read: its class (TypeORM names its rows by it) and what its up and down run. */
export interface CodeMigration {
  className: string | undefined;
  up: LiteralQueries | undefined;
  down: LiteralQueries | undefined;
}

/**
 * The SQL of a code migration whose `up` (or `down`) does nothing but pass
 * literal SQL to `query` (TypeORM's generated `queryRunner.query(…)`) or `raw`
 * (knex's `knex.raw(…)`, `knex.schema.raw(…)`), awaited or returned, one call
 * per statement. Read with a JavaScript parser, so that a literal is a
 * literal: anything else (a variable, a `${…}`, a parameter list, a loop, a
 * schema builder) is code and is named.
 */
export function readCodeMigration(
  source: string,
  fileName: string,
  callee: 'query' | 'raw',
): CodeMigration | { failed: string } {
  let program: Node[];
  try {
    program = parse(source, {
      sourceType: 'unambiguous',
      plugins: /\.(c|m)?ts$/.test(fileName) ? ['typescript', 'decorators-legacy'] : [],
    }).program.body;
  } catch (error) {
    return { failed: `it does not parse: ${(error as Error).message}` };
  }
  const className = program
    .map((n) =>
      n.type === 'ExportNamedDeclaration' || n.type === 'ExportDefaultDeclaration'
        ? n.declaration
        : n,
    )
    .find((d) => d?.type === 'ClassDeclaration');
  const read = (method: 'up' | 'down') => {
    const body = findMethod(program, method);
    return body === undefined ? undefined : literalQueries(body, method, callee);
  };
  return {
    className: className?.type === 'ClassDeclaration' ? className.id?.name : undefined,
    up: read('up'),
    down: read('down'),
  };
}

function literalQueries(
  body: Statement[] | Expression,
  method: 'up' | 'down',
  callee: 'query' | 'raw',
): LiteralQueries {
  const sql: LiteralQuery[] = [];
  const statements = Array.isArray(body)
    ? body
    : [{ type: 'ReturnStatement', argument: body, loc: body.loc } as Statement];
  for (const statement of statements) {
    const line = statement.loc?.start.line;
    const where = line === undefined ? '' : ` (line ${line})`;
    let expression: Expression | null | undefined;
    if (statement.type === 'ExpressionStatement') expression = statement.expression;
    else if (statement.type === 'ReturnStatement') expression = statement.argument;
    else return { ok: false, why: `its ${method} runs code${where}: a ${statement.type}` };
    if (!expression) continue;
    if (expression.type === 'AwaitExpression') expression = expression.argument;
    const text = literalCall(expression, callee);
    if (text === undefined)
      return {
        ok: false,
        why: `its ${method} runs code${where}, not only ${callee === 'query' ? 'queryRunner.query' : 'knex.raw'} of literal SQL`,
      };
    sql.push(text);
  }
  return { ok: true, sql };
}

/**
 * `x.query('…')` or `x.raw(\`…\`)` with a literal text: the text. TypeORM's
 * generated migrations of a view pass a second argument, an array of literals
 * for its `typeorm_metadata` row (`query(sql, ["public","VIEW",…])`): kept.
 */
function literalCall(expression: Expression, callee: string): LiteralQuery | undefined {
  if (expression.type !== 'CallExpression') return undefined;
  const target = expression.callee;
  if (target.type !== 'MemberExpression' || target.property.type !== 'Identifier') return undefined;
  if (target.property.name !== callee) return undefined;
  const [text, list, ...rest] = expression.arguments;
  if (!text || rest.length > 0) return undefined;
  const sql = literalText(text as Expression);
  if (sql === undefined) return undefined;
  if (!list) return { sql };
  if (callee !== 'query' || list.type !== 'ArrayExpression') return undefined;
  const parameters: LiteralParameter[] = [];
  for (const element of list.elements) {
    if (element?.type === 'NumericLiteral' || element?.type === 'BooleanLiteral')
      parameters.push(element.value);
    else if (element?.type === 'NullLiteral') parameters.push(null);
    else {
      const value = element ? literalText(element as Expression) : undefined;
      if (value === undefined) return undefined;
      parameters.push(value);
    }
  }
  return { sql, parameters };
}

function literalText(node: Expression): string | undefined {
  if (node.type === 'StringLiteral') return node.value;
  if (node.type === 'TemplateLiteral' && node.expressions.length === 0)
    return node.quasis[0]?.value.cooked ?? undefined;
  return undefined;
}

/**
 * The SQL with each `$n` the scanner finds (not inside a string or a
 * comment) replaced by its parameter as a literal; undefined when one names
 * no parameter.
 */
export function inlineParameters(parser: Parser, query: LiteralQuery): string | undefined {
  const { sql, parameters } = query;
  if (!parameters) return sql;
  let text = sql;
  const places = scan(parser, sql).filter((t) => t.kind === 'PARAM');
  for (const place of places.reverse()) {
    const value = parameters[Number(place.text.slice(1)) - 1];
    if (value === undefined) return undefined;
    const literal =
      value === null ? 'NULL' : typeof value === 'string' ? quoteLiteral(value) : String(value);
    text = text.slice(0, place.start) + literal + text.slice(place.end);
  }
  return text;
}

/** The body of `up`: a class method (TypeORM), `export function up`, `export const up = …`, `exports.up = …`. */
function findMethod(program: readonly Node[], name: string): Statement[] | Expression | undefined {
  for (const node of program) {
    const declaration =
      node.type === 'ExportNamedDeclaration' || node.type === 'ExportDefaultDeclaration'
        ? node.declaration
        : node;
    if (!declaration) continue;
    if (declaration.type === 'ClassDeclaration') {
      for (const member of declaration.body.body)
        if (
          member.type === 'ClassMethod' &&
          member.key.type === 'Identifier' &&
          member.key.name === name
        )
          return member.body.body;
    }
    if (declaration.type === 'FunctionDeclaration' && declaration.id?.name === name)
      return declaration.body.body;
    if (declaration.type === 'VariableDeclaration') {
      for (const d of declaration.declarations)
        if (d.id.type === 'Identifier' && d.id.name === name && d.init) return functionBody(d.init);
    }
    if (
      declaration.type === 'ExpressionStatement' &&
      declaration.expression.type === 'AssignmentExpression'
    ) {
      const { left, right } = declaration.expression;
      if (
        left.type === 'MemberExpression' &&
        left.property.type === 'Identifier' &&
        left.property.name === name
      )
        return functionBody(right);
    }
  }
  return undefined;
}

function functionBody(node: Expression): Statement[] | Expression | undefined {
  if (node.type === 'FunctionExpression') return node.body.body;
  if (node.type === 'ArrowFunctionExpression')
    return node.body.type === 'BlockStatement' ? node.body.body : node.body;
  return undefined;
}

/** The calls' SQL with their parameters in place; undefined when a `$n` names no parameter. */
export function statementsOf(
  parser: Parser,
  queries: readonly LiteralQuery[],
): string[] | undefined {
  const statements: string[] = [];
  for (const query of queries) {
    const text = inlineParameters(parser, query);
    if (text === undefined) return undefined;
    statements.push(text);
  }
  return statements;
}

/** Statements joined as one file: each ends with a semicolon, one per line. */
export function joinStatements(header: string, sql: readonly string[]): string {
  return `${header}\n${sql.map((s) => (/;\s*$/.test(s) ? s.trimEnd() : `${s.trimEnd()};`)).join('\n')}\n`;
}
