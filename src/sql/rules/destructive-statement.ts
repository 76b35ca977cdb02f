import { describeStep } from '../classify.js';
import type { Rule } from './rule.js';

/** SPEC §5: these statements lose data; migrate refuses them on tables that hold rows unless --force. */
export const destructiveStatement: Rule = {
  id: 'destructive-statement',
  severity: 'warning',
  summary: 'This statement destroys data: migrate refuses it while its target holds rows, unless --force is given.',
  fix: 'Make sure the data is no longer needed (or moved), then run migrate with --force; prefer expand-and-contract over in-place changes.',
  check({ statement, classification }) {
    return classification.destructive
      .filter((step) => step.statement === statement)
      .map((step) => ({ at: statement.at, message: `${describeStep(step)} destroys data: migrate checks its target for rows first.` }));
  },
};
