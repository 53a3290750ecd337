import DataLoader from 'dataloader';
import type { Deps } from '../context';
import { connectionLost, retryingAborts, retryingLostConnections } from '../db/transaction';
import { advanceRuns, type Outcome } from './advance-in-one';
import { type ClaimedRun, type ClaimRequest, claimStepRuns } from './claim';
import type { RunRef } from './dispatch';
import { checkHandOffs, type HandOffCheck } from './liveness';

/** At most this many runs share one claim or one advance statement. */
const MAX_BATCH = 50;

export type StepBatches = {
  claim(request: ClaimRequest): Promise<ClaimedRun | null>;
  advance(outcome: Outcome): Promise<RunRef | null>;
  /** The hand-off check of one enrollment (see `handOffWhileAllowed`). */
  handOffCheck(enrollmentId: string): Promise<HandOffCheck | null>;
};

const perProcess = new WeakMap<Deps, StepBatches>();

/**
 * Group commit for the step engine: the claims (and the hand-off checks, and the advances) that the
 * concurrent step jobs of this process issue in the same turn of the event loop go to Postgres as
 * one statement, so a burst costs one round trip and one WAL flush per batch instead of per step.
 * A lone job is a batch of one and waits for nothing. If Postgres refuses a batch for another reason than a deadlock (which
 * is retried whole), each of its items is run alone, so one bad row cannot fail the others.
 */
export function stepBatches(deps: Deps): StepBatches {
  let batches = perProcess.get(deps);
  if (!batches) {
    const claims = loader<ClaimRequest, ClaimedRun | null>(
      async (requests) => {
        // A claim is its own fence: run again after a lost connection, it claims only what is
        // still unclaimed, and a run it did claim unseen waits out its lease (never run twice).
        const claimed = await retryingLostConnections(deps, () =>
          retryingAborts(deps, () => claimStepRuns(deps.db, requests, deps.config.STEP_LEASE_SECONDS)),
        );
        return requests.map((r) => claimed.get(r.stepRunId) ?? null);
      },
      // Two requests for one run never share a statement: alone, the second finds it claimed.
      { key: (r) => r.stepRunId },
    );
    // Two runs of one enrollment never share a statement (its row is updated once per statement).
    // An advance run again changes nothing its first run committed (see `advanceRuns`).
    const advances = loader<Outcome, RunRef | null>(
      (outcomes) => retryingLostConnections(deps, () => advanceRuns(deps, outcomes)),
      { key: (o) => o.enrollmentId },
    );
    // Checks that start together share one statement; each enrollment's rows are locked and
    // checked exactly as alone, and the statement commits before any of their exchanges starts.
    const checks = loader<string, HandOffCheck | null>(async (ids) => {
      const found = await checkHandOffs(deps, ids);
      return ids.map((id) => found.get(id) ?? null);
    });
    batches = {
      claim: (r) => claims.load(r),
      advance: (o) => advances.load(o),
      handOffCheck: (id) => checks.load(id),
    };
    perProcess.set(deps, batches);
  }
  return batches;
}

function loader<K, V>(
  run: (items: K[]) => Promise<V[]>,
  opts: { key?: (item: K) => string } = {},
): DataLoader<K, V> {
  return new DataLoader<K, V>(
    async (items) => {
      const duplicates = opts.key ? new Set(items.map(opts.key)).size < items.length : false;
      try {
        if (!duplicates) return await run([...items]);
      } catch (err) {
        // Only a statement Postgres refused is known to have changed nothing. A connection still
        // lost after the retries above fails the whole batch: its runs' leases decide.
        if (items.length === 1 || connectionLost(err)) throw err;
      }
      // Alone, each item succeeds or fails on its own.
      return Promise.all(
        items.map((item) =>
          run([item]).then(
            (v) => v[0] as V,
            (e: unknown) => toError(e),
          ),
        ),
      );
    },
    { cache: false, maxBatchSize: MAX_BATCH, batchScheduleFn: (flush) => setImmediate(flush) },
  );
}

const toError = (e: unknown) => (e instanceof Error ? e : new Error(String(e)));
