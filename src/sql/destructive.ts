import type { ObjectRef, Operation } from './operations.js';
import { plainIdent } from './quote.js';

/** A name as written: `workspace.items`, or `items` when unqualified. */
export const writtenName = (ref: Pick<ObjectRef, 'schema' | 'name' | 'unqualified'>): string =>
  ref.schema && !ref.unqualified ? `${ref.schema}.${ref.name}` : ref.name;

/** The object whose data a destructive operation takes: the table of a column, the table of rows. */
export function targetOf(op: Operation): ObjectRef | undefined {
  switch (op.kind) {
    case 'drop':
      return op.object.kind === 'column'
        ? { ...op.object, kind: 'table', name: op.object.table ?? '' }
        : op.object;
    case 'delete-rows':
    case 'write-rows':
      return op.table;
    case 'alter-type':
      return { ...op.column, kind: 'table', name: op.column.table ?? '' };
    default:
      return undefined;
  }
}

/**
 * How a step that destroys data when its target holds rows reads, with its
 * target named `target` (as written for lint, as resolved for data
 * protection); undefined for a step that never does. One text for the lint
 * warning and the refusal (SPEC §5).
 */
export function destructiveStep(op: Operation, target: string): string | undefined {
  switch (op.kind) {
    case 'drop': {
      const cascade = op.cascade ? ' CASCADE' : '';
      if (op.object.kind === 'table' || op.object.kind === 'materialized view')
        return `DROP ${op.object.kind.toUpperCase()} ${target}${cascade}`;
      if (op.object.kind === 'column')
        return op.attribute
          ? `ALTER TYPE ${target} DROP ATTRIBUTE ${plainIdent(op.object.name)}${cascade}`
          : `ALTER TABLE ${target} DROP COLUMN ${plainIdent(op.object.name)}`;
      // Without CASCADE, PostgreSQL itself refuses while anything depends on them.
      if (
        (op.object.kind === 'schema' || op.object.kind === 'type' || op.object.kind === 'domain') &&
        op.cascade
      )
        return `DROP ${op.object.kind.toUpperCase()} ${target}${cascade}`;
      return undefined;
    }
    case 'delete-rows': {
      if (!op.wholesale) return undefined;
      const only = op.only ? 'ONLY ' : '';
      if (op.verb === 'TRUNCATE') return `TRUNCATE ${only}${target}${op.cascade ? ' CASCADE' : ''}`;
      return op.verb === 'MERGE'
        ? `MERGE INTO ${target} ... THEN DELETE`
        : `DELETE FROM ${only}${target} without a WHERE that limits it`;
    }
    case 'write-rows':
      return op.wholesale
        ? `UPDATE ${op.only ? 'ONLY ' : ''}${target} without a WHERE that limits it`
        : undefined;
    case 'alter-type':
      return `ALTER TABLE ${target} ALTER COLUMN ${plainIdent(op.column.name)} TYPE ${op.type.name}${op.type.modifiers.length > 0 ? `(${op.type.modifiers.join(',')})` : ''}${op.type.array ? '[]' : ''}`;
    case 'drop-owned':
      return `DROP OWNED BY ${op.roles.join(', ')}`;
    // Named by itself, as DROP OWNED is: a database is no object of this one's catalog.
    case 'drop-database':
      return `DROP DATABASE ${plainIdent(op.name)}`;
    default:
      return undefined;
  }
}
