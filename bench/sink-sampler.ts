import type { Child } from './child';

export type SessionUse = {
  samples: number;
  /** Mean SMTP sessions mid-message (MAIL FROM to the answer to DATA). */
  busySessions: number;
  /** Mean mailboxes (senders) with at least one session mid-message. */
  mailboxesBusy: number;
  /** Mean of the busiest mailbox's sessions mid-message. */
  busiestMailbox: number;
  /** Means of the extra figures sampled alongside (e.g. steps handed off and not yet answered). */
  extra: Record<string, number>;
};

/**
 * Samples the slow sink every 200 ms while a phase runs: how many of the sessions a sender may open
 * it keeps busy, and over how many mailboxes. `extra` adds figures sampled at the same moments.
 */
export function sampleSessions(
  sink: Child,
  extra: Record<string, () => Promise<number>> = {},
): { stop(): Promise<SessionUse> } {
  const sums = { busy: 0, senders: 0, busiest: 0 };
  const extraSums = new Map<string, number>();
  let samples = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const counts = await sink.request('count');
      sums.busy += Number(counts.busy ?? 0);
      sums.senders += Number(counts.sendersBusy ?? 0);
      sums.busiest += Number(counts.busiestSender ?? 0);
      for (const [name, read] of Object.entries(extra))
        extraSums.set(name, (extraSums.get(name) ?? 0) + (await read()));
      samples += 1;
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  const mean = (sum: number) => Number((sum / Math.max(1, samples)).toFixed(1));
  return {
    async stop() {
      stopped = true;
      await loop.catch(() => {});
      return {
        samples,
        busySessions: mean(sums.busy),
        mailboxesBusy: mean(sums.senders),
        busiestMailbox: mean(sums.busiest),
        extra: Object.fromEntries([...extraSums].map(([k, v]) => [k, mean(v)])),
      };
    },
  };
}
