import type { Lookup, LookupFacts } from '../db/protection.js';
import { type Classification, type DestructiveStep, describeStep, qualified } from '../sql/classify.js';
import type { Location } from '../sql/statements.js';

export type Verdict = 'allowed' | 'refused' | 'forced';

/** Data protection's word on one destructive step. */
export interface Judgement {
  kind: DestructiveStep['kind'];
  at: Location;
  /** `DROP TABLE workspace.items`, with the target as resolved. */
  step: string;
  statement: string;
  /** The schema or `schema.table` it resolved to. */
  target: string;
  verdict: Verdict;
  /** Tables it would empty that hold rows. */
  holders: string[];
  /** Why it is allowed or refused, in words. */
  reason: string;
}

interface Candidate {
  id: number;
  schema: string;
  name?: string | undefined;
}

/**
 * The catalog lookups a migration's destructive steps need: a schema, or each
 * schema of the search_path in force for an unqualified name (the first that
 * has it wins, as in PostgreSQL).
 */
export function lookupsFor(
  classification: Pick<Classification, 'destructive' | 'creates'>,
  defaultPath: readonly string[],
): { lookups: Lookup[]; candidates: Candidate[][]; created: Candidate[] } {
  const lookups: Lookup[] = [];
  let id = 0;
  // What the file creates is looked up too: only what did not exist before counts as created by the run.
  const created = classification.creates.map((c) => {
    const schema = 'schema' in c ? c.schema : (c.relation.schema ?? defaultPath[0] ?? 'public');
    const name = 'schema' in c ? undefined : c.relation.name;
    lookups.push({ id, schema, name, mode: name ? 'relation' : 'schema' });
    return { id: id++, schema, name };
  });
  const candidates = classification.destructive.map((step) => {
    if ('schema' in step.target) {
      lookups.push({ id, schema: step.target.schema, mode: 'schema' });
      return [{ id: id++, schema: step.target.schema }];
    }
    const { schema, name } = step.target.relation;
    const path = schema ? [schema] : (step.searchPath ?? defaultPath);
    const mode: Lookup['mode'] = !step.cascade ? 'relation' : step.kind === 'truncate' ? 'truncate-cascade' : 'drop-cascade';
    return path.map((s) => {
      lookups.push({ id, schema: s, name, mode });
      return { id: id++, schema: s, name };
    });
  });
  return { lookups, candidates, created };
}

/**
 * Judges a migration's destructive steps in file order. A target that holds
 * rows is refused (or forced, with --force); one that does not exist, is
 * empty, or was created earlier in this run is allowed. `created` holds the
 * `schema` and `schema.table` names that earlier migrations of the run
 * create and that did not exist before it; the file's own creations are
 * added as they come. Right before a migration runs, those names already
 * exist (and may hold the run's own rows): `createdWins` keeps them empty.
 */
export function judgeMigration(
  classification: Pick<Classification, 'destructive' | 'creates'>,
  looked: { candidates: readonly Candidate[][]; created: readonly Candidate[] },
  facts: ReadonlyMap<number, LookupFacts>,
  created: Set<string>,
  options: { force: boolean; createdWins: boolean },
): Judgement[] {
  const { candidates } = looked;
  const events = [
    ...classification.destructive.map((step, index) => ({ at: step.statement.start, step, index })),
    ...looked.created.map((c) => ({ at: classification.creates[looked.created.indexOf(c)]!.statement.start, create: c })),
  ].sort((a, b) => a.at - b.at || ('create' in a ? 1 : 0) - ('create' in b ? 1 : 0)); // stable; a step before a create of the same statement
  const judgements: Judgement[] = [];
  for (const event of events) {
    if ('create' in event) {
      const c = event.create;
      if (options.createdWins || !facts.get(c.id)?.exists) created.add(c.name ? `${c.schema}.${c.name}` : c.schema);
      continue;
    }
    const { step, index } = event;
    judgements.push(judgeStep(step, candidates[index]!, facts, created, options));
  }
  return judgements;
}

function judgeStep(
  step: DestructiveStep,
  candidates: readonly Candidate[],
  facts: ReadonlyMap<number, LookupFacts>,
  created: ReadonlySet<string>,
  { force, createdWins }: { force: boolean; createdWins: boolean },
): Judgement {
  let target: string | undefined;
  let holders: string[] = [];
  let reason = '';
  for (const candidate of candidates) {
    const key = candidate.name ? `${candidate.schema}.${candidate.name}` : candidate.schema;
    const fact = facts.get(candidate.id);
    const isCreated = created.has(key) && (createdWins || !fact?.exists);
    if (isCreated) {
      target = key;
      reason = 'created earlier in this run, so empty';
      break;
    }
    if (fact?.exists) {
      target = key;
      holders = fact.holders;
      break;
    }
  }
  const base = { kind: step.kind, at: step.statement.at, statement: step.statement.text };
  if (target === undefined) {
    const shown = 'schema' in step.target ? step.target.schema : qualified(step.target.relation);
    return { ...base, step: describeStep(step), target: shown, verdict: 'allowed', holders: [], reason: 'does not exist, so holds no data' };
  }
  const resolved = 'schema' in step.target ? step : { ...step, target: { relation: { schema: target.split('.')[0], name: step.target.relation.name } } };
  const described = describeStep(resolved);
  if (holders.length === 0) return { ...base, step: described, target, verdict: 'allowed', holders, reason: reason || 'holds no rows' };
  return {
    ...base,
    step: described,
    target,
    verdict: force ? 'forced' : 'refused',
    holders,
    reason: `${holders.join(', ')} ${holders.length === 1 ? 'holds' : 'hold'} data`,
  };
}
