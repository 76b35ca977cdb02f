import { relative } from 'node:path';
import { applyMigration } from '../apply/apply.js';
import type { MigrationFile } from '../config/discover.js';
import { readSchemaFacts } from '../db/introspect.js';
import { readTracking } from '../db/tracking.js';
import { checkAfterMigrate, type Plan, planMigrate } from '../plan/plan.js';
import { loadParser } from '../sql/parse.js';
import { parseFile, type Statement } from '../sql/statements.js';
import type { Run, SetRun } from './context.js';
import { entryOf, ProblemsFound, type SetReport, schemasOf } from './report.js';
import type { Task } from './tasks.js';

/**
 * Reads tracking and the catalog for a set and plans its run; with `parse`,
 * also parses every pending file, so that a file that does not parse stops
 * the run before anything is applied.
 */
export async function gatherAndPlan(run: Run, set: SetRun, report: SetReport, options: { lock: boolean; parse: boolean }) {
  const client = await run.connection(set, { lock: options.lock });
  const tracked = await readTracking(client, set.config.name);
  const facts = await readSchemaFacts(client, set.config.schemas);
  const plan = planMigrate({ set: set.config.name, schemas: set.config.schemas, files: set.files, tracked, facts });
  const statements = new Map<string, Statement[]>();
  if (options.parse && plan.pending.length > 0) {
    const parser = await loadParser();
    for (const file of plan.pending) {
      const parsed = parseFile(parser, file.sql);
      if (parsed.ok) {
        statements.set(file.version, parsed.statements);
      } else {
        const path = relative(run.cwd, file.path) || file.path;
        const { at, message } = parsed.problem;
        plan.problems.push({
          kind: 'syntax',
          message: `Set "${set.config.name}": ${path}:${at.line}:${at.column} does not parse: ${message}. Nothing was applied.`,
          hint: `Fix the file (schemata lint ${set.config.name} shows every error), then run the command again.`,
        });
      }
    }
  }
  report.pending = plan.pending.map((f) => entryOf(f));
  report.schemas = schemasOf(facts);
  report.problems.push(...plan.problems);
  return { client, tracked, plan, statements };
}

/** The task tree of `migrate`: per set, connect, validate, apply each pending file, validate again. */
export function migrateTasks(run: Run, reports: Map<string, SetReport>): Task[] {
  return run.sets.map((set): Task => {
    const report = reports.get(set.config.name)!;
    return {
      title: `${set.config.name} → ${set.target.display}`,
      run: async () => {
        let planned: Awaited<ReturnType<typeof gatherAndPlan>> | undefined;
        const appliedNow: ReturnType<typeof entryOf>[] = [];
        const applyTask = (file: MigrationFile): Task => ({
          title: file.file,
          run: async (setTitle) => {
            const ms = await applyMigration({ client: planned!.client, set: set.config.name, cwd: run.cwd }, file, planned!.statements.get(file.version)!);
            appliedNow.push(entryOf(file, ms));
            report.applied = [...appliedNow];
            report.pending = report.pending.filter((p) => p.version !== file.version);
            setTitle(`${file.file} (${ms}ms)`);
          },
        });
        return [
          {
            title: 'connect and lock',
            run: async () => {
              await run.connection(set, { lock: true });
            },
          },
          {
            title: 'pre-flight validation',
            run: async (setTitle) => {
              planned = await gatherAndPlan(run, set, report, { lock: true, parse: true });
              if (planned.plan.problems.length > 0) throw new ProblemsFound(set.config.name, planned.plan.problems);
              setTitle(`pre-flight validation: ${describePending(planned.plan)}`);
            },
          },
          {
            title: 'apply migrations',
            run: async (setTitle) => {
              const pending = planned!.plan.pending;
              if (pending.length === 0) {
                setTitle('nothing to apply: up to date');
                return;
              }
              setTitle(`apply ${pending.length} migration${pending.length === 1 ? '' : 's'}`);
              return pending.map(applyTask);
            },
          },
          {
            title: 'post-migration validation',
            run: async () => {
              const facts = await readSchemaFacts(planned!.client, set.config.schemas);
              report.schemas = schemasOf(facts);
              const problems = checkAfterMigrate(set.config.name, facts);
              report.problems.push(...problems);
              if (problems.length > 0) throw new ProblemsFound(set.config.name, problems);
            },
          },
        ];
      },
    };
  });
}

function describePending(plan: Plan): string {
  const n = plan.pending.length;
  return n === 0 ? 'up to date' : `${n} pending`;
}
