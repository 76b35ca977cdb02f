import type { HeldTable, TableNow } from '../catalog/rows.js';
import { groupedDigits, holderOf, ROW_COUNT_CAP } from '../catalog/rows.js';
import type { Holder } from './protect.js';

/** What a statement that committed on its own took from the tables that held rows before it. */
export interface CommittedLoss {
  /** One sentence per loss, as the measurement in a transaction says them. */
  losses: string[];
  holders: Holder[];
  /**
   * Tables emptied by deletes (their storage kept): another session may have deleted those rows meanwhile (a
   * queue the application drains), so that they are said, not taken for the statement's loss.
   */
  emptied: string[];
}

/** Its rows as a refusal says them: counted up to the cap, or none this role can count. */
const held = (t: HeldTable) =>
  t.rows < 0
    ? 'rows this role cannot count'
    : t.rows > ROW_COUNT_CAP
      ? `more than ${groupedDigits(ROW_COUNT_CAP)} rows`
      : t.rows === 1
        ? '1 row'
        : `${t.rows} rows`;

/**
 * The losses of tables that held rows before a statement that ran beyond the
 * measurement (a DO block or procedure that COMMITs): gone, emptied with its
 * storage replaced, a column gone, or a column's type changed by a rewrite
 * other than a widening the forecast allowed (`widened`: table OID and
 * column name).
 * Columns are matched by number: a renamed column is no loss. A table
 * emptied by deletes is told apart (`emptied`): outside a transaction, rows
 * another session deleted meanwhile look the same. Pure.
 */
export function committedLosses(
  before: readonly HeldTable[],
  now: readonly TableNow[],
  widened: ReadonlyArray<{ oid: number; column: string }>,
): CommittedLoss {
  const after = new Map(now.map((t) => [t.oid, t]));
  const losses: string[] = [];
  const emptied: string[] = [];
  const holders = new Map<string, Holder>();
  for (const table of before) {
    const found: string[] = [];
    const current = after.get(table.oid);
    if (!current?.exists) found.push(`table ${table.identity} held ${held(table)} and is gone`);
    else {
      if (!current.hasRows && current.node !== table.node)
        found.push(
          `table ${table.identity} held ${held(table)} and is now empty (its storage was replaced: TRUNCATE or a rewrite)`,
        );
      else if (!current.hasRows)
        emptied.push(
          `table ${table.identity} held ${held(table)} and is now empty: its rows were deleted, by it or by another session meanwhile (outside a transaction, which cannot be told)`,
        );
      const columns = new Map(current.columns.map((c) => [c.num, c]));
      for (const column of table.columns) {
        const same = columns.get(column.num);
        if (!same)
          found.push(
            `column ${column.name} of table ${table.identity} held data (${held(table)}) and is gone`,
          );
        else if (
          same.type !== column.type &&
          !widened.some((w) => w.oid === table.oid && w.column === column.name) &&
          // Its storage kept, nothing was rewritten: every value is as it was (engine/measure.ts STORAGE_KEPT).
          current.node !== table.node
        )
          found.push(
            `column ${column.name} of table ${table.identity} (${held(table)}) changed type from ${column.type} to ${same.type}`,
          );
      }
    }
    if (found.length === 0) continue;
    losses.push(...found);
    holders.set(table.identity, holderOf(table.identity, table.rows));
  }
  return {
    losses,
    emptied,
    holders: [...holders.values()].sort((a, b) =>
      a.table < b.table ? -1 : a.table > b.table ? 1 : 0,
    ),
  };
}
