import type { Deps } from '../context';
import type { Tx } from './client';

/** Deadlock and serialisation failure: Postgres aborted the transaction, so running it again is safe. */
const retryable = new Set(['40P01', '40001']);

/** The SQLSTATE of a Postgres error (possibly wrapped, as drizzle does), if it is one. */
export const pgCode = (err: unknown): string | undefined => {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = 'code' in err ? err.code : undefined;
  if (typeof code === 'string') return code;
  return 'cause' in err ? pgCode(err.cause) : undefined;
};

/**
 * Runs `work` in a transaction, again (up to 3 times) when Postgres aborts it as a deadlock victim.
 * A reply locks the lead's enrollments while a step claim may hold them in another order, and
 * Postgres breaks such a cycle by aborting one side; nothing of ours was committed.
 */
export function inTransaction<T>(deps: Pick<Deps, 'db' | 'log'>, work: (tx: Tx) => Promise<T>): Promise<T> {
  return retryingAborts(deps, () => deps.db.transaction(work));
}

/** `inTransaction` for work that is one statement (its own transaction): runs it again when aborted. */
export async function retryingAborts<T>(deps: Pick<Deps, 'log'>, work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      const code = pgCode(err);
      if (attempt >= 3 || !retryable.has(code ?? '')) throw err;
      deps.log.warn({ attempt, code }, 'transaction aborted by Postgres; retrying');
    }
  }
}
