import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../context';
import { createTestSender, TEST_SENDS_PER_HOUR } from '../../channels/email/test-send';
import { previewStep, type StepPreview, type StepPreviewResult } from '../../channels/step-preview';
import { Email } from '../../lib/identity';
import { HttpError } from '../http/errors';
import { IdParams } from '../http/schemas';

const StepId = z.string().min(1).max(64);

const Version = z
  .number()
  .int()
  .min(1)
  .optional()
  .describe("Default: the version the lead's enrollment is pinned to, else the current one");

const PreviewBody = z.object({ leadId: z.uuid(), stepId: StepId, version: Version }).strict();

const TestSendBody = z
  .object({
    leadId: z.uuid().describe('The lead whose data fills the templates; it receives nothing'),
    stepId: StepId,
    to: Email.describe('One address (yours) to send the test to; no list, no display name'),
    mailboxId: z.uuid().optional().describe('Default: the mailbox the step would send from'),
    version: Version,
  })
  .strict();

const PreviewOut = z.object({
  stepId: z.string(),
  stepType: z.string(),
  version: z.number().int(),
  mailboxId: z.uuid().nullable().describe('The mailbox that would send it (email steps)'),
  headers: z.record(z.string(), z.string()),
  subject: z.string().nullable(),
  text: z
    .string()
    .nullable()
    .describe('The plain text (email), the message or the invitation note (LinkedIn)'),
  html: z.string().nullable(),
  variant: z.object({ index: z.number().int(), label: z.string() }).nullable(),
  variantSource: z
    .enum(['run', 'preview'])
    .nullable()
    .describe('`run`: the variant the lead’s run picks; `preview`: no run yet, a stand-in pick'),
  missingVariables: z.array(z.string()).describe('Variables printed without a default that the lead lacks'),
});

const TestSendOut = z.object({
  messageId: z.string(),
  mailboxId: z.uuid(),
  to: z.string(),
  subject: z.string(),
});

const notFoundOn = (path: string, what: string) =>
  new HttpError(404, 'not_found', `${path}: no such ${what}`, [{ path, message: `no such ${what}` }]);

/** Maps the preview's expected outcomes to HTTP, in one place. */
function refusal(result: Extract<StepPreviewResult, { ok: false }>): HttpError {
  switch (result.error) {
    case 'sequence_not_found':
      return new HttpError(404, 'not_found', 'sequence not found');
    case 'version_not_found':
      return notFoundOn('body.version', 'version of this sequence');
    case 'step_not_found':
      return notFoundOn('body.stepId', 'step in this version of the sequence');
    case 'lead_not_found':
      return notFoundOn('body.leadId', 'lead in this workspace');
    case 'mailbox_not_found':
      return notFoundOn('body.mailboxId', 'mailbox in this workspace');
    case 'not_a_message_step':
      return new HttpError(400, 'not_a_message_step', 'body.stepId: this step sends nothing to render', [
        { path: 'body.stepId', message: 'only email and LinkedIn steps can be previewed' },
      ]);
    case 'template_error':
      return new HttpError(422, 'template_error', `the template does not render: ${result.message}`);
  }
}

const previewView = (p: StepPreview) =>
  p.kind === 'email'
    ? {
        stepId: p.step.id,
        stepType: p.step.type,
        version: p.version,
        mailboxId: p.mailbox?.id ?? null,
        headers: p.headers,
        subject: p.composed.subject,
        text: p.composed.text,
        html: p.composed.html,
        variant: p.variant,
        variantSource: p.variantSource,
        missingVariables: p.missingVariables,
      }
    : {
        stepId: p.step.id,
        stepType: p.step.type,
        version: p.version,
        mailboxId: null,
        headers: {},
        subject: null,
        text: p.text,
        html: null,
        variant: null,
        variantSource: null,
        missingVariables: p.missingVariables,
      };

/** `POST /v1/sequences/:id/preview` and `/test-send`: a step as a lead would get it, before launch. */
export const sequencePreviewRoutes =
  (deps: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    const tags = ['sequences'];
    const tester = createTestSender(deps);
    app.addHook('onClose', async () => tester.close());

    app.post(
      '/sequences/:id/preview',
      {
        schema: {
          tags,
          summary: 'Render a step for a lead exactly as it would be sent',
          params: IdParams,
          body: PreviewBody,
          response: { 200: PreviewOut },
        },
      },
      async (request) => {
        const result = await previewStep(deps, {
          workspaceId: request.workspaceId,
          sequenceId: request.params.id,
          ...request.body,
        });
        if (!result.ok) throw refusal(result);
        return previewView(result.preview);
      },
    );

    app.post(
      '/sequences/:id/test-send',
      {
        schema: {
          tags,
          summary: `Send a step, rendered for a lead, to your own address as a test (at most ${TEST_SENDS_PER_HOUR} an hour per workspace)`,
          params: IdParams,
          body: TestSendBody,
          response: { 200: TestSendOut },
        },
      },
      async (request, reply) => {
        const result = await tester.send({
          workspaceId: request.workspaceId,
          sequenceId: request.params.id,
          ...request.body,
        });
        if (result.ok) {
          const { messageId, mailboxId, to, subject } = result;
          return { messageId, mailboxId, to, subject };
        }
        if (result.error === 'not_email_step')
          throw new HttpError(400, 'not_email_step', 'body.stepId: only an email step can be test-sent', [
            { path: 'body.stepId', message: 'not an email step' },
          ]);
        if (result.error === 'no_mailbox')
          throw new HttpError(409, 'no_mailbox', 'the workspace has no active mailbox to send from');
        if (result.error === 'mailbox_paused')
          throw new HttpError(
            409,
            'mailbox_paused',
            `mailbox ${result.mailboxId} is paused: resume it, or test-send through another`,
          );
        if (result.error === 'suppressed')
          throw new HttpError(
            422,
            'suppressed',
            'body.to: the address (or its domain) is suppressed in this workspace',
            [{ path: 'body.to', message: 'suppressed in this workspace' }],
          );
        if (result.error === 'rate_limited') {
          reply.header('retry-after', String(result.retryAfterSeconds));
          throw new HttpError(
            429,
            'rate_limited',
            `at most ${TEST_SENDS_PER_HOUR} test sends an hour per workspace; retry in ${result.retryAfterSeconds} s`,
          );
        }
        if (result.error === 'send_failed')
          throw new HttpError(422, 'send_failed', `the SMTP server refused the test: ${result.message}`);
        throw refusal(result);
      },
    );
  };
