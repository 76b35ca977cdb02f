import { addColumnWithoutIfNotExists } from './add-column-without-if-not-exists.js';
import { addConstraintIfNotExists } from './add-constraint-if-not-exists.js';
import { concurrentlyInTransaction } from './concurrently-in-transaction.js';
import { copyFromStdin } from './copy-from-stdin.js';
import { createWithoutIfNotExists } from './create-without-if-not-exists.js';
import { destructiveStatement } from './destructive-statement.js';
import type { Rule } from './rule.js';

export type { Finding, Rule } from './rule.js';

/** Every lint rule, in the order findings of one line are listed. */
export const RULES: readonly Rule[] = [
  addConstraintIfNotExists,
  concurrentlyInTransaction,
  copyFromStdin,
  createWithoutIfNotExists,
  addColumnWithoutIfNotExists,
  destructiveStatement,
];
