import { blockLeftOpen, transactionStmtOf } from '../classify.js';
import type { Statement } from '../statements.js';
import type { Rule } from './rule.js';

/** BEGIN, START TRANSACTION, COMMIT AND CHAIN or ROLLBACK AND CHAIN, as the file wrote it. */
const wordOf = (begin: Statement) => {
  const kind = transactionStmtOf(begin)?.kind;
  return kind === 'TRANS_STMT_START'
    ? 'START TRANSACTION'
    : kind === 'TRANS_STMT_COMMIT'
      ? 'COMMIT AND CHAIN'
      : kind === 'TRANS_STMT_ROLLBACK'
        ? 'ROLLBACK AND CHAIN'
        : 'BEGIN';
};

/** What a block the file never closes does, one text for lint and for migrate's plan (--dry-run says it in the same words). */
export function blockNeverClosedMessage(begin: Statement): string {
  return (
    `${wordOf(begin)} opens a transaction block that the file never closes: psql would roll it back when its session ends, ` +
    `losing what the block did; schemata commits it when the file ends, measured as the file's other blocks.`
  );
}

/**
 * A file that runs outside schemata's transaction and ends inside a block
 * of its own (BEGIN with no COMMIT after it): most often a COMMIT
 * forgotten. sql/classify.ts blockLeftOpen decides it for lint, the plan
 * and the run alike.
 */
export const transactionBlockNeverClosed: Rule = {
  id: 'transaction-block-never-closed',
  severity: 'warning',
  summary:
    'A BEGIN with no COMMIT after it leaves its block open at the end of the file: psql would roll it back.',
  fix: 'COMMIT;',
  checkParsed({ statements, inTransaction }) {
    const begin = blockLeftOpen(statements, inTransaction);
    if (!begin) return [];
    return [
      {
        at: begin.at,
        message: blockNeverClosedMessage(begin),
        fix: [`-- where the block that line ${begin.at.line} opens should end:`, 'COMMIT;'].join(
          '\n',
        ),
      },
    ];
  },
};
