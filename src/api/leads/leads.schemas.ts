import { z } from 'zod';
import { leadStatuses } from '../../db/schema/index';
import { PageQuery } from '../http/schemas';
import { TimeZone } from '../../core/time-zone';
import { Country } from '../../core/holidays';
import { Email, LinkedInUrl } from '../../lib/identity';
import { StageKey } from '../pipeline/pipeline.schemas';
import { jsonProblem, Text } from '../../core/text-input';

/** Empty strings (blank CSV cells, empty form fields) mean "not given". */
const blankIsAbsent = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const optional = <T extends z.ZodType>(schema: T) => z.preprocess(blankIsAbsent, schema.optional());
const Name = Text(200);
/** Board fields: a deal's amount (≥ 0, cents kept), its ISO 4217 currency, who owns the lead. */
const DealValue = z.number().min(0).max(1e12);
const DealCurrency = z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR');
const Owner = Text(200, 1);

const MAX_CUSTOM_FIELDS_BYTES = 16 * 1024;
const CustomFields = z.record(z.string().min(1).max(100), z.unknown()).superRefine((fields, ctx) => {
  const problem = jsonProblem(fields);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
  else if (JSON.stringify(fields).length > MAX_CUSTOM_FIELDS_BYTES) {
    ctx.addIssue({ code: 'custom', message: 'must be at most 16 KiB as JSON' });
  }
});

/**
 * One lead to create or update. Upserts only fill or overwrite the fields they give (custom fields are
 * merged); clearing a field, or changing `status`, is what PATCH is for.
 */
export const LeadInput = z
  .object({
    email: optional(Email),
    linkedinUrl: optional(LinkedInUrl),
    firstName: optional(Name),
    lastName: optional(Name),
    company: optional(Name),
    title: optional(Name),
    timezone: optional(TimeZone),
    /** ISO 3166-1 alpha-2; its public holidays are not business days for this lead. */
    country: optional(Country),
    customFields: CustomFields.optional(),
    dealValue: DealValue.optional(),
    dealCurrency: optional(DealCurrency),
    owner: optional(Owner),
    /** The stage for a new lead (default: the first stage); for an existing one, a stage change. */
    stage: optional(StageKey),
    /** Only used when the lead is created: an upsert never resubscribes anyone. */
    status: optional(z.enum(leadStatuses)),
  })
  .superRefine((lead, ctx) => {
    if (!lead.email && !lead.linkedinUrl) {
      ctx.addIssue({ code: 'custom', path: ['email'], message: 'email or linkedinUrl is required' });
    }
  });
export type LeadInput = z.infer<typeof LeadInput>;

export const LeadPatch = z
  .object({
    email: Email.nullable(),
    linkedinUrl: LinkedInUrl.nullable(),
    firstName: Name.nullable(),
    lastName: Name.nullable(),
    company: Name.nullable(),
    title: Name.nullable(),
    timezone: TimeZone.nullable(),
    country: Country.nullable(),
    /** Merged into the lead's custom fields; a key set to null is removed. */
    customFields: CustomFields,
    status: z.enum(leadStatuses),
    dealValue: DealValue.nullable(),
    dealCurrency: DealCurrency.nullable(),
    owner: Owner.nullable(),
  })
  .partial()
  // Strict, so `{stage: …}` is refused with its path rather than ignored: stages move via /stage.
  .strict();
export type LeadPatch = z.infer<typeof LeadPatch>;

export const Lead = z.object({
  id: z.uuid(),
  email: z.string().nullable(),
  linkedinUrl: z.string().nullable(),
  firstName: z.string().nullable(),
  lastName: z.string().nullable(),
  company: z.string().nullable(),
  title: z.string().nullable(),
  timezone: z.string().nullable(),
  country: z.string().nullable(),
  customFields: z.record(z.string(), z.unknown()),
  stage: z.string(),
  score: z.number().int(),
  status: z.enum(leadStatuses),
  dealValue: z.number().nullable(),
  dealCurrency: z.string().nullable(),
  owner: z.string().nullable(),
  lastActivityAt: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Lead = z.infer<typeof Lead>;

export const LeadListQuery = PageQuery.extend({
  stage: StageKey.optional(),
  /** Matches first name, last name, full name, email or company (case-insensitive substring). */
  q: Text(200, 1).optional(),
  /** Only leads with no activity for at least this many days. */
  staleDays: z.coerce.number().int().min(1).max(3650).optional(),
});
export type LeadListQuery = z.infer<typeof LeadListQuery>;

export const MAX_BULK = 10_000;
/** Rows are validated one by one in the service, so one bad row never rejects the batch. */
export const BulkBody = z.object({ leads: z.array(z.unknown()).min(1).max(MAX_BULK) });

export const BulkResult = z.object({
  created: z.number().int(),
  updated: z.number().int(),
  /** Rows folded into an earlier row of the same batch (same email or LinkedIn URL). */
  merged: z.number().int(),
  failed: z.array(z.object({ index: z.number().int(), error: z.string() })),
  /** The lead id each input row ended up in, by index; null for a failed row. */
  ids: z.array(z.uuid().nullable()),
});
export type BulkResult = z.infer<typeof BulkResult>;

/** A CSV import's answer: each refused row also says the file line it starts on (header = line 1). */
export const ImportResult = BulkResult.extend({
  failed: z.array(z.object({ index: z.number().int(), line: z.number().int(), error: z.string() })),
});

export const NoteBody = z.object({ body: Text(10_000, 1) });
export const Note = z.object({
  id: z.uuid(),
  leadId: z.uuid(),
  body: z.string(),
  /** The name of the API key that wrote it; null for notes written before notes had authors. */
  author: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Note = z.infer<typeof Note>;

export const StageBody = z.object({ stage: StageKey, reason: Text(500).optional() });
export const StageChangeResult = z.object({
  changed: z.boolean(),
  from: z.string().nullable(),
  to: z.string(),
  lead: Lead,
});

export const TimelineQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) });
export const TimelineItem = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('stage_changed'),
    at: z.string(),
    from: z.string().nullable(),
    to: z.string(),
    reason: z.string().nullable(),
    source: z.string(),
  }),
  z.object({
    type: z.literal('note'),
    at: z.string(),
    id: z.uuid(),
    body: z.string(),
    author: z.string().nullable(),
  }),
  z.object({
    type: z.literal('message'),
    at: z.string(),
    id: z.uuid(),
    direction: z.enum(['outbound', 'inbound']),
    channel: z.enum(['email', 'linkedin']),
    subject: z.string().nullable(),
    text: z.string().nullable(),
    status: z.string(),
  }),
  z.object({
    type: z.literal('event'),
    at: z.string(),
    event: z.string(),
    data: z.record(z.string(), z.unknown()),
  }),
]);
export type TimelineItem = z.infer<typeof TimelineItem>;
export const Timeline = z.object({ data: z.array(TimelineItem) });
