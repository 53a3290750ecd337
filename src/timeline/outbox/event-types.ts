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
] as const;
export type OutboundEventType = (typeof outboundEventTypes)[number];

/** Subscribing to `*` means every outbound type, including ones added later. */
export const ALL_EVENTS = '*';

const outbound: ReadonlySet<string> = new Set(outboundEventTypes);
export const isOutboundEventType = (type: string): type is OutboundEventType => outbound.has(type);
