import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { joinStatements, readCodeMigration } from './code.js';
import {
  type SourceMigration,
  type Tool,
  type Unconvertible,
  rowPerMigration,
  textOf,
} from './tool.js';

/**
 * TypeORM: `src/migrations/<timestamp>-<Name>.ts`, a class whose `up` and
 * `down` run SQL through `queryRunner.query`. Generated migrations do only
 * that and become SQL files; hand-written ones that build schemas in code are
 * named. Its table `migrations` has a row (timestamp, name) per applied
 * migration, `name` being the class's. No checksum.
 */
export const typeorm: Tool = {
  name: 'typeorm',
  defaultFrom: ['src/migrations', 'src/migration', 'migrations'],
  readSource(dir) {
    const migrations: SourceMigration[] = [];
    const unconvertible: Unconvertible[] = [];
    for (const name of readdirSync(dir).sort()) {
      if (!/\.(c|m)?(j|t)s$/.test(name) || name.endsWith('.d.ts') || name.endsWith('.map'))
        continue;
      const stem = /^(\d+)-(.+)\.\w+$/.exec(name);
      const read = readCodeMigration(readFileSync(join(dir, name), 'utf8'), name, 'query');
      if ('failed' in read) {
        unconvertible.push({ source: name, why: read.failed });
        continue;
      }
      if (!read.className || !read.up) {
        unconvertible.push({ source: name, why: 'no migration class with an up method' });
        continue;
      }
      if (!read.up.ok) {
        unconvertible.push({ source: name, why: read.up.why });
        continue;
      }
      const timestamp = stem?.[1] ?? /(\d+)$/.exec(read.className)?.[1];
      if (!timestamp) {
        unconvertible.push({
          source: name,
          why: 'neither its file nor its class name ends in a timestamp',
        });
        continue;
      }
      const title = stem?.[2] ?? read.className.replace(/\d+$/, '');
      const header = `-- ${read.className}, from ${name}: its queryRunner.query statements.`;
      migrations.push({
        id: read.className,
        source: name,
        file: `${timestamp}_${title}.sql`,
        up: joinStatements(header, read.up.sql),
        down: read.down?.ok ? joinStatements(header, read.down.sql) : undefined,
      });
    }
    migrations.sort((a, b) =>
      BigInt(a.file.split('_')[0]!) < BigInt(b.file.split('_')[0]!) ? -1 : 1,
    );
    return { migrations, unconvertible };
  },
  table: { name: 'migrations', columns: ['timestamp', 'name'] },
  rowsSql: (table) => `SELECT id, "timestamp", name FROM ${table} ORDER BY id`,
  judge: (rows, migrations) =>
    rowPerMigration(rows, migrations, {
      id: (row) => textOf(row.name),
      says: (row) => `row id ${textOf(row.id)}`,
      unknown: (name) => `${name}: run by TypeORM, but the imported migrations have no such class`,
    }),
};
