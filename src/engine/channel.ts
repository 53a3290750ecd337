import type { Deps } from '../context';
import type { HandOff } from './liveness';
import type { enrollments, leads, stepRuns } from '../db/schema/index';
import type { ResolvedStep } from '../core/steps';
import type { SequenceDefinition } from '../core/sequences';

export type LeadRow = typeof leads.$inferSelect;
export type EnrollmentRow = typeof enrollments.$inferSelect;
export type StepRunRow = typeof stepRuns.$inferSelect;

/** Everything a channel needs to execute one claimed step run. */
export type StepContext = {
  deps: Deps;
  lead: LeadRow;
  enrollment: EnrollmentRow;
  run: StepRunRow;
  step: ResolvedStep;
  definition: SequenceDefinition;
  /** The workspace's time zone: the last fallback for the lead's local time. */
  workspaceTimezone: string;
  /** The workspace's holiday country, for leads without one. */
  workspaceCountry?: string | null;
  /** Index of the step in the definition (0-based). */
  stepIndex: number;
  /**
   * Wrap the hand-off itself (the SMTP exchange, the LinkedIn action) in this. It runs `send` only
   * if no reply, unsubscribe, bounce or pause landed since the claim, and holds that state until
   * `send` returns; `{allowed: false}` means nothing was sent and the channel answers `stopped`.
   */
  handOff<T>(send: () => Promise<T>): Promise<HandOff<T>>;
};

/**
 * What a channel reports back. The engine turns it into the run's terminal state in one transaction.
 * - `sent`: done; `data` is stored on the run (message id, variant, profile state…).
 * - `retry_later`: nothing was sent; run again at or after `at` (capacity, rate signal, 4xx, paused account).
 * - `failed`: permanent; `stop` names a lead-level stop rule to apply (a hard bounce stops everything).
 * - `stopped`: nothing was sent because `handOff` found the cadence stopped.
 */
export type ChannelResult =
  | {
      kind: 'sent';
      data?: Record<string, unknown>;
      /**
       * The outbound message row this send wrote, still `sending`: the engine marks it `sent` in the
       * statement that records the outcome, so a message is `sent` exactly when its run is.
       */
      sentMessageRowId?: string;
      enrollmentPatch?: Partial<
        Pick<EnrollmentRow, 'threadMessageId' | 'threadSubject' | 'mailboxId' | 'linkedinAccountId'>
      >;
    }
  | { kind: 'retry_later'; at: Date; reason: string; countsAsAttempt?: boolean }
  | {
      kind: 'failed';
      reason: string;
      stop?: 'bounced';
      /** Kept on the run as its result (`variant` as its variant): a bounce counts against its variant. */
      data?: Record<string, unknown>;
    }
  | { kind: 'stopped'; reason: string };

export interface Channel {
  /** Step types this channel executes. */
  readonly stepTypes: readonly string[];
  /**
   * True when the channel records the hand-off on the run itself (`handoff = 'started'`, only while
   * the claim is current) before anything leaves, so a run whose worker died before that is run
   * again. For any other channel the engine records it before calling `send`.
   */
  readonly marksHandOff?: boolean;
  send(ctx: StepContext): Promise<ChannelResult>;
  /** Releases pooled resources (SMTP transports, browsers) at shutdown. */
  close?(): Promise<void>;
}
