import { lazyCatalogModel } from '../catalog/model.js';
import { discoverDowns } from '../config/discover.js';
import { ConfigError } from '../errors.js';
import { schemasNamed } from '../model/catalog.js';
import { chooseRollback, type RollbackChoice, type RollbackRequest } from '../model/rollback.js';
import { type ApplyStep, planSteps } from '../model/steps.js';
import type { Problem } from '../model/plan.js';
import { type ReadMigration } from '../sql/read.js';
import { loadParser } from '../sql/parse.js';
import { openDatabase, type Client } from './connect.js';
import { type Run, type SetRun, whereOf } from './context.js';
import { trackingDenied } from './privileges.js';
import { runStart } from './measure.js';
import { prepareFiles, protect, readPending } from './plan-set.js';
import { readTracking, type TrackedMigration } from './tracking.js';

export interface RollbackPlan {
  client: Client;
  choice: RollbackChoice;
  /** The downs, newest first, as engine/apply.ts runs them (each one's reversal is read just before it runs). */
  steps: ApplyStep[];
  problems: Problem[];
  /** The command that goes on after a failure: what stays applied is named, so a rerun never undoes more. */
  again: string;
  /** Every applied migration, for the credit of what a down brings back. */
  applied: TrackedMigration[];
}

/**
 * Plans `rollback <set>` (SPEC §12): which downs run, read and judged as
 * pending migrations are (data protection's forecast included), each in a
 * transaction of its own.
 */
export async function planRollback(
  run: Run,
  set: SetRun,
  request: RollbackRequest & { force: boolean; lock: boolean },
): Promise<RollbackPlan> {
  const name = set.config.name;
  const client = await run.connection(set, { lock: request.lock });
  const tracking = await readTracking(client, name).catch(async (error: unknown) => {
    throw await trackingDenied(client, whereOf(set), error);
  });
  if (tracking.format === 1 || tracking.adoptPending)
    throw new ConfigError(
      `Set "${name}": its tracking tables were written by schemata 0.1, which kept no record of what each migration made; a down cannot be checked against it. Nothing ran.`,
      `Run schemata migrate ${name} once (it upgrades them), then roll back.`,
    );
  const choice = chooseRollback(name, tracking.migrations, discoverDowns(set.config), request);
  const again = `schemata rollback ${name} --to ${choice.keep}`;
  const applied = tracking.migrations.filter((t) => t.state === 'applied');
  const plan = { set: name, pending: choice.targets.map((t) => t.down), problems: [] as Problem[] };
  if (choice.targets.length === 0)
    return { client, choice, steps: [], problems: [], again, applied };
  const parser = await loadParser();
  const read = new Map<string, ReadMigration>();
  for (const down of plan.pending)
    read.set(down.version, await readPending(parser, run.cwd, down, undefined));
  const migrations = prepareFiles(
    parser,
    run.cwd,
    name,
    plan,
    read,
    new Set(),
    new Map(choice.targets.map((t) => [t.migration.version, t.migration.eventId])),
  );
  const outside = migrations.find((m) => !m.transactional);
  if (outside)
    throw new ConfigError(
      `Set "${name}": ${outside.path} must run outside a transaction (${outside.classification.nonTransactional[0]?.reason ?? 'its own transaction control, or -- schemata:no-transaction'}), but a down runs in one, so that a down that does not undo its migration is rolled back. Nothing ran.`,
      `Write it to run in a transaction (DROP INDEX instead of DROP INDEX CONCURRENTLY, no BEGIN/COMMIT of its own), then run the command again.`,
    );
  const empty = migrations.find((m) => m.statements.length === 0);
  if (empty)
    throw new ConfigError(
      `Set "${name}": ${empty.path} holds no statement: it would undo nothing. Nothing ran.`,
      `Write the SQL that undoes ${empty.file.file.replace(/\.down\.sql$/i, '.sql')} into it, then run the command again.`,
    );
  const catalog = lazyCatalogModel(client, () =>
    schemasNamed(
      set.config.schemas,
      migrations.map((m) => m.operations),
    ),
  );
  await protect(client, catalog, name, { migrations, plan }, request.force, again, (database) =>
    openDatabase(set.target, database),
  );
  const upTo = request.lock && plan.problems.length === 0 ? (await runStart(client)).tablesUpTo : 0;
  const steps = planSteps(migrations, [], { force: request.force, tablesUpTo: upTo }).map(
    (step): ApplyStep => ({ ...(step as ApplyStep), event: 'rolled-back' }),
  );
  return { client, choice, steps, problems: plan.problems, again, applied };
}
