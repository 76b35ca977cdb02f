import type { Rule } from './rule.js';

/** Why work in another session is refused: one text for lint, migrate's refusal and a forced run's warning. */
export const ELSEWHERE_REASON =
  "what it does there is outside this migration's transaction: data protection cannot measure it, and a rollback cannot undo it";

export const WORK_ELSEWHERE_FIX =
  'Do that work apart from the migration; where what it does is safe, add "-- schemata:force" to the file or run migrate with --force.';

/** dblink's SQL-running calls and COPY ... PROGRAM (sql/operations.ts `elsewhere`): migrate refuses them unless forced. */
export const workInAnotherSession: Rule = {
  id: 'work-in-another-session',
  severity: 'warning',
  summary:
    "dblink and COPY ... PROGRAM run work in another session or process, beyond the migration's transaction: migrate refuses them unless forced.",
  fix: WORK_ELSEWHERE_FIX,
  check({ statement, operations }) {
    return operations.flatMap((op) =>
      op.kind === 'opaque' && op.elsewhere
        ? [
            {
              at: statement.at,
              message: `${op.why}${op.via ? ` (in ${op.via})` : ''}, and ${ELSEWHERE_REASON}: migrate refuses it unless forced.`,
            },
          ]
        : [],
    );
  },
};
