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

export const CreateWebhookEndpointBody = z.object({
  url: EndpointUrl,
  events: z
    .array(z.enum([...outboundEventTypes, ALL_EVENTS]))
    .min(1)
    .max(outboundEventTypes.length + 1)
    .transform((events) => [...new Set(events)])
    .describe('Event types to receive; "*" for all of them.'),
});
export type CreateWebhookEndpointBody = z.infer<typeof CreateWebhookEndpointBody>;

export const WebhookEndpoint = z.object({
  id: z.uuid(),
  url: z.string(),
  events: z.array(z.string()),
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
