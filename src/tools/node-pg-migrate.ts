import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { splitSections, versionedStem } from './sections.js';
import {
  type SourceMigration,
  type Tool,
  type Unconvertible,
  rowPerMigration,
  textOf,
} from './tool.js';

// node-pg-migrate's own markers (src/sqlMigration.ts): a comment line "-- Up Migration", any case.
const UP = /^\s*--[\s-]*up\s+migration/im;
const DOWN = /^\s*--[\s-]*down\s+migration/im;
const CODE = /\.(c|m)?(j|t)s$/;

/**
 * node-pg-migrate: `migrations/<timestamp>_<name>.sql` (its up and down parts
 * after `-- Up Migration` and `-- Down Migration`), or `.up.sql`/`.down.sql`
 * pairs; JavaScript and TypeScript migrations are code. Its table
 * `pgmigrations` has a row (name, run_on) per applied migration, the name
 * being the file's without extension. No checksum.
 */
export const nodePgMigrate: Tool = {
  name: 'node-pg-migrate',
  defaultFrom: ['migrations'],
  readSource(dir) {
    const names = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => e.name)
      .sort();
    const migrations: SourceMigration[] = [];
    const unconvertible: Unconvertible[] = [];
    const pairs = new Map<string, { up?: string; down?: string }>();
    for (const name of names) {
      if (CODE.test(name) && !name.endsWith('.d.ts')) {
        unconvertible.push({ source: name, why: 'a JavaScript or TypeScript migration is code' });
        continue;
      }
      if (!name.endsWith('.sql')) continue;
      const direction = /\.(up|down)\.sql$/.exec(name)?.[1];
      if (direction) {
        const id = name.replace(/\.(up|down)\.sql$/, '');
        const pair = pairs.get(id) ?? {};
        pair[direction as 'up' | 'down'] = name;
        pairs.set(id, pair);
        continue;
      }
      const id = name.replace(/\.sql$/, '');
      const stem = versionedStem(id);
      if (!stem) {
        unconvertible.push({ source: name, why: 'its name does not start with a number' });
        continue;
      }
      const content = readFileSync(join(dir, name), 'utf8');
      const { up, down } = splitSections(content, UP, DOWN);
      migrations.push({ id, source: name, file: `${stem}.sql`, up: up ?? content, down });
    }
    for (const [id, pair] of pairs) {
      const stem = versionedStem(id);
      if (!pair.up || !stem) {
        unconvertible.push({
          source: pair.down ?? pair.up ?? id,
          why: pair.up
            ? 'its name does not start with a number'
            : 'a .down.sql without its .up.sql',
        });
        continue;
      }
      migrations.push({
        id,
        source: pair.up,
        file: `${stem}.sql`,
        up: readFileSync(join(dir, pair.up), 'utf8'),
        down: pair.down === undefined ? undefined : readFileSync(join(dir, pair.down), 'utf8'),
      });
    }
    migrations.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { migrations, unconvertible };
  },
  table: { name: 'pgmigrations', columns: ['name', 'run_on'] },
  rowsSql: (table) => `SELECT id, name, run_on FROM ${table} ORDER BY id`,
  judge: (rows, migrations) =>
    rowPerMigration(rows, migrations, {
      id: (row) => textOf(row.name),
      says: (row) => `run on ${textOf(row.run_on)}`,
      unknown: (name) => {
        // Its loader for .sql before the `sql` loader runs x.up.sql and x.down.sql each as a migration of its own
        // (rows x.up and x.down, the down first); the imported pair is one migration, x, with its down file.
        const half = /^(.*)\.(up|down)$/.exec(name);
        if (half && migrations.some((m) => m.id === half[1]))
          return `${name}: node-pg-migrate ran ${half[1]}.${half[2]}.sql as a migration of its own (its default loader for .sql files does not pair .up.sql with .down.sql; the \`sql\` loader does)${half[2] === 'down' ? ', so this database ran the down part as a migration too' : ''}, where the import made one migration of the pair`;
        return `${name}: run by node-pg-migrate, but the imported migrations have no such file`;
      },
    }),
};
