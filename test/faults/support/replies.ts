import { and, eq, inArray } from 'drizzle-orm';
import { stepRuns } from '../../../src/db/schema/index';
import { waitFor } from '../../helpers/engine';
import type { Cadence, CadenceLead, FaultWorld } from './world';

/** A lead's reply as its mail client writes it, answering `inReplyTo`; one Message-ID per lead and tag. */
export const rawReply = (lead: CadenceLead, inReplyTo: string, tag = 'reply') =>
  [
    `From: <${lead.email}>`,
    'To: sales@sender.test',
    'Subject: Re: Hello',
    `Message-ID: <${tag}-${lead.id}@lead.test>`,
    `In-Reply-To: ${inReplyTo}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Sounds good, call me on Tuesday.',
    '',
  ].join('\r\n');

/**
 * Waits for the cadence's first email to reach every lead, and with `recorded`, for the engine to
 * record each as sent too. Returns the Message-ID each lead received, by address: what a reply answers.
 */
export async function firstMessageIds(
  world: FaultWorld,
  cadence: Cadence,
  opts: { recorded?: boolean } = {},
): Promise<Map<string, string>> {
  const idOf = new Map<string, string>();
  await waitFor(
    async () => {
      for (const mail of world.sink.received)
        if (mail.parsed.messageId && !idOf.has(mail.envelopeTo[0] ?? ''))
          idOf.set(mail.envelopeTo[0] ?? '', mail.parsed.messageId);
      if (idOf.size < cadence.leads.length) return false;
      if (!opts.recorded) return true;
      const sent = await world.engine.deps.db
        .select({ id: stepRuns.id })
        .from(stepRuns)
        .where(
          and(
            inArray(stepRuns.enrollmentId, cadence.enrollmentIds),
            eq(stepRuns.stepId, 'first'),
            eq(stepRuns.status, 'sent'),
          ),
        );
      return sent.length === cadence.leads.length;
    },
    { timeoutMs: 60_000, what: 'the first email to every lead' },
  );
  return idOf;
}
