import { accessSync, constants, readFileSync } from 'node:fs';
import { basename, delimiter, join, sep } from 'node:path';

/** Where the user is: whether `schemata` is on their PATH, the project's package scripts, and the package manager that ran us. */
export interface Place {
  onPath: boolean;
  /** Script name → its `schemata` arguments (`migrate:data` → ['migrate', 'data']), in package.json order. */
  scripts: Array<{ name: string; args: string[] }>;
  agent: 'npm' | 'pnpm' | 'yarn';
}

const COMMANDS = [
  'migrate',
  'status',
  'validate',
  'baseline',
  'lint',
  'create',
  'rollback',
  'import',
];
/** What a hint may name after `schemata` besides a command: the help, which runs no script. */
const ALSO = ['--help'];

/** The arguments a package script passes to schemata, or undefined when it runs something else. */
export function schemataArgs(script: string): string[] | undefined {
  const words = script.trim().split(/\s+/);
  const at = words.findIndex((w) => basename(w) === 'schemata' || basename(w) === 'schemata.js');
  if (at === -1) return undefined;
  const args: string[] = [];
  for (const word of words.slice(at + 1)) {
    if (['&&', '||', ';', '|'].includes(word)) break;
    args.push(word);
  }
  return args.length > 0 && COMMANDS.includes(args[0]!) ? args : undefined;
}

/**
 * A `schemata <command> ...` as it works where the user is (SPEC §3): as
 * is when schemata is on their PATH; else the project's package script that
 * runs the longest part of it (`npm run migrate:data -- --repair`, `pnpm
 * migrate:data --repair`); else `npx schemata ...`. Pure.
 */
export function commandAsTyped(args: readonly string[], place: Place): string {
  if (place.onPath) return `schemata ${args.join(' ')}`;
  let best: { name: string; args: string[] } | undefined;
  for (const script of place.scripts) {
    const fits = script.args.length <= args.length && script.args.every((a, i) => a === args[i]);
    if (!fits) continue;
    if (
      !best ||
      script.args.length > best.args.length ||
      (script.args.length === best.args.length && script.name.length < best.name.length)
    )
      best = script;
  }
  if (!best) return `npx schemata ${args.join(' ')}`;
  const rest = args.slice(best.args.length);
  if (place.agent === 'npm')
    return `npm run ${best.name}${rest.length > 0 ? ` -- ${rest.join(' ')}` : ''}`;
  return `${place.agent} ${best.name}${rest.length > 0 ? ` ${rest.join(' ')}` : ''}`;
}

/** `schemata <command> ...` in a text; made once, not for every line the task list prints. */
const COMMAND_IN_TEXT = new RegExp(
  `\\bschemata ((?:${[...COMMANDS, ...ALSO].join('|')})(?: (?:--?[\\w-]+|[\\w<>:./-]+))*)`,
  'g',
);

/** Every `schemata <command> ...` in a text (a hint, a message), rewritten as it works where the user is. */
export function rewriteCommands(text: string, place: Place): string {
  if (place.onPath || !text.includes('schemata ')) return text;
  return text.replace(COMMAND_IN_TEXT, (_whole, command: string) => {
    // A sentence's full stop is not part of the command.
    const trailing = command.match(/[.:]+$/)?.[0] ?? '';
    return (
      commandAsTyped(command.slice(0, command.length - trailing.length).split(' '), place) +
      trailing
    );
  });
}

/** Reads where the user is: the PATH of their shell (without the folders a package manager adds for its scripts) and the project's package.json. */
export function currentPlace(cwd: string, env: NodeJS.ProcessEnv): Place {
  const dirs = (env.PATH ?? '')
    .split(delimiter)
    .filter(
      (d) =>
        d !== '' && !d.includes(`${sep}node_modules${sep}`) && !d.endsWith(`${sep}node_modules`),
    );
  const onPath = dirs.some((d) => {
    try {
      accessSync(join(d, 'schemata'), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  let scripts: Place['scripts'] = [];
  try {
    const pkg = JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8')) as {
      scripts?: Record<string, string>;
    };
    scripts = Object.entries(pkg.scripts ?? {}).flatMap(([name, script]) => {
      const args = schemataArgs(script);
      return args ? [{ name, args }] : [];
    });
  } catch {
    // no package.json here: npx it is
  }
  const userAgent = env.npm_config_user_agent ?? '';
  const agent = userAgent.startsWith('pnpm')
    ? 'pnpm'
    : userAgent.startsWith('yarn')
      ? 'yarn'
      : 'npm';
  return { onPath, scripts, agent };
}
