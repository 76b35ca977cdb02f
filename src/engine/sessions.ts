import type { Client } from './connect.js';
import type { SessionLender } from './context.js';

/** What a session is given back as: no transaction, no role, no settings, no prepared statements. */
const GIVE_BACK_SQL =
  'ROLLBACK; RESET SESSION AUTHORIZATION; RESET ROLE; RESET ALL; DEALLOCATE ALL; CLOSE ALL; UNLISTEN *';

/**
 * The sessions of a fleet of tenant schemas on one database: at most `max`
 * open, lent to one tenant's run at a time and taken back clean, so that a
 * thousand tenants never hold a thousand connections, and each session keeps
 * the server's plans of schemata's functions from one tenant to the next.
 * `max` is the tenants in flight: their run locks are held elsewhere, by one
 * session for the fleet (engine/tenant-locks.ts).
 */
export class SessionPool implements SessionLender {
  private readonly idle: Client[] = [];
  private readonly waiting: Array<(client: Client | undefined) => void> = [];
  private count = 0;

  constructor(private readonly max: number) {}

  async borrow(connect: () => Promise<Client>): Promise<Client> {
    const ready = this.idle.pop();
    if (ready) return ready;
    if (this.count < this.max) {
      this.count++;
      try {
        return await connect();
      } catch (error) {
        this.count--;
        this.waiting.shift()?.(undefined);
        throw error;
      }
    }
    const lent = await new Promise<Client | undefined>((resolve) => this.waiting.push(resolve));
    return lent ?? this.borrow(connect);
  }

  async giveBack(client: Client): Promise<void> {
    try {
      await client.query(GIVE_BACK_SQL);
    } catch {
      // A session that cannot be cleaned is closed, and its place freed.
      this.count--;
      await client.end().catch(() => undefined);
      this.waiting.shift()?.(undefined);
      return;
    }
    const waiter = this.waiting.shift();
    if (waiter) waiter(client);
    else this.idle.push(client);
  }

  async end(): Promise<void> {
    const all = this.idle.splice(0);
    this.count -= all.length;
    await Promise.all(all.map((c) => c.end().catch(() => undefined)));
  }
}
