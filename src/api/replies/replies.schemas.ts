import { z } from 'zod';
import { PageQuery } from '../http/schemas';
import { Email } from '../../lib/identity';

/** Marks a reply from any integration (a CRM, a shared inbox, a call log). */
export const MarkReplyBody = z
  .object({
    leadId: z.uuid().optional(),
    email: Email.optional(),
    channel: z.enum(['email', 'linkedin']),
    text: z.string().max(100_000).optional(),
    class: z
      .enum(['interested', 'not_interested', 'other'])
      .optional()
      .describe(
        "What the reply says; left out, it is read from `text` (else `other`). Picks the sequence's onReply.byClass rule.",
      ),
  })
  .refine((b) => b.leadId !== undefined || b.email !== undefined, {
    message: 'give leadId or email',
    path: ['leadId'],
  });
export type MarkReplyBody = z.infer<typeof MarkReplyBody>;

export const MarkedReply = z.object({
  leadId: z.uuid(),
  messageId: z.uuid().describe('Our id for the recorded inbound message'),
  stoppedEnrollmentIds: z.array(z.uuid()),
  stage: z.string().describe('The lead stage after the reply'),
  class: z.enum(['interested', 'not_interested', 'other']).describe('The reply class the stage rules used'),
});

export const InboundQuery = PageQuery.extend({
  status: z.enum(['matched', 'unmatched']).optional(),
  channel: z.enum(['email', 'linkedin']).optional(),
});
export type InboundQuery = z.infer<typeof InboundQuery>;

export const InboundMessage = z.object({
  id: z.uuid(),
  channel: z.string(),
  status: z.string(),
  classification: z.string().nullable(),
  leadId: z.uuid().nullable(),
  from: z.string().nullable(),
  to: z.string().nullable(),
  subject: z.string().nullable(),
  text: z.string().nullable(),
  messageId: z.string().nullable().describe('RFC 5322 Message-ID of the inbound email'),
  inReplyTo: z.string().nullable(),
  receivedAt: z.string(),
});
export type InboundMessage = z.infer<typeof InboundMessage>;
