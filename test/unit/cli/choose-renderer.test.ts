import { describe, expect, it } from 'vitest';
import { chooseRenderer, type RendererName } from '../../../src/cli/listr.js';

describe('chooseRenderer', () => {
  it.each<[NodeJS.ProcessEnv, boolean, RendererName]>([
    [{}, false, 'simple'],
    [{}, true, 'default'],
    [{ CI: 'true' }, true, 'simple'],
    [{ CI: '1' }, true, 'simple'],
    [{ CI: 'true' }, false, 'simple'],
    [{ CI: '' }, true, 'default'],
    [{ CI: 'false' }, true, 'default'],
  ])('env %j, TTY %s → %s', (env, tty, expected) => {
    expect(chooseRenderer(undefined, env, tty, 80)).toBe(expected);
  });

  it('a terminal that reports no width gets the simple renderer', () => {
    expect(chooseRenderer(undefined, {}, true, 0)).toBe('simple');
    expect(chooseRenderer(undefined, {}, true, undefined)).toBe('simple');
  });

  it.each<[RendererName, NodeJS.ProcessEnv, boolean]>([
    ['default', { CI: 'true' }, false],
    ['verbose', {}, true],
    ['silent', {}, false],
    ['simple', {}, true],
  ])('an explicit --renderer %s wins (env %j, TTY %s)', (requested, env, tty) => {
    expect(chooseRenderer(requested, env, tty)).toBe(requested);
  });
});
