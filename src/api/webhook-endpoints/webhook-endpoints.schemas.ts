import { z } from 'zod';
import { PageQuery } from '../http/schemas';
import { ALL_EVENTS, outboundEventTypes } from '../../timeline/outbox/event-types';

/** Only http(s): a `file:` or `gopher:` URL would turn delivery into a way to read our network. */
export const EndpointUrl = z
  .url({ protocol: /^https?$/, message: 'must be an http:// or https:// URL' })
  .max(2000)
  .refine(withoutCredentials, 'must not contain credentials');

function withoutCredentials(value: string): boolean {
  try {
    const url = new URL(value);
    return !url.username && !url.password;
  } catch {
    return true; // not a URL at all: the url check above reports that
  }
}

const EndpointEvents = z
  .array(z.enum([...outboundEventTypes, ALL_EVENTS]))
  .min(1)
  .max(outboundEventTypes.length + 1)
  .transform((events) => [...new Set(events)])
  .describe('Event types to receive; "*" for all of them, including types added later.');

const Description = z.string().trim().max(500).describe('A note for people: which CRM, who owns it.');

export const CreateWebhookEndpointBody = z.object({
  url: EndpointUrl.describe('Where deliveries are POSTed: a public http(s) URL.'),
  events: EndpointEvents,
  description: Description.optional(),
});
export type CreateWebhookEndpointBody = z.infer<typeof CreateWebhookEndpointBody>;

export const UpdateWebhookEndpointBody = z
  .object({
    url: EndpointUrl.describe('A new URL, checked like one given at creation.').optional(),
    events: EndpointEvents.optional(),
    description: Description.nullable().optional(),
    enabled: z
      .boolean()
      .describe('false: no new deliveries are queued for it; pending ones still go out.')
      .optional(),
  })
  .refine((body) => Object.keys(body).length > 0, 'give at least one of url, events, description, enabled');
export type UpdateWebhookEndpointBody = z.infer<typeof UpdateWebhookEndpointBody>;

export const WebhookEndpoint = z.object({
  id: z.uuid(),
  url: z.string(),
  events: z.array(z.string()),
  description: z.string().nullable(),
  enabled: z.boolean(),
  previousSecretExpiresAt: z
    .string()
    .nullable()
    .describe('During a rotation overlap: until when deliveries are also signed with the previous secret.'),
  createdAt: z.string(),
});
export type WebhookEndpoint = z.infer<typeof WebhookEndpoint>;

export const CreatedWebhookEndpoint = WebhookEndpoint.extend({
  secret: z.string().describe('Standard Webhooks signing secret (whsec_…). Shown once; store it now.'),
});

export const DeliveriesQuery = PageQuery.extend({
  status: z.enum(['pending', 'succeeded', 'failed']).optional(),
});
export type DeliveriesQuery = z.infer<typeof DeliveriesQuery>;

export const DeliveryAttempt = z.object({
  attempt: z.number().int(),
  statusCode: z.number().int().nullable(),
  error: z.string().nullable(),
  durationMs: z.number().int().nullable(),
  at: z.string(),
});

export const Delivery = z.object({
  id: z.uuid().describe('Also the `webhook-id` header the receiver sees, the same on every retry.'),
  eventType: z.string(),
  eventId: z.number().int().nullable(),
  status: z.enum(['pending', 'succeeded', 'failed']),
  attemptCount: z.number().int(),
  createdAt: z.string(),
  deliveredAt: z.string().nullable(),
  payload: z.record(z.string(), z.unknown()),
  attempts: z.array(DeliveryAttempt),
});
export type Delivery = z.infer<typeof Delivery>;

/** Default overlap of a rotation: a day for receivers to switch to the new secret. */
export const DEFAULT_OVERLAP_HOURS = 24;

export const RotateSecretBody = z
  .object({
    overlapHours: z
      .number()
      .int()
      .min(0)
      .max(168)
      .default(DEFAULT_OVERLAP_HOURS)
      .describe(
        'How long deliveries stay signed with the previous secret too (0 = stop using it now); at most a week.',
      ),
  })
  .nullish()
  .describe('Optional: without a body, the overlap is 24 hours.');
export type RotateSecretBody = z.infer<typeof RotateSecretBody>;

export const RotatedSecret = z.object({
  secret: z.string().describe('The new signing secret (whsec_…). Shown once; store it now.'),
  previousSecretExpiresAt: z
    .string()
    .nullable()
    .describe('Until when the previous secret signs deliveries as well; null when the overlap is 0.'),
});

export const DeliveryParams = z.object({
  id: z.uuid().describe('The endpoint id.'),
  deliveryId: z.uuid().describe('The delivery id (the `webhook-id` the receiver saw).'),
});

export const ReplayedDelivery = z.object({
  id: z.uuid().describe('The same delivery id, so the receiver sees the same `webhook-id` and can dedupe.'),
  status: z.literal('pending'),
});

export const TestPingResult = z.object({
  deliveryId: z.uuid().describe('The ping is logged as a delivery of type `webhook.test`.'),
  ok: z.boolean().describe('Whether the receiver answered 2xx.'),
  statusCode: z.number().int().nullable().describe("The receiver's HTTP status; null when none came."),
  error: z.string().nullable().describe('Why no 2xx came: a connection error, a timeout, a blocked address.'),
  durationMs: z.number().int(),
});
