import { describe, expect, it } from 'vitest';
import { chooseTenants, fleetProgress, parseShard } from '../../../src/engine/fleet.js';

const tenants = Array.from({ length: 23 }, (_, i) => ({
  name: `t_${String(i).padStart(2, '0')}`,
  schema: `t_${i}`,
}));

describe('which tenants a process takes', () => {
  it.each([1, 2, 3, 4, 7, 23, 30])('%i shards: every tenant exactly once', (of) => {
    const taken = Array.from({ length: of }, (_, index) =>
      chooseTenants('tenant', [...tenants].reverse(), undefined, { index, of }).map((t) => t.name),
    ).flat();
    expect(taken.sort()).toEqual(tenants.map((t) => t.name));
  });

  it('--tenants names some, in name order; a name the set lacks is a usage error naming it', () => {
    expect(
      chooseTenants('tenant', tenants, ['t_05', 't_01'], undefined).map((t) => t.name),
    ).toEqual(['t_01', 't_05']);
    expect(() => chooseTenants('tenant', tenants, ['t_99'], undefined)).toThrow(
      'Set "tenant" has no tenant named "t_99"',
    );
  });

  it.each(['4', '4/4', '-1/4', '1/0', 'a/b', '1/4/2'])('--shard %s is refused', (text) => {
    expect(() => parseShard(text)).toThrow('is not I/N with 0 <= I < N');
  });

  it('--shard 0/4 and 3/4 are read', () => {
    expect(parseShard('0/4')).toEqual({ index: 0, of: 4 });
    expect(parseShard(' 3/4 ')).toEqual({ index: 3, of: 4 });
    expect(parseShard(undefined)).toBeUndefined();
  });
});

describe("the fleet's progress", () => {
  const now = (done: number, failed: string[], inFlight: string[]) =>
    fleetProgress({ set: 'tenant', total: 40, done, failed, seconds: 4, inFlight });

  it('a title with a bar of the tenants done, the counts and the rate; a line per tenant in flight', () => {
    expect(now(10, [], ['t_011', 't_012'])).toEqual({
      title: 'tenant → 40 tenants █████░░░░░░░░░░░░░░░ 10/40 done, 2.5/s',
      lines: ['t_011: running', 't_012: running'],
    });
    expect(now(0, [], []).title).toBe('tenant → 40 tenants ░░░░░░░░░░░░░░░░░░░░ 0/40 done, 0.0/s');
    expect(now(40, [], []).title).toBe(
      'tenant → 40 tenants ████████████████████ 40/40 done, 10.0/s',
    );
  });

  it('names the failed tenants, a few of them, and how many more; ten lines in flight at most', () => {
    expect(now(20, ['t_003'], []).title).toContain('20/40 done, 1 failed (t_003), 5.0/s');
    expect(now(20, ['a', 'b', 'c', 'd', 'e'], []).title).toBe(
      'tenant → 40 tenants ██████████░░░░░░░░░░ 20/40 done, 5 failed (a, b, c, … 2 more), 5.0/s',
    );
    const many = Array.from({ length: 14 }, (_, i) => `t_${i}`);
    const { lines } = now(20, [], many);
    expect(lines).toHaveLength(11);
    expect(lines[9]).toBe('t_9: running');
    expect(lines[10]).toBe('and 4 more running');
  });
});
