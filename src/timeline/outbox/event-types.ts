/** Event types a webhook endpoint can subscribe to (docs/webhooks.md documents each payload). */
export const outboundEventTypes = [
  'lead.created',
  'lead.stage_changed',
  'lead.replied',
  'lead.unsubscribed',
  'lead.bounced',
  'enrollment.started',
  'enrollment.completed',
  'enrollment.stopped',
  'message.sent',
  'linkedin.invite_sent',
  'linkedin.invite_accepted',
  'mailbox.inbox_error',
  'linkedin.layout_unrecognized',
  'task.created',
  'task.completed',
  'step.ambiguous',
  'lead.out_of_office',
  'linkedin.account_challenged',
  'email.opened',
  'email.clicked',
  'sequence.variant_promoted',
  'automation.applied',
] as const;
export type OutboundEventType = (typeof outboundEventTypes)[number];

/** Subscribing to `*` means every outbound type, including ones added later. */
export const ALL_EVENTS = '*';

const outbound: ReadonlySet<string> = new Set(outboundEventTypes);
export const isOutboundEventType = (type: string): type is OutboundEventType => outbound.has(type);

/** The ping `POST /v1/webhook-endpoints/:id/test` sends; no endpoint subscribes to it. */
export const TEST_EVENT_TYPE = 'webhook.test';
