import { z } from 'zod';
import { TimeZone } from '../../core/time-zone';
import { Country } from '../../core/holidays';

export const CreateWorkspaceBody = z.object({
  name: z.string().trim().min(1).max(200),
  timezone: TimeZone.optional(),
  /** The holiday country of leads that have none (ISO 3166-1 alpha-2). */
  country: Country.optional(),
});
export const CreatedWorkspace = z.object({
  id: z.uuid(),
  name: z.string(),
  timezone: z.string(),
  country: z.string().nullable(),
  apiKey: z.string().describe('Shown once; store it now.'),
  webhookSecret: z.string().describe('Standard Webhooks secret for inbound webhooks (whsec_…).'),
});
export const Workspace = z.object({
  id: z.uuid(),
  name: z.string(),
  timezone: z.string(),
  country: z.string().nullable(),
  bounceThresholdPercent: z
    .number()
    .describe('A checked enrollment whose projected bounce share is above this (percent) is refused'),
  checkOnEnroll: z.boolean().describe('Every enrollment is checked, as if it asked for `check: true`'),
  createdAt: z.string(),
});
/** What the workspace itself may change; null clears the default country. */
export const WorkspacePatch = z
  .object({
    country: Country.nullable(),
    bounceThresholdPercent: z.number().min(0).max(100),
    checkOnEnroll: z.boolean(),
  })
  .partial()
  .strict();
export const CreateApiKeyBody = z.object({ name: z.string().trim().min(1).max(100).default('default') });
export const ApiKey = z.object({ id: z.uuid(), name: z.string(), prefix: z.string(), createdAt: z.string() });
export const CreatedApiKey = ApiKey.extend({ apiKey: z.string() });

export const WebhookSecretView = z.object({
  webhookSecret: z.string().describe('Standard Webhooks secret for inbound webhooks (whsec_…).'),
  previousSecretExpiresAt: z
    .string()
    .nullable()
    .describe('Until when the secret a rotation replaced still verifies; null when none does.'),
});
/** Optional: `curl -X POST` with no body at all rotates with the default grace (24 h). */
export const RotateWebhookSecretBody = z
  .object({
    graceSeconds: z
      .number()
      .int()
      .min(0)
      .max(7 * 86_400)
      .optional()
      .describe(
        'How long the replaced secret keeps verifying (default 24 h, at most 7 days; 0: not at all).',
      ),
  })
  .nullable();
