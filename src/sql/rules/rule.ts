import type { Operation } from '../operations.js';
import type { Location, Statement, Token } from '../statements.js';

/** What a rule sees of one statement. */
export interface StatementContext {
  statement: Statement;
  /** Inside the file's own BEGIN ... COMMIT. */
  inExplicitTransaction: boolean;
  /** What this statement does, in order (sql/operations.ts); a DO block's or a called function's included. */
  operations: readonly Operation[];
  /**
   * An earlier statement of this file created this table (`schema` undefined:
   * written unqualified, resolved through the file's own search_path). A
   * table the file made is new and empty: no lock on it keeps anyone waiting.
   */
  createdInFile: (schema: string | undefined, name: string) => boolean;
  /** The scanner's tokens of `statement.text`, offsets in its characters; scanned on first call. */
  tokens: () => readonly Token[];
}

/** What a rule sees of a file that parses, after every statement was read. */
export interface ParsedFileContext {
  /** Every statement in order; only a TransactionStmt keeps its tree (sql/read.ts). */
  statements: readonly Statement[];
  /** Whether migrate runs the file in schemata's transaction (sql/classify.ts runsInTransaction). */
  inTransaction: boolean;
}

/** What a rule sees of a whole file, for what the parser cannot parse (a syntax error has no statements). */
export interface FileContext {
  sql: string;
  /** The scanner's tokens: keywords upper-case in `keyword`, offsets in characters. */
  tokens: ReadonlyArray<{ start: number; text: string; keyword: string | undefined }>;
  locate: (offset: number) => Location;
}

export interface Finding {
  at: Location;
  message: string;
  /** The rule's fix written for this statement (its own names), where the rule can. */
  fix?: string;
  /** The table whose size makes the finding matter (a lock held while it is read or rewritten), as written. */
  table?: string;
  /** A file that does not parse: the last line of what the finding explains (COPY's data lines), when past its own. */
  explainsThrough?: number;
}

/** One lint rule: an id, what it is about, how to fix it, and a check. */
export interface Rule {
  id: string;
  severity: 'error' | 'warning';
  /** One line: why it matters. */
  summary: string;
  /** How to write it instead. */
  fix: string;
  check?: (context: StatementContext) => Finding[];
  /** For a rule that remembers what earlier statements of the file did: a fresh check per file. */
  checkInOrder?: () => (context: StatementContext) => Finding[];
  /** For a rule about the file as migrate runs it (in schemata's transaction or not), once it has parsed. */
  checkParsed?: (context: ParsedFileContext) => Finding[];
  checkFile?: (context: FileContext) => Finding[];
}
