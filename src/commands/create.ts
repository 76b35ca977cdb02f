import { relative } from 'node:path';
import { EXIT } from '../errors.js';
import type { CliCommand } from '../cli/command.js';

/** @internal The CLI's command (yargs): not part of the API. */
export const createCommand: CliCommand = {
  command: 'create <set> <name>',
  describe: 'write a new migration file from the template and print its path',
  builder: (y) =>
    y.positional('set', { type: 'string' }).positional('name', { type: 'string' }).option('down', {
      type: 'boolean',
      describe: 'write its down file too (<version>_<name>.down.sql)',
    }),
  async run(args, context) {
    const { createMigration } = await import('../engine/create.js');
    const down = Boolean(args.down);
    const path = createMigration({
      cwd: context.options.cwd,
      config: context.options.config,
      set: String(args.set),
      name: String(args.name),
      down,
    });
    const { downFileName } = await import('../config/discover.js');
    const downPath = down ? downFileName(path) : undefined;
    return {
      json: {
        command: 'create',
        ok: true,
        exitCode: EXIT.ok,
        file: path,
        ...(downPath ? { down: downPath } : {}),
      },
      exitCode: EXIT.ok,
      text: [path, ...(downPath ? [downPath] : [])]
        .map((p) => relative(process.cwd(), p))
        .join('\n'),
      notes: [],
    };
  },
};
