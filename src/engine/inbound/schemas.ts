import { z } from 'zod';
import { LinkedInUrl } from '../../lib/identity';

const oneOrMany = (item: z.ZodString, max: number) =>
  z.union([item, z.array(item).max(max)]).transform((v) => (Array.isArray(v) ? v : [v]));

/** Inbound email as JSON, the shape mail providers' inbound-parse webhooks map to easily (docs/design.md §5). */
export const InboundEmailBody = z.object({
  from: z.string().trim().min(1).max(1000).describe('Sender, "Jane <jane@acme.com>" or a bare address'),
  to: oneOrMany(z.string().max(1000), 100).optional(),
  subject: z.string().max(2000).optional(),
  text: z.string().optional(),
  html: z.string().optional(),
  messageId: z.string().max(1000).optional(),
  inReplyTo: z.string().max(1000).optional(),
  references: oneOrMany(z.string().max(20_000), 500).optional(),
  headers: z
    .record(z.string().max(200), z.string().max(20_000))
    .optional()
    .describe('Raw headers by name; Auto-Submitted, Precedence, Content-Type… help classification'),
  receivedAt: z.iso.datetime({ offset: true }).optional(),
});
export type InboundEmailBody = z.infer<typeof InboundEmailBody>;

export const LinkedInEventBody = z.object({
  type: z.enum(['reply', 'invite_accepted']),
  linkedinUrl: LinkedInUrl,
  text: z.string().max(100_000).optional(),
  at: z.iso.datetime({ offset: true }).optional(),
});
export type LinkedInEventBody = z.infer<typeof LinkedInEventBody>;

export const WorkspaceParams = z.object({ workspaceId: z.string().max(100) });

export const InboundResult = z.object({
  status: z
    .enum(['matched', 'unmatched', 'duplicate', 'accepted'])
    .describe('`accepted` (202): stored, to be applied in the background (`Prefer: respond-async`)'),
  classification: z
    .enum(['human', 'auto_reply', 'bounce', 'unsubscribe', 'complaint', 'receipt', 'invite_accepted'])
    .nullable(),
  leadId: z.uuid().nullable(),
  messageId: z.uuid().nullable().describe('Our id for the stored inbound message'),
});
export type InboundResult = z.infer<typeof InboundResult>;
