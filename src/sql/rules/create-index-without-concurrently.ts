import { nodeKind } from '../statements.js';
import type { Rule } from './rule.js';
import { madeInFile, type Obj, tableName } from './tables.js';

/**
 * CREATE INDEX takes a SHARE lock on its table for the whole build: every
 * INSERT, UPDATE and DELETE waits, minutes on a large table. CONCURRENTLY
 * builds it while writes go on (but cannot run in a transaction).
 */
export const createIndexWithoutConcurrently: Rule = {
  id: 'create-index-without-concurrently',
  severity: 'warning',
  summary:
    'CREATE INDEX without CONCURRENTLY blocks every write to an existing table while the index builds.',
  fix: '-- schemata:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS my_index ON my_schema.my_table (my_column);',
  check(context) {
    const { statement } = context;
    if (nodeKind(statement.node) !== 'IndexStmt') return [];
    const index = (statement.node as Obj).IndexStmt as Obj;
    if (index.concurrent || madeInFile(context, index.relation)) return [];
    const table = tableName(index.relation);
    return [
      {
        at: statement.at,
        table,
        message: `CREATE INDEX${index.idxname ? ` ${index.idxname as string}` : ''} on ${table} takes a SHARE lock: every write to ${table} waits until the index is built.`,
        fix: concurrently(
          context.tokens(),
          statement.text,
          // IF NOT EXISTS needs a name; an unnamed index gets a new one each run.
          Boolean(index.if_not_exists) || !index.idxname,
        ),
      },
    ];
  },
};

/**
 * The statement itself with CONCURRENTLY (and IF NOT EXISTS for a named index,
 * as create-without-if-not-exists asks) after its INDEX keyword,
 * in a file of its own that runs outside a transaction.
 */
function concurrently(
  tokens: ReadonlyArray<{ start: number; end: number; keyword: string | undefined }>,
  text: string,
  hasIfNotExists: boolean,
): string {
  const index = tokens.find((t) => t.keyword === 'INDEX');
  const rewritten = index
    ? `${text.slice(0, index.end)} CONCURRENTLY${hasIfNotExists ? '' : ' IF NOT EXISTS'}${text.slice(index.end)}`
    : text;
  return [
    '-- schemata:no-transaction',
    '-- (a migration file of its own: CONCURRENTLY cannot run inside a transaction;',
    '-- a build that fails leaves an INVALID index: drop it before the next try)',
    `${rewritten};`,
  ].join('\n');
}
