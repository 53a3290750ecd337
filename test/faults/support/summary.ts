import type { TestContext } from 'vitest';

/** One line of the fault suite's summary: what a scenario's ledger and SMTP sink show at its end. */
export type FaultRow = {
  scenario: string;
  /** Leads × steps. */
  expected: number;
  /** Runs recorded sent whose message the sink received. */
  sent: number;
  /** Copies received beyond the first, over all runs. Must be 0. */
  duplicates: number;
  /** Runs left `ambiguous` (maybe delivered; never resent). */
  ambiguous: number;
  /** Later steps of an enrollment held behind an ambiguous run (visible, not lost). */
  held: number;
  /** Canceled or failed runs, and steps never due because the enrollment stopped (reply, bounce). */
  stopped: number;
  /** Steps in none of the states above. Must be 0. */
  lost: number;
};

declare module 'vitest' {
  interface TaskMeta {
    fault?: FaultRow;
  }
}

/** Attaches the row to the test, where the summary reporter finds it; call before asserting. */
export function report(context: TestContext, row: FaultRow): void {
  context.task.meta.fault = row;
}
