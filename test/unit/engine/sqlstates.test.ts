import { describe, expect, it } from 'vitest';
import { MIGRATION_TAKEN_SQLSTATE } from '../../../src/engine/functions.js';
import { RUN_LOCK_BUSY_SQLSTATE } from '../../../src/engine/lock.js';
import {
  COUNTERS_OFF_SQLSTATE,
  LOSS_SQLSTATE,
  SUSPECT_SQLSTATE,
} from '../../../src/engine/measure.js';
import { NOT_REVERSED_SQLSTATE } from '../../../src/engine/reversal.js';

/*
 * The codes schemata's own statements raise in a migration's batch: the
 * session tells a refusal, a second run, a busy lock or a down left undone
 * by the code alone, so no two may share one. (A busy run lock and a suspect
 * once shared SCH06, told apart only by where in the batch they came; the
 * counters' code then took a down's SCH07, and a down left undone read as
 * counters turned off.)
 */
describe("schemata's own SQLSTATEs", () => {
  it('are all different, and none is PostgreSQL’s own class', () => {
    const codes = [
      LOSS_SQLSTATE,
      MIGRATION_TAKEN_SQLSTATE,
      SUSPECT_SQLSTATE,
      NOT_REVERSED_SQLSTATE,
      RUN_LOCK_BUSY_SQLSTATE,
      COUNTERS_OFF_SQLSTATE,
    ];
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code).toMatch(/^SCH\d\d$/);
  });
});
