import type { ObjectRef, Operation } from '../operations.js';
import type { Rule } from './rule.js';

const name = (ref: ObjectRef) => (ref.schema ? `${ref.schema}.${ref.name}` : ref.name);

/** How a step that destroys data when its target holds rows reads in a finding; undefined for one that does not. */
function destructiveStep(op: Operation): string | undefined {
  const cascade = op.kind === 'drop' && op.cascade ? ' CASCADE' : '';
  switch (op.kind) {
    case 'drop':
      if (op.object.kind === 'table' || op.object.kind === 'materialized view') return `DROP ${op.object.kind.toUpperCase()} ${name(op.object)}${cascade}`;
      if (op.object.kind === 'column') return `ALTER TABLE ${name({ ...op.object, name: op.object.table ?? '' })} DROP COLUMN ${op.object.name}`;
      // Without CASCADE, PostgreSQL itself refuses while anything depends on them.
      if ((op.object.kind === 'schema' || op.object.kind === 'type' || op.object.kind === 'domain') && op.cascade) return `DROP ${op.object.kind.toUpperCase()} ${name(op.object)}${cascade}`;
      return undefined;
    case 'delete-rows':
      if (!op.wholesale) return undefined;
      return op.verb === 'TRUNCATE' ? `TRUNCATE ${name(op.table)}${op.cascade ? ' CASCADE' : ''}` : `removing every row of ${name(op.table)}`;
    case 'write-rows':
      return op.wholesale ? `UPDATE ${name(op.table)} without a WHERE that limits it` : undefined;
    case 'alter-type':
      return `ALTER TABLE ${name({ ...op.column, name: op.column.table ?? '' })} ALTER COLUMN ${op.column.name} TYPE ${op.type.name}${op.type.modifiers.length ? `(${op.type.modifiers.join(',')})` : ''}`;
    case 'drop-owned':
      return `DROP OWNED BY ${op.roles.join(', ')}`;
    default:
      return undefined;
  }
}

/** SPEC §5: these steps lose data; migrate refuses them on tables that hold rows unless forced. */
export const destructiveStatement: Rule = {
  id: 'destructive-statement',
  severity: 'warning',
  summary: 'This statement destroys data: migrate refuses it while its target holds rows, unless forced.',
  fix: 'Make sure the data is no longer needed (or moved), then add "-- schemata:force" to the file or run migrate with --force; prefer expand-and-contract over in-place changes. A widening type change (int to bigint, a longer varchar) is allowed.',
  check({ statement, operations }) {
    return operations
      .filter((op) => op.at.line === statement.at.line && op.at.column === statement.at.column)
      .flatMap((op) => {
        const step = destructiveStep(op);
        return step ? [{ at: statement.at, message: `${step}${op.via ? ` (in ${op.via})` : ''} destroys data when its target holds rows: migrate checks first.` }] : [];
      });
  },
};
