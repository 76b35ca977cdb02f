import { nodeKind } from '../statements.js';
import type { Rule } from './rule.js';

/** --repair re-runs files; a bare CREATE fails the second time, on an object that already exists. */
export const createWithoutIfNotExists: Rule = {
  id: 'create-without-if-not-exists',
  severity: 'warning',
  summary:
    'CREATE TABLE/INDEX/SCHEMA without IF NOT EXISTS cannot run twice, so --repair cannot re-run this file.',
  fix: 'Write CREATE TABLE IF NOT EXISTS, CREATE INDEX IF NOT EXISTS, CREATE SCHEMA IF NOT EXISTS.',
  check({ statement }) {
    const kind = nodeKind(statement.node);
    const node = (statement.node as Record<string, any>)[kind];
    if (kind === 'CreateStmt' && !node.if_not_exists) {
      return [
        {
          at: statement.at,
          message: `CREATE TABLE ${qualified(node.relation)} without IF NOT EXISTS cannot run twice.`,
        },
      ];
    }
    if (kind === 'CreateTableAsStmt' && !node.if_not_exists) {
      const what = node.objtype === 'OBJECT_MATVIEW' ? 'CREATE MATERIALIZED VIEW' : 'CREATE TABLE';
      return [
        {
          at: statement.at,
          message: `${what} ${qualified(node.into?.rel)} ... AS without IF NOT EXISTS cannot run twice.`,
        },
      ];
    }
    if (kind === 'IndexStmt' && !node.if_not_exists) {
      return [
        {
          at: statement.at,
          message: `CREATE INDEX ${node.idxname ?? '(unnamed)'} without IF NOT EXISTS cannot run twice.`,
        },
      ];
    }
    if (kind === 'CreateSchemaStmt' && !node.if_not_exists) {
      return [
        {
          at: statement.at,
          message: `CREATE SCHEMA ${node.schemaname} without IF NOT EXISTS cannot run twice.`,
        },
      ];
    }
    return [];
  },
};

function qualified(relation: { schemaname?: string; relname?: string } | undefined): string {
  return relation?.schemaname
    ? `${relation.schemaname}.${relation.relname}`
    : (relation?.relname ?? '');
}
