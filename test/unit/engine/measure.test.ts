import { describe, expect, it } from 'vitest';
import { MEASURE_AFTER_SQL } from '../../../src/engine/measure.js';
import { measureBeforeSql } from '../../../src/engine/tracking.js';
import { loadParser } from '../../../src/sql/parse.js';

const parser = await loadParser();

/** Every object of a parse tree under `node`, depth first. */
function* nodesOf(node: unknown): Generator<Record<string, unknown>> {
  if (Array.isArray(node)) for (const item of node) yield* nodesOf(item);
  else if (node && typeof node === 'object') {
    yield node as Record<string, unknown>;
    for (const value of Object.values(node)) yield* nodesOf(value);
  }
}

/** The value the measurement before the file gives schemata.traced: the parse tree of set_config's second argument. */
function tracedValue(capture: number[]): Record<string, unknown> {
  const sql = measureBeforeSql(
    { capture, values: [], updatesRead: [], widened: [], forced: false, tablesUpTo: 100 },
    { functions: false },
  ).join(';\n');
  for (const node of nodesOf(parser.parseSync(sql))) {
    const call = node.FuncCall as { funcname?: unknown[]; args?: unknown[] } | undefined;
    const name = call?.funcname?.map((n) => (n as { String: { sval: string } }).String.sval);
    const first = call?.args?.[0] as { A_Const?: { sval?: { sval?: string } } } | undefined;
    if (name?.at(-1) === 'set_config' && first?.A_Const?.sval?.sval === 'schemata.traced')
      return call!.args![1] as Record<string, unknown>;
  }
  throw new Error('no set_config of schemata.traced');
}

describe('the measurement around a file', () => {
  it('sets no table traced without the statement that lists them when the forecast traced none', () => {
    const none = tracedValue([]).A_Const as { sval?: { sval?: string } } | undefined;
    expect(none?.sval?.sval).toBe('[]');
    expect(tracedValue([16384])).toHaveProperty('SubLink');
  });

  it('looks for losses before COMMIT only when a table is traced', () => {
    const tree = parser.parsePlPgSQLSync(MEASURE_AFTER_SQL);
    // The statement that reads the losses into `lost` (and the tables' rows into `held`).
    const lostAssignments = (node: unknown) =>
      [...nodesOf(node)].filter(
        (n) =>
          (n.PLpgSQL_stmt_execsql as { sqlstmt?: unknown } | undefined) &&
          JSON.stringify(n).includes('SELECT l.lost, l.held'),
      );
    const guarded = [...nodesOf(tree)].filter(
      (n) =>
        n.PLpgSQL_stmt_if &&
        JSON.stringify((n.PLpgSQL_stmt_if as { cond: unknown }).cond).includes('schemata.traced'),
    );
    expect(lostAssignments(tree)).toHaveLength(1);
    expect(guarded.flatMap((n) => lostAssignments(n))).toHaveLength(1);
  });

  it('is its statements one each, as a batch counts them', () => {
    for (const functions of [true, false])
      for (const statement of measureBeforeSql(
        {
          capture: [16384],
          values: [],
          updatesRead: [],
          widened: [],
          forced: false,
          tablesUpTo: 100,
        },
        { functions },
      ))
        expect(parser.parseSync(statement).stmts).toHaveLength(1);
  });
});
