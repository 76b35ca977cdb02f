import { destructiveStep, targetOf, writtenName } from '../destructive.js';
import type { Rule } from './rule.js';

/** SPEC §5: these steps lose data; migrate refuses them on targets that hold rows unless forced. */
export const destructiveStatement: Rule = {
  id: 'destructive-statement',
  severity: 'warning',
  summary:
    'This statement destroys data: migrate refuses it while its target holds rows, unless forced.',
  fix: 'Make sure the data is no longer needed (or moved), then add "-- schemata:force" to the file or run migrate with --force; prefer expand-and-contract over in-place changes. A type change that keeps every value (int to bigint, a longer varchar, text to citext, an enum\'s labels to another enum) is allowed.',
  check({ statement, operations }) {
    return operations.flatMap((op) => {
      const target = targetOf(op);
      const step = destructiveStep(op, target ? writtenName(target) : '');
      return step
        ? [
            {
              at: statement.at,
              message:
                // Lint does not see the column's type now: a change that keeps every value is migrate's to tell.
                op.kind === 'alter-type' && !op.type.computed
                  ? `${step}${op.via ? ` (in ${op.via})` : ''} would destroy data unless it keeps every value: migrate refuses it while its target holds rows, unless the column's type now widens to it (int to bigint, a longer varchar, text to citext, an enum's labels to another enum).`
                  : op.kind === 'drop' && op.attribute
                    ? `${step}${op.via ? ` (in ${op.via})` : ''} would destroy data: every value of a column of the type (or of a type built on it) loses the attribute, and migrate refuses it while such a column's table holds rows.`
                    : `${step}${op.via ? ` (in ${op.via})` : ''} would destroy data: migrate refuses it while its target holds rows.`,
            },
          ]
        : [];
    });
  },
};
