import { twoPhaseCommitOf } from '../classify.js';
import type { Rule } from './rule.js';

/** Why two-phase commit cannot be part of a migration: one text for lint and for migrate's refusal. */
export function twoPhaseCommitMessage(words: string): string {
  return (
    `${words} is two-phase commit: it hands a transaction to a COMMIT PREPARED that data protection's ` +
    "measurement and the migration's record never reach, and a prepared transaction holds its locks until then."
  );
}

export const TWO_PHASE_COMMIT_FIX =
  "Remove it: schemata commits each migration itself (or each BEGIN ... COMMIT block of the file's own).";

/** PREPARE TRANSACTION, COMMIT PREPARED, ROLLBACK PREPARED: refused by migrate before anything runs. */
export const twoPhaseCommit: Rule = {
  id: 'two-phase-commit',
  severity: 'error',
  summary:
    'PREPARE TRANSACTION, COMMIT PREPARED and ROLLBACK PREPARED hand a transaction to a later commit that no measurement or record of the migration reaches.',
  fix: TWO_PHASE_COMMIT_FIX,
  check({ statement }) {
    const words = twoPhaseCommitOf(statement);
    return words === undefined
      ? []
      : [{ at: statement.at, message: twoPhaseCommitMessage(words), fix: TWO_PHASE_COMMIT_FIX }];
  },
};
