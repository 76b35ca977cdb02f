import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { ConfigError } from '../errors.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface Settings {
  splitMode: boolean;
  lockTimeoutS: number;
  /** How long one migration statement may wait for a table lock (0: for ever). */
  statementLockTimeoutS: number;
  /** How long to keep retrying a connection while a database is not up yet (0: no retry). */
  waitS: number;
  production: boolean;
  /** Every variable schemata reads, process first, then the env file. */
  env: Env;
  /** Where the variables came from, for messages. */
  envFile: string | undefined;
}

const DEFAULT_LOCK_TIMEOUT_S = 60;

/**
 * Reads the process environment, then `.env` (or `--env-file`) beneath it:
 * the process wins, as dotenv does. Never writes into process.env.
 */
export function loadEnv(options: { processEnv: Env; cwd: string; envFile?: string | undefined }): {
  env: Env;
  envFile: string | undefined;
} {
  const explicit = options.envFile !== undefined;
  const path = resolve(options.cwd, options.envFile ?? '.env');
  if (!existsSync(path)) {
    if (explicit) {
      throw new ConfigError(
        `The env file "${options.envFile}" given with --env-file does not exist (looked at ${path}).`,
        'Pass the path of an existing file, or leave --env-file out to read .env.',
      );
    }
    return { env: { ...options.processEnv }, envFile: undefined };
  }
  let fromFile: Record<string, string>;
  try {
    // Loaded only when there is a file to read.
    const dotenv = createRequire(import.meta.url)('dotenv') as typeof import('dotenv');
    fromFile = dotenv.parse(readFileSync(path));
  } catch (error) {
    throw new ConfigError(
      `The env file ${path} cannot be read: ${(error as Error).message}`,
      undefined,
      {
        cause: error,
      },
    );
  }
  return { env: { ...fromFile, ...options.processEnv }, envFile: path };
}

/** Reads a variable, treating an empty value as unset (as a shell `VAR=` means). */
export function envValue(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

const TRUE = new Set(['true', '1', 'yes']);
const FALSE = new Set(['false', '0', 'no']);

export function parseSplitMode(value: string | undefined): boolean {
  if (value === undefined) return false;
  const normal = value.trim().toLowerCase();
  if (TRUE.has(normal)) return true;
  if (FALSE.has(normal) || normal === '') return false;
  throw new ConfigError(
    `SPLIT_DB_MODE is "${value}", which is neither true nor false.`,
    'Set SPLIT_DB_MODE to true or false (1/0 and yes/no also work), or leave it unset for single mode.',
  );
}

export function parseLockTimeout(value: string | number | undefined, source: string): number {
  return parseSeconds(value, source, DEFAULT_LOCK_TIMEOUT_S, 'do not wait');
}

/** A number of seconds of 0 or more, from a flag or a variable; `zero` says what 0 means, for the message. */
export function parseSeconds(
  value: string | number | undefined,
  source: string,
  fallback: number,
  zero: string,
): number {
  if (value === undefined) return fallback;
  const text = String(value).trim();
  const seconds = Number(text);
  if (text === '' || !Number.isFinite(seconds) || seconds < 0) {
    throw new ConfigError(
      `${source} is "${value}", which is not a number of seconds.`,
      `Give ${source} a number of seconds of 0 or more (default ${fallback}); 0 means ${zero}.`,
    );
  }
  return seconds;
}

/** The flag if given, else the variable, else the default. */
function seconds(
  flag: number | string | undefined,
  flagName: string,
  env: Env,
  variable: string,
  fallback: number,
  zero: string,
): number {
  return flag !== undefined
    ? parseSeconds(flag, flagName, fallback, zero)
    : parseSeconds(envValue(env, variable), variable, fallback, zero);
}

/** The settings a run needs, from the merged environment and the CLI flags. */
export function readSettings(options: {
  processEnv: Env;
  cwd: string;
  envFile?: string | undefined;
  lockTimeout?: number | string | undefined;
  statementLockTimeout?: number | string | undefined;
  wait?: number | string | undefined;
}): Settings {
  const { env, envFile } = loadEnv(options);
  return {
    env,
    envFile,
    splitMode: parseSplitMode(envValue(env, 'SPLIT_DB_MODE')),
    lockTimeoutS:
      options.lockTimeout !== undefined
        ? parseLockTimeout(options.lockTimeout, '--lock-timeout')
        : parseLockTimeout(envValue(env, 'SCHEMATA_LOCK_TIMEOUT'), 'SCHEMATA_LOCK_TIMEOUT'),
    statementLockTimeoutS: seconds(
      options.statementLockTimeout,
      '--statement-lock-timeout',
      env,
      'SCHEMATA_STATEMENT_LOCK_TIMEOUT',
      5,
      'wait for ever',
    ),
    waitS: seconds(options.wait, '--wait', env, 'SCHEMATA_WAIT', 0, 'do not retry'),
    production: envValue(env, 'NODE_ENV') === 'production',
  };
}
