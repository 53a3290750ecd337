import type pg from 'pg';
import { sleep } from './pacing';

/**
 * One action at a time per account inside this process: callers queue behind each other in arrival
 * order. The chain's tail is dropped once nothing waits, so the map does not grow with accounts.
 */
export class AccountQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(accountId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(accountId) ?? Promise.resolve();
    const current = previous.catch(() => {}).then(fn);
    const tail = current.catch(() => {});
    this.tails.set(accountId, tail);
    try {
      return await current;
    } finally {
      if (this.tails.get(accountId) === tail) this.tails.delete(accountId);
    }
  }
}

/**
 * Runs `fn` holding a Postgres session advisory lock on the account, so two worker processes never
 * drive one account at once. The lock lives on a dedicated connection: if the process dies, Postgres
 * drops the connection and the lock with it. Returns `busy` when another holder keeps it past `waitMs`.
 */
export async function withAccountAdvisoryLock<T>(
  pool: pg.Pool,
  accountId: string,
  waitMs: number,
  fn: () => Promise<T>,
): Promise<{ kind: 'done'; value: T } | { kind: 'busy' }> {
  const client = await pool.connect();
  const key = `linkedin_account:${accountId}`;
  let locked = false;
  try {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const res = await client.query<{ locked: boolean }>(
        'select pg_try_advisory_lock(hashtextextended($1, 0)) as locked',
        [key],
      );
      locked = res.rows[0]?.locked === true;
      if (locked || Date.now() >= deadline) break;
      await sleep(Math.min(250, Math.max(0, deadline - Date.now())));
    }
    if (!locked) return { kind: 'busy' };
    return { kind: 'done', value: await fn() };
  } finally {
    if (locked)
      await client.query('select pg_advisory_unlock(hashtextextended($1, 0))', [key]).catch(() => {});
    client.release();
  }
}
