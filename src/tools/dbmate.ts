import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { splitSections } from './sections.js';
import {
  type SourceMigration,
  type Tool,
  type Unconvertible,
  rowPerMigration,
  textOf,
} from './tool.js';

// dbmate's own markers (pkg/dbmate/migration.go): the up block starts at "-- migrate:up", options after it.
const UP = /^--\s*migrate:up(\s*$|\s+\S+)/m;
const DOWN = /^--\s*migrate:down(\s*$|\s+\S+)/m;

/**
 * dbmate: `db/migrations/<version>_<name>.sql`, each with a `-- migrate:up`
 * block and an optional `-- migrate:down` one; `transaction:false` on the up
 * marker runs it outside a transaction. Its table `schema_migrations` has one
 * row (version) per applied migration, the version being the file name's
 * leading digits. No checksum.
 */
export const dbmate: Tool = {
  name: 'dbmate',
  defaultFrom: ['db/migrations'],
  readSource(dir) {
    const migrations: SourceMigration[] = [];
    const unconvertible: Unconvertible[] = [];
    const names = readdirSync(dir)
      .filter((n) => n.endsWith('.sql'))
      .sort();
    for (const name of names) {
      const match = /^(\d+)_?(.*)\.sql$/.exec(name);
      if (!match) {
        unconvertible.push({ source: name, why: 'its name does not start with a version' });
        continue;
      }
      const content = readFileSync(join(dir, name), 'utf8');
      const { up, down, upLine } = splitSections(content, UP, DOWN);
      if (up === undefined) {
        unconvertible.push({ source: name, why: 'it has no "-- migrate:up" block' });
        continue;
      }
      const outside = /\btransaction:false\b/.test(upLine ?? '');
      migrations.push({
        id: match[1]!,
        source: name,
        file: `${match[1]!}_${match[2] || 'migration'}.sql`,
        up: outside ? `-- schemata:no-transaction\n${up}` : up,
        down,
      });
    }
    return { migrations, unconvertible };
  },
  table: { name: 'schema_migrations', columns: ['version'] },
  rowsSql: (table) => `SELECT version FROM ${table} ORDER BY version`,
  judge: (rows, migrations) =>
    rowPerMigration(rows, migrations, {
      id: (row) => textOf(row.version),
      says: (row) => `version ${textOf(row.version)}`,
      unknown: (version) =>
        `version ${version}: applied by dbmate, but the imported migrations have no such file`,
    }),
};
