import nodemailer from 'nodemailer';
import type { Throughput } from './bullmq';

/** The message both the ceiling and the engine send: a short personal email with its text part. */
export const benchMessage = {
  subject: (i: number) => `Quick question for Company ${i % 1000}`,
  text: (i: number) =>
    `Hi First${i},\n\nI noticed Company ${i % 1000} is growing its sales team. We help teams like yours ` +
    'book more meetings without more headcount. Would a 15-minute call next week be useful?\n\nBest,\nAlex',
};

/**
 * Ceiling: raw nodemailer. One pooled transport per mailbox, with the engine's pool settings, and
 * `concurrency` sends in flight at once (the engine's step concurrency), spread round-robin over the
 * mailboxes, into the same SMTP sink. The clock stops when the last `sendMail` resolves.
 */
export async function nodemailerCeiling(opts: {
  port: number;
  count: number;
  mailboxes: number;
  concurrency: number;
  /** SMTP sessions per mailbox (nodemailer's `maxConnections`), as `SMTP_SESSIONS_PER_MAILBOX`. */
  sessionsPerMailbox?: number;
}): Promise<Throughput> {
  const transports = Array.from({ length: opts.mailboxes }, () =>
    nodemailer.createTransport({
      pool: true,
      host: '127.0.0.1',
      port: opts.port,
      secure: false,
      maxConnections: opts.sessionsPerMailbox ?? 3,
      maxMessages: 100,
    }),
  );
  try {
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: opts.concurrency }, async () => {
        for (let i = next++; i < opts.count; i = next++) {
          const transport = transports[i % transports.length];
          if (!transport) throw new Error('no transport');
          await transport.sendMail({
            messageId: `<ceiling-${i}@sender${i % opts.mailboxes}.test>`,
            from: { name: 'Alex', address: `alex@sender${i % opts.mailboxes}.test` },
            to: { name: `First${i} Last${i}`, address: `lead${i}@company${i % 1000}.test` },
            subject: benchMessage.subject(i),
            text: benchMessage.text(i),
            headers: {
              'List-Unsubscribe': `<http://127.0.0.1:3000/u/ceiling${i}>, <mailto:alex@sender.test?subject=unsubscribe>`,
              'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
            },
          });
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    return { count: opts.count, seconds, perSecond: opts.count / seconds };
  } finally {
    for (const t of transports) t.close();
  }
}
