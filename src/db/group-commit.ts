import DataLoader from 'dataloader';
import { connectionLost } from './transaction';

/** At most this many items share one statement, unless the caller says otherwise. */
const MAX_BATCH = 50;

/**
 * Group commit: the items that concurrent callers of this process hand in during the same turn of
 * the event loop go to Postgres as one statement (`run`, which answers each item in order, a value
 * or an Error), so a burst costs one round trip and one WAL flush per batch instead of per item. A
 * lone item is a batch of one and waits for nothing; each caller's promise settles once its batch
 * has committed. Two items with the same `key` never share a statement (each runs alone). If
 * Postgres refuses a batch, each of its items is run alone, so one bad item cannot fail the others;
 * a lost connection fails the whole batch (whether it committed is unknown).
 *
 * The step engine's claims, hand-off checks and advances (`step-batches.ts`) go through it too.
 */
export function groupCommit<K, V>(
  run: (items: K[]) => Promise<(V | Error)[]>,
  opts: { key?: (item: K) => string; maxBatch?: number; maxInFlight?: number } = {},
): (item: K) => Promise<V> {
  const maxInFlight = opts.maxInFlight ?? Number.POSITIVE_INFINITY;
  let inFlight = 0;
  /** Batches closed for lack of a free slot, in order: each is sent when one in flight ends. */
  const waiting: (() => void)[] = [];
  const settled = () => {
    inFlight -= 1;
    waiting.shift()?.();
  };
  const loader = new DataLoader<K, V>(
    async (items) => {
      inFlight += 1;
      try {
        return await runBatch(items);
      } finally {
        settled();
      }
    },
    {
      cache: false,
      maxBatchSize: opts.maxBatch ?? MAX_BATCH,
      // With every slot taken, a batch stays open and keeps taking items until one frees.
      batchScheduleFn: (flush) =>
        setImmediate(() => (inFlight + waiting.length < maxInFlight ? flush() : waiting.push(flush))),
    },
  );
  const runBatch = async (items: readonly K[]): Promise<(V | Error)[]> => {
    const duplicates = opts.key ? new Set(items.map(opts.key)).size < items.length : false;
    try {
      if (!duplicates) return await run([...items]);
    } catch (err) {
      // Only a statement Postgres refused is known to have changed nothing.
      if (items.length === 1 || connectionLost(err)) throw err;
    }
    // Alone, each item succeeds or fails on its own.
    return Promise.all(
      items.map((item) =>
        run([item]).then(
          (v) => v[0] as V | Error,
          (e: unknown) => toError(e),
        ),
      ),
    );
  };
  return (item) => loader.load(item);
}

const toError = (e: unknown) => (e instanceof Error ? e : new Error(String(e)));
