import { z } from 'zod';
import type { EnrollmentGate } from '../../engine/list-check';
import { MAX_CHECKED_ADDRESSES } from '../../engine/list-check';
import { HttpError } from '../http/errors';

const atMost = `at most ${MAX_CHECKED_ADDRESSES} addresses per call`;

export const ListCheckBody = z
  .object({
    emails: z
      .array(z.string().max(320))
      .max(MAX_CHECKED_ADDRESSES, atMost)
      .optional()
      .describe('Addresses to check as given; a malformed one is reported, not refused'),
    leadIds: z
      .array(z.uuid())
      .max(MAX_CHECKED_ADDRESSES, atMost)
      .optional()
      .describe('Leads of this workspace whose address to check (a lead without one is `no_email`)'),
  })
  .strict()
  .refine((b) => (b.emails?.length ?? 0) + (b.leadIds?.length ?? 0) > 0, {
    path: ['emails'],
    message: 'give emails or leadIds',
  })
  .refine((b) => (b.emails?.length ?? 0) + (b.leadIds?.length ?? 0) <= MAX_CHECKED_ADDRESSES, {
    path: ['emails'],
    message: `${atMost}, emails and leadIds together`,
  });

const DomainVerdictOut = z
  .enum(['ok', 'no_mx', 'null_mx', 'no_domain', 'unknown'])
  .nullable()
  .describe(
    'The MX lookup: `no_mx` (no MX and no A/AAAA), `null_mx` (RFC 7505: takes no mail), `no_domain` (NXDOMAIN), `unknown` (the DNS did not answer; never counted as invalid); null when the syntax failed',
  );

export const AddressCheckOut = z.object({
  email: z.string().nullable(),
  leadId: z.uuid().nullable(),
  syntax: z.enum(['valid', 'invalid', 'missing']),
  domain: DomainVerdictOut,
  disposable: z.boolean().describe('The domain is a throwaway-mail service (disposable-email-domains)'),
  role: z.boolean().describe('A role address (info@, sales@, support@…: docs/design.md lists them)'),
  suppressed: z.boolean().describe('A suppression of this workspace matches the address or its domain'),
  bounced: z.boolean().describe('The address bounced before in this workspace'),
  verdict: z
    .enum(['ok', 'risky', 'bounce', 'no_email'])
    .describe('`bounce` counts towards the bounce share; `risky` does not'),
  reasons: z.array(z.string()),
});

export const ListCheckSummaryOut = z.object({
  checked: z.number().int().describe('Addresses checked (entries with an email)'),
  bouncing: z.number().int(),
  risky: z.number().int(),
  bounceSharePercent: z.number().describe('bouncing / checked, in percent'),
});

export const ListCheckOut = z.object({ results: z.array(AddressCheckOut), summary: ListCheckSummaryOut });

/** The 422 of an enrollment whose list is above the workspace's bounce threshold. */
export function bounceThresholdError(
  gate: Extract<EnrollmentGate, { ok: false }>,
  leadIds: readonly string[],
) {
  const share = gate.check.summary.bounceSharePercent;
  const index = new Map(leadIds.map((id, i) => [id, i] as const));
  return new HttpError(
    422,
    'bounce_threshold_exceeded',
    `${share}% of the checked leads are expected to bounce, above the workspace threshold of ${gate.thresholdPercent}%; remove the offending leads or raise bounceThresholdPercent`,
    gate.offending.map((o) => ({
      path: `body.leadIds.${index.get(o.leadId) ?? 0}`,
      leadId: o.leadId,
      email: o.email,
      reasons: o.reasons,
      message: o.reasons.join(', '),
    })),
  );
}
