import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { joinStatements, readCodeMigration, statementsOf } from './code.js';
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
  readSource(dir, parser) {
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
      const up = statementsOf(parser, read.up.sql);
      if (!up) {
        unconvertible.push({ source: name, why: 'its up passes a $n that names no parameter' });
        continue;
      }
      const down = read.down?.ok ? statementsOf(parser, read.down.sql) : undefined;
      const title = stem?.[2] ?? read.className.replace(/\d+$/, '');
      const header = `-- ${read.className}, from ${name}: its queryRunner.query statements.`;
      migrations.push({
        id: read.className,
        source: name,
        file: `${timestamp}_${title}.sql`,
        up: joinStatements(header, up),
        down: down ? joinStatements(header, down) : undefined,
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
