import type { Parser } from './statements.js';

let loading: Promise<Parser> | undefined;

/**
 * Loads the real PostgreSQL parser (a WebAssembly build of libpg_query) on
 * first use. Only commands that read SQL call this: a no-op migrate, status
 * and --version never pay for it.
 */
export function loadParser(): Promise<Parser> {
  loading ??= import('libpg-query').then(async (module) => {
    await module.loadModule();
    return module;
  });
  return loading;
}
