import { describe, expect, it } from 'vitest';
import { unreachableHint } from '../../../src/engine/connect.js';

describe('the hint for a server that cannot be reached', () => {
  it.each([
    ['no --wait: add one', 'ENOTFOUND', 0, 60],
    ['a short --wait ran out', 'ENOTFOUND', 3, 60],
    ['--wait 60 ran out: longer than 60', 'ENOTFOUND', 60, 240],
    ['--wait 300 ran out', 'ECONNREFUSED', 300, 1200],
  ])('%s', (_, code, waited, suggested) => {
    const hint = unreachableHint(code, waited);
    const value = Number(/--wait (\d+)/.exec(hint)?.[1]);
    expect(value).toBe(suggested);
    expect(value).toBeGreaterThan(waited);
    expect(hint).not.toContain('--wait S');
  });
});
