import { z } from 'zod';
import { ReplyIntent } from '../../core/sequences';
import { type OutboundEventType, TEST_EVENT_TYPE } from './event-types';

/**
 * The documented payload of every outbound event: one entry per type, with when it is sent and the
 * fields it adds to `data`. docs/webhooks.md is generated from this (`npm run docs:webhooks`), and
 * test/api/webhook-events.test.ts checks every event a real flow delivers against it. A new event
 * type needs an entry here; the test names any type without one.
 */

/** The lead as it stood when the event happened (`fan-out.ts` builds it); null once erased. */
export const LeadSnapshot = z
  .object({
    id: z.uuid(),
    email: z.string().nullable(),
    linkedinUrl: z.string().nullable(),
    firstName: z.string().nullable(),
    lastName: z.string().nullable(),
    company: z.string().nullable(),
    title: z.string().nullable(),
    stage: z.string(),
    score: z.number().int(),
    status: z.string(),
    customFields: z.record(z.string(), z.unknown()),
  })
  .describe('The lead as it was when the event happened');

/** Fields every event's `data` carries, whatever its type. */
export const CommonEventData = z.object({
  eventId: z.number().int().describe('the timeline event id: increasing, use it to order events'),
  workspaceId: z.uuid(),
  leadId: z.uuid().nullable().describe('null for account- and mailbox-level events'),
  enrollmentId: z.uuid().nullable().describe('the enrollment the event belongs to, when there is one'),
  lead: LeadSnapshot.nullable().describe(
    'the lead as it was when the event happened: `id`, `email`, `linkedinUrl`, `firstName`, `lastName`, `company`, `title`, `stage`, `score`, `status`, `customFields`; null for an erased lead',
  ),
});

const uuid = z.uuid();
const isoTime = z.iso.datetime({ offset: true });

export type EventSchemaEntry = {
  /** When the event is sent, in a line of prose for the docs table. */
  when: string;
  /** The fields the type adds to `data`, each with `.describe()` for the docs. */
  data: z.ZodObject;
};

const entry = (when: string, data: z.ZodRawShape): EventSchemaEntry => ({ when, data: z.object(data) });

const stepFields = {
  stepId: z.string().describe('the step in the sequence version'),
  stepType: z.string().describe('`email`, `linkedin_message`, `linkedin_invite`…'),
};

/**
 * One entry per outbound event type. `Partial` so a type added to `outboundEventTypes` in parallel
 * still compiles; the schema test then fails naming it.
 */
