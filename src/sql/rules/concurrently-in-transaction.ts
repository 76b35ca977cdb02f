import { nonTransactionalReason } from '../classify.js';
import type { Rule } from './rule.js';

/** PostgreSQL refuses CREATE INDEX CONCURRENTLY and its kind inside BEGIN ... COMMIT. */
export const concurrentlyInTransaction: Rule = {
  id: 'concurrently-in-transaction',
  severity: 'error',
  summary:
    'This statement cannot run inside a transaction block, and the file wraps it in BEGIN ... COMMIT.',
  fix: 'Remove BEGIN/COMMIT from the file (schemata runs such a file outside a transaction by itself), or move the statement into a migration of its own.',
  check({ statement, inExplicitTransaction }) {
    const reason = nonTransactionalReason(statement);
    if (!reason || !inExplicitTransaction) return [];
    return [
      {
        at: statement.at,
        message: `${reason} inside the file's own BEGIN ... COMMIT: PostgreSQL refuses it there.`,
      },
    ];
  },
};
