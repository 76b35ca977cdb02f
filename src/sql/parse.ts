import type { Node } from 'libpg-query';
import type { Parser } from './statements.js';
import { learnKeywords } from './quote.js';
import { importPackage } from '../import-package.js';

let loading: Promise<Parser> | undefined;

/**
 * Loads the real PostgreSQL parser (a WebAssembly build of libpg_query) on
 * first use. Only commands that read SQL call this: a no-op migrate, status
 * and --version never pay for it.
 */
export function loadParser(): Promise<Parser> {
  loading ??= (importPackage('libpg-query') as Promise<typeof import('libpg-query')>).then(
    async (module) => {
      await module.loadModule();
      learnKeywords(module.scanSync);
      // WebAssembly is compiled function by function on its first call: the parser's first statement
      // costs some 45 ms, paid here, where the loading runs beside the server's reading of the catalog.
      module.parseSync('SELECT 1');
      return module;
    },
  );
  return loading;
}

let deparsing: Promise<(node: Node) => string> | undefined;

/**
 * Loads libpg-query's companion deparser (pgsql-deparser: the parse tree
 * back to SQL) on first use: only a repair that builds a statement of its
 * own pays for it.
 */
export function loadDeparser(): Promise<(node: Node) => string> {
  deparsing ??= import('pgsql-deparser').then((module) => {
    // Bundled, the CommonJS build arrives as the default export.
    const { deparseSync } =
      'deparseSync' in module ? module : (module as { default: typeof module }).default;
    return (node: Node) => deparseSync(node, { pretty: false });
  });
  return deparsing;
}
