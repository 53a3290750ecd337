import { z } from 'zod';
import { TimeZone } from '../../core/time-zone';

export const CreateWorkspaceBody = z.object({
  name: z.string().trim().min(1).max(200),
  timezone: TimeZone.optional(),
});
export const CreatedWorkspace = z.object({
  id: z.uuid(),
  name: z.string(),
  timezone: z.string(),
  apiKey: z.string().describe('Shown once; store it now.'),
  webhookSecret: z.string().describe('Standard Webhooks secret for inbound webhooks (whsec_…).'),
});
export const Workspace = z.object({
  id: z.uuid(),
  name: z.string(),
  timezone: z.string(),
  createdAt: z.string(),
});
export const CreateApiKeyBody = z.object({ name: z.string().trim().min(1).max(100).default('default') });
export const ApiKey = z.object({ id: z.uuid(), name: z.string(), prefix: z.string(), createdAt: z.string() });
export const CreatedApiKey = ApiKey.extend({ apiKey: z.string() });
