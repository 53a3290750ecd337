/**
 * The README's first API calls with a typed client: openapi-fetch over the types generated from
 * the engine's own `/openapi.json`. Every request and answer is checked by the compiler, errors
 * included: an error answer is `components['schemas']['Error']`, told apart by status and code.
 *
 *   OUTREACH_URL=http://localhost:3000 ADMIN_TOKEN=… npx tsx examples/typed-client/quick-start.ts
 *
 * Prints one JSON object per step on stdout; exits 1 at the first unexpected answer.
 */
import createClient from 'openapi-fetch';
import type { components, paths } from './api';

type ApiError = components['schemas']['Error'];

const baseUrl = process.env.OUTREACH_URL ?? 'http://localhost:3000';
const adminToken = process.env.ADMIN_TOKEN ?? '';
const smtp = { host: process.env.SMTP_HOST ?? 'localhost', port: Number(process.env.SMTP_PORT ?? 1025) };

function step(name: string, value: unknown): void {
  process.stdout.write(`${JSON.stringify({ step: name, value })}\n`);
}

/** The data of a success, or the error's code and message and exit 1. */
function ok<T>(name: string, result: { data?: T; error?: ApiError; response: Response }): T {
  if (result.data !== undefined) return result.data;
  const why = result.error ? `${result.error.error.code}: ${result.error.error.message}` : 'no body';
  process.stderr.write(`${name} failed: HTTP ${result.response.status} ${why}\n`);
  process.exit(1);
}

// 1. A workspace, with the admin token; its API key and webhook secret are shown once.
const admin = createClient<paths>({ baseUrl, headers: { authorization: `Bearer ${adminToken}` } });
const workspace = ok(
  'create workspace',
  await admin.POST('/v1/workspaces', { body: { name: 'Acme', timezone: 'Europe/Paris' } }),
);
step('workspace', { id: workspace.id, webhookSecretKept: workspace.webhookSecret.startsWith('whsec_') });

const api = createClient<paths>({ baseUrl, headers: { authorization: `Bearer ${workspace.apiKey}` } });
step('me', ok('read workspace', await api.GET('/v1/workspace')));

// 2. A mailbox (Mailpit's SMTP in the README), a lead, and two more in bulk.
const mailbox = ok(
  'add mailbox',
  await api.POST('/v1/mailboxes', {
    body: {
      name: 'Alex',
      fromEmail: 'alex@acme.test',
      fromName: 'Alex',
      smtp: { host: smtp.host, port: smtp.port, tls: 'none' },
      dailyLimit: 200,
      minIntervalSeconds: 0,
    },
  }),
);
step('mailbox', { id: mailbox.id });

const lead = ok(
  'create lead',
  await api.POST('/v1/leads', {
    body: { email: 'jane@initech.test', firstName: 'Jane', company: 'Initech', timezone: 'America/New_York' },
  }),
);
const bulk = ok(
  'bulk leads',
  await api.POST('/v1/leads/bulk', {
    body: {
      leads: [
        { email: 'bob@globex.test', firstName: 'Bob' },
        { linkedinUrl: 'https://www.linkedin.com/in/carol' },
      ],
    },
  }),
);
step('leads', { leadId: lead.id, bulkCreated: bulk.created });

// 3. A sequence, activated; the lead enrolled.
const firstTouch = {
  name: 'First touch',
  steps: [
    {
      type: 'email' as const,
      subject: 'Hello {{ company }}',
      body: 'Hi {{ firstName | default: "there" }}, worth a call?',
    },
    { type: 'wait' as const, days: 2, businessDays: true },
    {
      type: 'email' as const,
      thread: 'reply' as const,
      subject: 'Hello {{ company }}',
      body: 'Bumping this.',
    },
  ],
};
const sequence = ok('create sequence', await api.POST('/v1/sequences', { body: firstTouch }));
const params = { path: { id: sequence.id } };
ok('activate', await api.POST('/v1/sequences/{id}/activate', { params }));
const enrolled = ok(
  'enroll',
  await api.POST('/v1/sequences/{id}/enrollments', { params, body: { leadIds: [lead.id] } }),
);
step('enrolled', {
  sequenceId: sequence.id,
  enrolled: enrolled.enrolled.length,
  skipped: enrolled.skipped.length,
});

const timeline = ok(
  'timeline',
  await api.GET('/v1/leads/{id}/timeline', { params: { path: { id: lead.id } } }),
);
step('timeline', { entries: timeline.data.length });

// 4. Errors are typed answers too: the same name again is a 409 whose code says why.
const again = await api.POST('/v1/sequences', { body: firstTouch });
if (again.response.status !== 409 || again.error?.error.code !== 'name_taken') {
  process.stderr.write(`expected 409 name_taken, got ${again.response.status}\n`);
  process.exit(1);
}
step('conflict', { status: again.response.status, code: again.error.error.code });

const missing = await api.GET('/v1/leads/{id}', { params: { path: { id: workspace.id } } });
step('not found', { status: missing.response.status, code: missing.error?.error.code });
