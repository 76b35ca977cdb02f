import type { FileContext, Rule } from './rule.js';

/** The guarded form, for the table and constraint of the statement where they can be read, else with placeholders. */
function guarded(table: string, name: string, definition: string): string {
  // conname is the name as stored: an unquoted one folds to lower case, a quoted one keeps its case.
  const stored = name.startsWith('"') ? name.slice(1, -1).replace(/""/g, '"') : name.toLowerCase();
  const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;
  return [
    'Guard the constraint with the catalog instead:',
    'DO $$',
    'BEGIN',
    `  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = ${literal(stored)} AND conrelid = ${literal(table)}::regclass) THEN`,
    `    ALTER TABLE ${table} ADD CONSTRAINT ${name} ${definition};`,
    '  END IF;',
    'END',
    '$$;',
  ].join('\n');
}

/**
 * The table, constraint name and definition of the `ALTER TABLE ... ADD
 * CONSTRAINT IF NOT EXISTS name ...` whose ADD is token `add`, read from the
 * tokens (the statement does not parse); undefined where they cannot be read.
 */
function statementParts(
  { sql, tokens }: FileContext,
  add: number,
): { table: string; name: string; definition: string } | undefined {
  let table = -1;
  for (let j = add - 1; j >= 1; j--) {
    if (tokens[j]!.text === ';') return undefined;
    if (tokens[j]!.keyword === 'TABLE' && tokens[j - 1]!.keyword === 'ALTER') {
      table = j + 1;
      break;
    }
  }
  if (table === -1) return undefined;
  while (['IF', 'EXISTS', 'ONLY'].includes(tokens[table]?.keyword ?? '')) table++;
  const name = tokens[add + 5];
  const first = tokens[add + 6];
  if (!name || !first || table >= add) return undefined;
  // The definition runs to the end of this clause: a comma or semicolon outside parentheses.
  let depth = 0;
  let end = add + 6;
  for (; end < tokens.length; end++) {
    const text = tokens[end]!.text;
    if (text === '(') depth++;
    else if (text === ')') depth--;
    else if (depth === 0 && (text === ',' || text === ';')) break;
  }
  const last = tokens[end - 1]!;
  return {
    table: sql.slice(tokens[table]!.start, tokens[add]!.start).trim(),
    name: name.text,
    definition: sql.slice(first.start, last.start + last.text.length).trim(),
  };
}

/** The seed's broken deploy: PostgreSQL has no ADD CONSTRAINT IF NOT EXISTS, so the file does not even parse. */
export const addConstraintIfNotExists: Rule = {
  id: 'add-constraint-if-not-exists',
  severity: 'error',
  summary:
    'ADD CONSTRAINT IF NOT EXISTS is not PostgreSQL: it is a syntax error, and the whole migration fails.',
  fix: guarded('my_schema.my_table', 'my_check', 'CHECK (...)'),
  checkFile: (context) => {
    const { tokens, locate } = context;
    const findings = [];
    for (let i = 0; i + 4 < tokens.length; i++) {
      const words = tokens.slice(i, i + 5).map((t) => t.keyword);
      if (words.join(' ') === 'ADD CONSTRAINT IF NOT EXISTS') {
        const parts = statementParts(context, i);
        findings.push({
          at: locate(tokens[i + 2]!.start),
          message: 'ADD CONSTRAINT IF NOT EXISTS is a syntax error in PostgreSQL.',
          ...(parts ? { fix: guarded(parts.table, parts.name, parts.definition) } : {}),
        });
      }
    }
    return findings;
  },
};
