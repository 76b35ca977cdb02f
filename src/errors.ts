import type { Holder } from './model/protect.js';

/** Exit codes of SPEC §7. Only cli/main.ts turns them into process.exitCode. */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  invalid: 3,
  refused: 4,
  locked: 5,
  interrupted: 130,
  terminated: 143,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * The one error type that stops a run. Its message is one paragraph (what,
 * where, why); the hint is what to type next.
 */
export class SchemataError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    readonly hint?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Flags, environment, config file, migration file names (exit 2). */
export class ConfigError extends SchemataError {
  constructor(message: string, hint?: string, options?: ErrorOptions) {
    super(message, EXIT.usage, hint, options);
  }
}

/** A database that cannot be reached (exit 1). */
export class ConnectionError extends SchemataError {
  constructor(message: string, hint?: string, options?: ErrorOptions) {
    super(message, EXIT.failed, hint, options);
  }
}

/** A migration that failed while running (exit 1). */
export class MigrationFailedError extends SchemataError {
  constructor(message: string, hint?: string, options?: ErrorOptions) {
    super(message, EXIT.failed, hint, options);
  }
}

/** Tracking and reality disagree (exit 3). */
export class ValidationError extends SchemataError {
  constructor(message: string, hint?: string, options?: ErrorOptions) {
    super(message, EXIT.invalid, hint, options);
  }
}

/** A down that does not undo its migration (SPEC §12, exit 3): rolled back, named with every difference. */
export class NotReversedError extends ValidationError {}

/** Data protection refused a destructive step (exit 4); `holders`: the tables that hold rows, and how many. */
export class RefusedError extends SchemataError {
  constructor(
    message: string,
    hint?: string,
    options?: ErrorOptions,
    readonly holders?: readonly Holder[],
  ) {
    super(message, EXIT.refused, hint, options);
  }
}

export class LockTimeoutError extends SchemataError {
  constructor(where: string, holder: { pid: number; since: Date } | undefined, waitedS: number) {
    const who = holder
      ? `another run (pid ${holder.pid}, connected since ${holder.since.toISOString()})`
      : 'another run';
    super(
      `${where}: ${who} holds the migration lock; gave up after ${waitedS}s.`,
      EXIT.locked,
      'Wait for it to finish and run the command again, or raise --lock-timeout (SCHEMATA_LOCK_TIMEOUT).',
    );
  }
}

/** Stopped by SIGINT (exit 130) or SIGTERM (exit 143), as a shell reports a process those signals end. */
export class StoppedError extends SchemataError {
  constructor(signal: string, message: string, hint?: string, options?: ErrorOptions) {
    super(message, signal === 'SIGINT' ? EXIT.interrupted : EXIT.terminated, hint, options);
  }
}
