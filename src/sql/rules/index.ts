import { addColumnWithoutIfNotExists } from './add-column-without-if-not-exists.js';
import { addConstraintIfNotExists } from './add-constraint-if-not-exists.js';
import { concurrentlyInTransaction } from './concurrently-in-transaction.js';
import { copyFromStdin } from './copy-from-stdin.js';
import { createIndexWithoutConcurrently } from './create-index-without-concurrently.js';
import { createWithoutIfNotExists } from './create-without-if-not-exists.js';
import { destructiveStatement } from './destructive-statement.js';
import { foreignKeyWithoutNotValid } from './foreign-key-without-not-valid.js';
import type { Rule } from './rule.js';
import { transactionBlockNeverClosed } from './transaction-block-never-closed.js';
import { transactionEndWithoutBegin } from './transaction-end-without-begin.js';
import { setNotNullWithoutCheck } from './set-not-null-without-check.js';
import { twoPhaseCommit } from './two-phase-commit.js';
import { typeChangeRewrites } from './type-change-rewrites.js';
import { volatileDefault } from './volatile-default.js';
import { workInAnotherSession } from './work-in-another-session.js';

export type { Finding, Rule } from './rule.js';

/** Every lint rule, in the order findings of one line are listed. */
export const RULES: readonly Rule[] = [
  addConstraintIfNotExists,
  concurrentlyInTransaction,
  transactionEndWithoutBegin,
  transactionBlockNeverClosed,
  copyFromStdin,
  twoPhaseCommit,
  createWithoutIfNotExists,
  addColumnWithoutIfNotExists,
  destructiveStatement,
  workInAnotherSession,
  createIndexWithoutConcurrently,
  foreignKeyWithoutNotValid,
  setNotNullWithoutCheck,
  volatileDefault,
  typeChangeRewrites,
];
