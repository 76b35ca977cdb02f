import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { joinStatements, readCodeMigration, statementsOf } from './code.js';
import { versionedStem } from './sections.js';
import {
  type SourceMigration,
  type Tool,
  type Unconvertible,
  rowPerMigration,
  textOf,
} from './tool.js';

/**
 * Knex: `migrations/<timestamp>_<name>.js` (or .ts), code with `up` and
 * `down`. Only a migration that does nothing but run literal SQL through
 * `knex.raw` (or `knex.schema.raw`) becomes a SQL file; schema-builder code is
 * named. Its table `knex_migrations` has a row (name, batch) per applied
 * migration, `name` being the file name with its extension. No checksum.
 */
export const knex: Tool = {
  name: 'knex',
  defaultFrom: ['migrations'],
  readSource(dir, parser) {
    const migrations: SourceMigration[] = [];
    const unconvertible: Unconvertible[] = [];
    for (const name of readdirSync(dir).sort()) {
      if (!/\.(c|m)?(j|t)s$/.test(name) || name.endsWith('.d.ts')) continue;
      const stem = versionedStem(name.replace(/\.\w+$/, ''));
      const read = readCodeMigration(readFileSync(join(dir, name), 'utf8'), name, 'raw');
      if ('failed' in read) {
        unconvertible.push({ source: name, why: read.failed });
        continue;
      }
      if (!read.up) {
        unconvertible.push({ source: name, why: 'it exports no up function' });
        continue;
      }
      if (!read.up.ok) {
        unconvertible.push({ source: name, why: read.up.why });
        continue;
      }
      if (!stem) {
        unconvertible.push({ source: name, why: 'its name does not start with a timestamp' });
        continue;
      }
      const up = statementsOf(parser, read.up.sql)!;
      const down = read.down?.ok ? statementsOf(parser, read.down.sql) : undefined;
      const header = `-- From ${name}: its knex.raw statements.`;
      migrations.push({
        id: name,
        source: name,
        file: `${stem}.sql`,
        up: joinStatements(header, up),
        down: down ? joinStatements(header, down) : undefined,
      });
    }
    return { migrations, unconvertible };
  },
  table: { name: 'knex_migrations', columns: ['name', 'batch'] },
  // knex's lock table is its table's name and `_lock` (knex's tableNameLock).
  beside: (table) => [`${table}_lock`],
  rowsSql: (table) => `SELECT id, name, batch FROM ${table} ORDER BY id`,
  judge(rows, migrations) {
    // A project that writes TypeScript and runs its compiled JavaScript (knex's
    // loadExtensions ['.js']) has rows naming `x.js` for the source `x.ts`:
    // knex names a row by the file it loaded, so the stem is the migration.
    const byStem = new Map(migrations.map((m) => [stemOf(m.id), m.id]));
    const known = new Set(migrations.map((m) => m.id));
    return rowPerMigration(rows, migrations, {
      id: (row) => {
        const name = textOf(row.name);
        return known.has(name) ? name : (byStem.get(stemOf(name)) ?? name);
      },
      says: (row) => `batch ${textOf(row.batch)}`,
      unknown: (name) => `${name}: run by knex, but the imported migrations have no such file`,
    });
  },
};

/** A migration file's name without its JavaScript or TypeScript extension. */
function stemOf(name: string): string {
  return name.replace(/\.(c|m)?(j|t)s$/, '');
}
