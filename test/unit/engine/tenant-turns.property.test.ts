import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Client } from '../../../src/engine/connect.js';
import { TenantLocks } from '../../../src/engine/tenant-locks.js';

/*
 * A fleet of tenant schemas gives its tenants turns (engine/tenant-locks.ts): a
 * file outside a transaction runs alone, transactional files side by side, first
 * come first served. Turns only: no session is opened.
 */
const locks = () =>
  new TenantLocks(() => Promise.reject<Client>(new Error('no session in these tests')));

const settle = () => new Promise((resolve) => setImmediate(resolve));
/** Ends a turn once it is given. */
const endOf = async (given: Promise<() => Promise<void>>) => (await given)();

describe("a fleet's turns", () => {
  it('one outside a transaction waits for those side by side to end, and holds back those asked after it', async () => {
    const turns = locks();
    const given: string[] = [];
    const ask = (name: string, alone: boolean) =>
      turns.turn(alone).then((end) => {
        given.push(name);
        return end;
      });
    const first = ask('tx 1', false);
    const second = ask('tx 2', false);
    const index = ask('outside', true);
    const later = ask('tx 3', false);
    await settle();
    expect(given).toEqual(['tx 1', 'tx 2']);
    await endOf(first);
    await settle();
    expect(given).toEqual(['tx 1', 'tx 2']);
    await endOf(second);
    await settle();
    expect(given).toEqual(['tx 1', 'tx 2', 'outside']);
    await endOf(index);
    await settle();
    expect(given).toEqual(['tx 1', 'tx 2', 'outside', 'tx 3']);
    await endOf(later);
  });

  it('a turn ended twice is ended once: the next one alone still waits for the others side by side', async () => {
    const turns = locks();
    const first = await turns.turn(false);
    const second = await turns.turn(false);
    await first();
    await first();
    let given = false;
    const alone = turns.turn(true).then((end) => {
      given = true;
      return end;
    });
    await settle();
    expect(given).toBe(false);
    await second();
    await endOf(alone);
    expect(given).toBe(true);
  });

  it('whatever the order of asking and ending: never one alone beside another turn, every turn given, in the order asked', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ alone: fc.boolean(), holdFor: fc.nat(3) }), {
          minLength: 1,
          maxLength: 12,
        }),
        async (asked) => {
          const turns = locks();
          const running = new Set<number>();
          const order: number[] = [];
          await Promise.all(
            asked.map(async ({ alone, holdFor }, i) => {
              const end = await turns.turn(alone);
              order.push(i);
              running.add(i);
              const others = [...running].filter((j) => j !== i);
              expect(alone ? others : others.filter((j) => asked[j]!.alone)).toEqual([]);
              for (let n = 0; n < holdFor; n++) await settle();
              running.delete(i);
              await end();
            }),
          );
          // First come, first served: every turn given, in the order asked.
          expect(order).toEqual(asked.map((_, i) => i));
        },
      ),
    );
  });
});