export const outboundEventSchemas: Partial<Record<OutboundEventType, EventSchemaEntry>> = {
  'lead.created': entry('a lead is created (API, bulk, CSV import)', {
    source: z.string().describe('`api`, `import`'),
  }),
  'lead.stage_changed': entry('any stage move (API, reply, sequence rule, scoring, clean-up)', {
    from: z.string().nullable().describe('the stage before'),
    to: z.string().describe('the stage after'),
    reason: z.string().nullable().describe('e.g. `replied`, `sequence_completed:<sequenceId>`'),
    source: z.string().describe('`api`, `engine`, `reply`, `score`, `cleanup`, `import`'),
  }),
  'lead.replied': entry("a human reply (stops the lead's cadences; create a CRM activity or task from it)", {
    channel: z.enum(['email', 'linkedin']),
    messageId: uuid.nullable().describe('our stored inbound message id (`GET /v1/leads/:id/messages`)'),
    sequenceId: uuid.nullable().describe('the sequence the reply answered, when known'),
    class: ReplyIntent.optional().describe('what the reply says, when classified'),
  }),
  'lead.out_of_office': entry(
    "an auto-reply or out-of-office paused the lead's enrollments until a return date",
    {
      messageId: uuid.nullable().describe('our stored inbound message id'),
      until: isoTime.describe('when the enrollments resume'),
      returnDateRead: z
        .boolean()
        .describe('true when the date was read from the text, false: the 7-day default'),
    },
  ),
  'lead.unsubscribed': entry('unsubscribe link, one-click, an unsubscribe reply, or a spam complaint', {
    source: z.string().describe('`link`, `one_click`, `reply`, `complaint`, `api`…'),
  }),
  'lead.bounced': entry('SMTP 5xx or a delivery report: the address is dead and suppressed', {
    reason: z.string().describe("the server's words"),
  }),
  'enrollment.started': entry('a lead enters a sequence', {
    sequenceId: uuid,
    version: z.number().int().describe('the sequence version the enrollment runs'),
  }),
  'enrollment.completed': entry('the last step ran: the cadence ended without a reply', {
    sequenceId: uuid,
  }),
  'enrollment.stopped': entry('a reply, bounce, unsubscribe, manual stop… ended it', {
    status: z.string().describe('`replied`, `bounced`, `unsubscribed`, `stopped`, …'),
    reason: z.string().nullable(),
    inFlight: z
      .array(uuid)
      .optional()
      .describe(
        'step runs already handed to their channel (SMTP, LinkedIn) when the stop committed: their message may still arrive; nothing after them runs',
      ),
  }),
  'message.sent': entry('an email or LinkedIn message went out', {
    ...stepFields,
    messageId: z.string().optional().describe('email: the Message-ID header'),
    mailboxId: uuid.optional().describe('email: the mailbox it went from'),
    variant: z
      .number()
      .int()
      .nullable()
      .optional()
      .describe(
        "email: 0 is the step's own subject and body (A), 1 its first `variants` entry…; null without variants",
      ),
    messageRowId: uuid.optional().describe('LinkedIn: our stored message id'),
  }),
  'linkedin.invite_sent': entry('a connection request went out (or was already there)', {
    ...stepFields,
    invited: z.boolean().optional(),
    note: z.string().nullable().optional().describe('the note sent with it'),
    noteDropped: z.string().optional().describe('why the note was left out, e.g. `note_quota_exhausted`'),
    alreadyConnected: z.boolean().optional(),
    alreadyPending: z.boolean().optional(),
    connection: z.string().optional(),
  }),
  'linkedin.invite_accepted': entry('the lead accepted the connection request', {
    linkedinUrl: z.string(),
  }),
  'linkedin.account_challenged': entry(
    'LinkedIn put a wall (checkpoint, login) in front of an account: its steps wait; `leadId` and `lead` are null',
    {
      accountId: uuid,
      accountName: z.string(),
      reason: z.string().describe('`checkpoint`, `login_wall`, `account_chooser`'),
    },
  ),
  'linkedin.layout_unrecognized': entry(
    'a LinkedIn account met a page its page objects do not recognise (the account stops), once per stop; `leadId` and `lead` are null',
    {
      accountId: uuid,
      accountName: z.string(),
      pageObject: z.string().describe('e.g. `profile.top_card`'),
    },
  ),
  'mailbox.inbox_error': entry(
    "a mailbox's inbox (IMAP) or OAuth2 refresh failed, when the status or error changes; `leadId` and `lead` are null",
    {
      mailboxId: uuid,
      status: z.string().describe('`auth_failed`, `error`'),
      error: z.string().describe("the server's or provider's words"),
      failures: z.number().int().describe('consecutive failures'),
      retryAt: isoTime,
    },
  ),
  'email.opened': entry('the tracking pixel of an email was loaded (when open tracking is on)', {
    messageId: z.string().describe('the Message-ID of the email opened'),
  }),
  'email.clicked': entry('a tracked link in an email was followed', {
    messageId: z.string().describe('the Message-ID of the email'),
    url: z.string().describe("the link's target"),
  }),
  'step.ambiguous': entry(
    'a send may or may not have happened (a worker died mid-send); an operator settles it with `POST /v1/step-runs/:id/resolve`',
    { reason: z.string().describe('e.g. `lease_expired`') },
  ),
  'automation.applied': entry(
    'an automation rule (`POST /v1/automations`) acted on the lead, once per rule and lead: `applied`, or `skipped` with a reason (already enrolled, stage gone…)',
    {
      automationId: uuid,
      name: z.string(),
      action: z.enum(['enroll', 'move', 'task']),
      status: z.enum(['applied', 'skipped', 'failed']),
      sequenceId: uuid.optional().describe('`enroll`: the sequence'),
      enrollmentId: uuid.optional().describe('`enroll`: the enrollment made'),
      stage: z.string().optional().describe('`move`: the target stage'),
      from: z.string().nullable().optional().describe('`move`: the stage before'),
      taskId: uuid.optional().describe('`task`: the task made'),
      reason: z.string().optional().describe('`skipped`: why'),
    },
  ),
  'task.created': entry(
    'a `task` step or an automation wrote a task for the lead (a call to make, a manual step)',
    {
      taskId: uuid,
      title: z.string().describe("rendered over the lead's fields"),
      kind: z.string().describe('`call`, `manual`'),
    },
  ),
  'task.completed': entry('`PATCH /v1/tasks/:id` marked an open task done', {
    taskId: uuid,
    title: z.string(),
    kind: z.string(),
    assignee: z.string().nullable(),
  }),
  'sequence.variant_promoted': entry(
    "an A/B test's winner was recorded under `settings.abAutoPromote` (new runs of the step send only it), once per step and copy; `leadId` and `lead` are null",
    {
      sequenceId: uuid,
      version: z.number().int().describe('the sequence version current at the decision'),
      stepId: z.string(),
      variant: z.number().int().describe("0 is A (the step's own subject and body), 1 is B…"),
      label: z.string().describe('`A`, `B`…'),
      pValue: z
        .number()
        .describe('the largest Bonferroni-adjusted p-value of the winner against each other variant'),
      confidence: z.number().describe('`settings.abConfidence`'),
      variants: z
        .array(
          z.object({
            variant: z.number().int(),
            label: z.string(),
            sent: z.number().int(),
            replies: z.number().int(),
          }),
        )
        .describe('sends and human replies per variant at the decision'),
    },
  ),
};

/** The `webhook.test` ping's `data` (it has none of the common fields). */
export const TestPingData = z.object({
  workspaceId: uuid,
  endpointId: uuid,
  message: z.string(),
});

/**
 * The full body a receiver gets for `type`, or null when the type has no documented schema. Strict,
 * so a field the code sends but the docs do not list fails validation.
 */
export function outboundPayloadSchema(type: string) {
  if (type === TEST_EVENT_TYPE)
    return z.strictObject({ type: z.literal(type), timestamp: isoTime, data: TestPingData.strict() });
  const schema = outboundEventSchemas[type as OutboundEventType];
  if (!schema) return null;
  return z.strictObject({
    type: z.literal(type),
    timestamp: isoTime,
    data: CommonEventData.extend(schema.data.shape).strict(),
  });
}
