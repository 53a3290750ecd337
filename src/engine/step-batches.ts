import type { Deps } from '../context';
import { groupCommit } from '../db/group-commit';
import { retryingAborts, retryingLostConnections } from '../db/transaction';
import { advanceRuns, type Outcome } from './advance-in-one';
import { type ClaimedRun, type ClaimRequest, claimStepRuns } from './claim';
import type { RunRef } from './dispatch';
import { checkHandOffs, type HandOffCheck } from './liveness';

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
 * A lone job is a batch of one and waits for nothing; at most 50 share a statement (`groupCommit`).
 * If Postgres refuses a batch for another reason than a deadlock (which is retried whole), each of
 * its items is run alone, so one bad row cannot fail the others; a connection still lost after the
 * retries fails the whole batch, and its runs' leases decide.
 */
export function stepBatches(deps: Deps): StepBatches {
  let batches = perProcess.get(deps);
  if (!batches) {
    const claim = groupCommit<ClaimRequest, ClaimedRun | null>(
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
    const advance = groupCommit<Outcome, RunRef | null>(
      (outcomes) => retryingLostConnections(deps, () => advanceRuns(deps, outcomes)),
      { key: (o) => o.enrollmentId },
    );
    // Checks that start together share one statement; each enrollment's rows are locked and
    // checked exactly as alone, and the statement commits before any of their exchanges starts.
    const handOffCheck = groupCommit<string, HandOffCheck | null>(async (ids) => {
      const found = await checkHandOffs(deps, ids);
      return ids.map((id) => found.get(id) ?? null);
    });
    batches = { claim, advance, handOffCheck };
    perProcess.set(deps, batches);
  }
  return batches;
}
