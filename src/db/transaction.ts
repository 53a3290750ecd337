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

/** SQLSTATEs and socket errors that mean the session ended, not that a statement was refused. */
const sessionEnded = new Set(['57P01', '57P02', '57P03', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT']);

/**
 * Whether the connection was lost under the work (the server ended the session, the socket closed)
 * rather than Postgres refusing a statement. The work may or may not have committed.
 */
export function connectionLost(err: unknown): boolean {
  // drizzle wraps the driver's error (`cause`), and a failed ROLLBACK on the dead connection hides
  // the statement's own error behind its own: any error along the chain decides.
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const code = typeof e === 'object' && 'code' in e ? e.code : undefined;
    if (typeof code === 'string' && (sessionEnded.has(code) || code.startsWith('08'))) return true;
    if (e instanceof Error && /Connection terminated|not queryable|connection error/i.test(e.message))
      return true;
    e = typeof e === 'object' && 'cause' in e ? e.cause : undefined;
  }
  return false;
}

/**
 * Runs `work` again, after a pause, while its connection is lost under it: for work that is safe to
 * repeat after a commit whose reply never arrived (it checks what it changes). Gives up after
 * `attempts` tries (about 6 s of pauses), rethrowing the last error.
 */
export async function retryingLostConnections<T>(
  deps: Pick<Deps, 'log'>,
  work: () => Promise<T>,
  { attempts = 6, firstPauseMs = 200 } = {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (attempt >= attempts || !connectionLost(err)) throw err;
      deps.log.warn({ attempt, err }, 'database connection lost; running the work again');
      await new Promise((r) => setTimeout(r, firstPauseMs * 2 ** (attempt - 1)));
    }
  }
}
