import { dbmate } from './dbmate.js';
import { drizzle } from './drizzle.js';
import { flyway } from './flyway.js';
import { golangMigrate } from './golang-migrate.js';
import { knex } from './knex.js';
import { nodePgMigrate } from './node-pg-migrate.js';
import { prisma } from './prisma.js';
import type { Tool, ToolName } from './tool.js';
import { typeorm } from './typeorm.js';

export const TOOLS: Readonly<Record<ToolName, Tool>> = {
  prisma,
  drizzle,
  typeorm,
  knex,
  'node-pg-migrate': nodePgMigrate,
  'golang-migrate': golangMigrate,
  dbmate,
  flyway,
};
