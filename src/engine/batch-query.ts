import type { Connection, Submittable } from 'pg';

/** A row as the server sent it in text: column name to value. */
export type TextRow = Record<string, string | null>;

/**
 * A batch sent as one simple query that counts the commands it completes
 * and keeps only the rows of results with a column named `keep`. pg's own
 * Query keeps a result object for every statement of a batch: 50,000 of
 * them for a seed file of 50,000 INSERTs, tens of MiB held until it ends.
 * Values stay text: the rows kept are schemata's own, of text columns.
 */
export class CountingBatch implements Submittable {
  completed = 0;
  readonly rows: TextRow[] = [];
  readonly done: Promise<void>;
  private columns: string[] | undefined;
  private settle: { resolve: () => void; reject: (error: unknown) => void } | undefined;

  constructor(
    private readonly text: string,
    private readonly keep: string,
  ) {
    this.done = new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
  }

  submit(connection: Connection): void {
    connection.query(this.text);
  }

  handleRowDescription(message: { fields: Array<{ name: string }> }): void {
    const names = message.fields.map((f) => f.name);
    this.columns = names.includes(this.keep) ? names : undefined;
  }

  handleDataRow(message: { fields: Array<string | null> }): void {
    if (!this.columns) return;
    const row: TextRow = {};
    this.columns.forEach((name, i) => {
      row[name] = message.fields[i] ?? null;
    });
    this.rows.push(row);
  }

  handleCommandComplete(): void {
    this.completed += 1;
    this.columns = undefined;
  }

  handleEmptyQuery(): void {
    // An empty statement completes nothing.
  }

  // pg calls this on the server's error, before the ReadyForQuery that follows it.
  handleError(error: unknown): void {
    this.settle?.reject(error);
  }

  handleReadyForQuery(): void {
    this.settle?.resolve();
  }

  // Planning refuses COPY ... FROM STDIN; one reached some other way gets no rows.
  handleCopyInResponse(connection: Connection & { sendCopyFail(message: string): void }): void {
    connection.sendCopyFail('schemata sends no COPY data from the client');
  }

  handleCopyData(): void {
    // COPY ... TO STDOUT: the rows are not wanted.
  }

  handlePortalSuspended(): void {
    // Only the extended protocol suspends a portal; a simple query never does.
  }
}
