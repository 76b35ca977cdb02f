import type { Rule } from './rule.js';

/** The seed's broken deploy: PostgreSQL has no ADD CONSTRAINT IF NOT EXISTS, so the file does not even parse. */
export const addConstraintIfNotExists: Rule = {
  id: 'add-constraint-if-not-exists',
  severity: 'error',
  summary:
    'ADD CONSTRAINT IF NOT EXISTS is not PostgreSQL: it is a syntax error, and the whole migration fails.',
  fix: [
    'Guard the constraint with the catalog instead:',
    'DO $$',
    'BEGIN',
    "  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'my_check' AND conrelid = 'my_schema.my_table'::regclass) THEN",
    '    ALTER TABLE my_schema.my_table ADD CONSTRAINT my_check CHECK (...);',
    '  END IF;',
    'END',
    '$$;',
  ].join('\n'),
  checkFile: ({ tokens, locate }) => {
    const findings = [];
    for (let i = 0; i + 4 < tokens.length; i++) {
      const words = tokens.slice(i, i + 5).map((t) => t.keyword);
      if (words.join(' ') === 'ADD CONSTRAINT IF NOT EXISTS') {
        findings.push({
          at: locate(tokens[i + 2]!.start),
          message: 'ADD CONSTRAINT IF NOT EXISTS is a syntax error in PostgreSQL.',
        });
      }
    }
    return findings;
  },
};
