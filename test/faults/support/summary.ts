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
  /**
   * Ambiguous runs the inbox reader settled as sent, having found their message in the mailbox
   * (Sent folder or INBOX): without the inbox connected they would be `ambiguous` too. Only for
   * scenarios whose mailbox has an inbox.
   */
  settledFromMailbox?: number;
  /**
   * Of the runs left `ambiguous`, those whose message the SMTP server did accept: what a Sent folder
   * could have settled. The others never reached the server (nothing to find anywhere).
   */
  ambiguousAccepted?: number;
};

/** One line of the inbox table: messages put in a mailbox and what the engine did with them. */
export type InboxRow = {
  scenario: string;
  /** Messages appended to the mailbox (distinct Message-IDs). */
  expected: number;
  /** Of those, stored once and acted on once (one inbound row, one `lead.replied` for its lead). */
  actedOn: number;
  /** Expected messages with no inbound row. Must be 0. */
  missed: number;
  /** Inbound rows beyond the first per Message-ID, plus `lead.replied` events beyond one per lead. Must be 0. */
  duplicates: number;
  /** Inbound rows stored for messages the scenario did not expect read (mail older than the reader's window). Must be 0. */
  unexpected: number;
  /** Distinct readers (processes) seen holding the inbox's lease during the scenario. */
  readers: number;
};

declare module 'vitest' {
  interface TaskMeta {
    fault?: FaultRow;
    /** More rows of the fault table, for a scenario that accounts several mailboxes apart. */
    faults?: FaultRow[];
    inbox?: InboxRow[];
  }
}

/** Attaches the row to the test, where the summary reporter finds it; call before asserting. */
export function report(context: TestContext, row: FaultRow): void {
  context.task.meta.fault = row;
}

/** Attaches several fault-table rows to one test (one per mailbox it accounts). */
export function reportRows(context: TestContext, rows: FaultRow[]): void {
  context.task.meta.faults = rows;
}

/** Attaches rows of the inbox table to the test (one per fault of a scenario, say); call before asserting. */
export function reportInbox(context: TestContext, rows: InboxRow[]): void {
  context.task.meta.inbox = rows;
}
