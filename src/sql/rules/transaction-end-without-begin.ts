import { endsOfNoTransaction, placesInOwnBlocks } from '../classify.js';
import type { Statement } from '../statements.js';
import type { Rule } from './rule.js';

const undoes = (end: Statement) =>
  (end.node as { TransactionStmt?: { kind?: string } }).TransactionStmt?.kind ===
  'TRANS_STMT_ROLLBACK';

/** END is a COMMIT, ABORT a ROLLBACK: named by what they do, at the position lint and the plan give. */
const wordOf = (end: Statement) => (undoes(end) ? 'ROLLBACK' : 'COMMIT');

/**
 * What a COMMIT or ROLLBACK with no BEGIN of the file before it does, one
 * text for lint and for migrate's plan (--dry-run says it in the same words).
 */
export function endOfNoTransactionMessage(end: Statement): string {
  return (
    `${wordOf(end)} ends no transaction of this file: no BEGIN of the file is open before it, so the statements before it ` +
    `have already committed one by one (schemata runs the file outside its own transaction, as psql would)` +
    (undoes(end) ? ', and it undoes none of them.' : '.')
  );
}

/**
 * psql, and schemata as psql, commit each statement outside a BEGIN on its
 * own: a ROLLBACK (or COMMIT) with no BEGIN before it ends nothing, which is
 * rarely what its author meant. A file run in schemata's transaction (a
 * trailing COMMIT alone) is no such file: classify.ts decides it for lint
 * and migrate alike.
 */
export const transactionEndWithoutBegin: Rule = {
  id: 'transaction-end-without-begin',
  severity: 'warning',
  summary:
    'A COMMIT or ROLLBACK with no BEGIN before it ends no transaction: what came before it has committed already.',
  fix: 'BEGIN;',
  checkParsed({ statements, inTransaction }) {
    const places = placesInOwnBlocks(statements);
    return endsOfNoTransaction(statements, inTransaction).map((end) => {
      // Where the transaction it should end would start: after the file's last block before it, or at the top.
      const index = statements.indexOf(end);
      let from = index;
      while (from > 0 && places[from - 1] !== 'closes' && places[from - 1] !== 'closes-nothing')
        from--;
      const word = wordOf(end);
      return {
        at: end.at,
        message: endOfNoTransactionMessage(end),
        fix:
          from === index
            ? `-- delete the ${word} at line ${end.at.line}: it ends nothing`
            : [
                `-- before line ${statements[from]!.at.line}, where what the ${word} should end begins:`,
                'BEGIN;',
                `-- (or delete the ${word} at line ${end.at.line})`,
              ].join('\n'),
      };
    });
  },
};
