import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Db } from '../../../src/db/client';
import { tasks } from '../../../src/db/schema/index';
import { createTestWorkspace, type TestWorkspace } from '../../helpers/engine';

/** The kinds of resource a `/v1/<kind>/{id}` route names, by the path's first segment. */
export const resourceKinds = [
  'api-keys',
  'mailboxes',
  'suppressions',
  'sequences',
  'enrollments',
  'step-runs',
  'linkedin-accounts',
  'leads',
  'webhook-endpoints',
  'tasks',
  'notes',
  'automations',
  'jobs',
  'imports',
] as const;
export type ResourceKind = (typeof resourceKinds)[number];

/** A workspace that owns one of every resource kind, each made through the API as a user would. */
export type Tenant = TestWorkspace & {
  ids: Record<ResourceKind, string>;
  leadEmail: string;
  suppressedDomain: string;
};

/** The resource a path parameter names, or null when the route is not about one of ours. */
export function resourceOf(path: string, param: string): ResourceKind | 'workspace' | null {
  if (param === 'workspaceId') return 'workspace';
  if (param === 'noteId') return 'notes';
  // No fixture delivery: replay's tenancy is tested in test/api/webhook-endpoints/manage.test.ts.
  if (param === 'deliveryId') return null;
  const segment = path.split('/')[2];
  return resourceKinds.find((k) => k === segment) ?? null;
}

type Inject = (method: 'GET' | 'POST', url: string, payload?: object) => Promise<Record<string, unknown>>;

function injector(app: FastifyInstance, ws: TestWorkspace): Inject {
  return async (method, url, payload) => {
    const res = await app.inject({
      method,
      url,
      headers: ws.auth,
      ...(payload ? { payload } : {}),
    });
    if (res.statusCode >= 300) throw new Error(`fixture ${method} ${url}: ${res.statusCode} ${res.body}`);
    return res.json<Record<string, unknown>>();
  };
}

const Enrolled = z.object({ enrolled: z.array(z.object({ enrollmentId: z.string() })) });
const WithStepRuns = z.object({ stepRuns: z.array(z.object({ id: z.string() })) });

const idOf = (body: Record<string, unknown>, what: string): string => {
  if (typeof body.id !== 'string') throw new Error(`fixture ${what}: no id in ${JSON.stringify(body)}`);
  return body.id;
};

/**
 * Creates a workspace with a mailbox, a LinkedIn account, a lead enrolled in an active sequence
 * (so an enrollment and a step run exist), a note on the lead, a suppression, a webhook endpoint
 * and a second API key. `tag` keeps values distinct across tenants, so a leak is recognisable.
 * Tasks come only from a `task` step that a worker runs, so with `db` the lead gets one written
 * straight in the table; without it, `ids.tasks` names no task.
 */
export async function createTenant(app: FastifyInstance, tag: string, db?: Db): Promise<Tenant> {
  const ws = await createTestWorkspace(app, `tenant ${tag}`);
  const call = injector(app, ws);
  const leadEmail = `lead.${tag}@tenant-${tag}.test`;
  const mailbox = await call('POST', '/v1/mailboxes', {
    name: `mailbox ${tag}`,
    fromEmail: `sales@tenant-${tag}.test`,
    smtp: { host: '127.0.0.1', port: 2525, user: `user-${tag}`, pass: `smtp-pass-${tag}` },
  });
  const linkedin = await call('POST', '/v1/linkedin-accounts', {
    name: `linkedin ${tag}`,
    liAt: `li-at-cookie-value-${tag}`,
  });
  const lead = await call('POST', '/v1/leads', { email: leadEmail, firstName: `First ${tag}` });
  const sequence = await call('POST', '/v1/sequences', {
    name: `sequence ${tag}`,
    steps: [{ type: 'email', subject: `Hello ${tag}`, body: 'Hi {{ firstName | default: "there" }}' }],
  });
  const sequenceId = idOf(sequence, 'sequence');
  await call('POST', `/v1/sequences/${sequenceId}/activate`);
  const enrolled = await call('POST', `/v1/sequences/${sequenceId}/enrollments`, {
    leadIds: [idOf(lead, 'lead')],
  });
  const enrollmentId = Enrolled.parse(enrolled).enrolled[0]?.enrollmentId;
  if (!enrollmentId) throw new Error(`fixture enrollment: ${JSON.stringify(enrolled)}`);
  const enrollment = await call('GET', `/v1/enrollments/${enrollmentId}`);
  const stepRunId = WithStepRuns.parse(enrollment).stepRuns[0]?.id;
  if (!stepRunId) throw new Error(`fixture step run: ${JSON.stringify(enrollment)}`);
  const suppressedDomain = `blocked-${tag}.test`;
  const suppression = await call('POST', '/v1/suppressions', { domain: suppressedDomain });
  const endpoint = await call('POST', '/v1/webhook-endpoints', {
    url: `https://hooks.tenant-${tag}.test/in`,
    events: ['*'],
  });
  const apiKey = await call('POST', '/v1/api-keys', { name: `spare ${tag}` });
  const note = await call('POST', `/v1/leads/${idOf(lead, 'lead')}/notes`, { body: `note ${tag}` });
  const automation = await call('POST', '/v1/automations', {
    name: `rule ${tag}`,
    trigger: { type: 'stage_entered', stage: 'qualified' },
    action: { type: 'enroll', sequenceId },
  });
  const job = await call('POST', '/v1/jobs', {
    type: 'enrollments.pause',
    sequenceId,
    leadIds: [idOf(lead, 'lead')],
  });
  const upload = await app.inject({
    method: 'POST',
    url: '/v1/imports',
    headers: { ...ws.auth, 'content-type': 'text/csv' },
    payload: `email,first_name\nimported.${tag}@tenant-${tag}.test,Imported\n`,
  });
  if (upload.statusCode !== 202) throw new Error(`fixture import: ${upload.statusCode} ${upload.body}`);
  const [task] = db
    ? await db
        .insert(tasks)
        .values({ workspaceId: ws.id, leadId: idOf(lead, 'lead'), title: `call ${tag}` })
        .returning({ id: tasks.id })
    : [];
  return {
    ...ws,
    leadEmail,
    suppressedDomain,
    ids: {
      'api-keys': idOf(apiKey, 'api key'),
      mailboxes: idOf(mailbox, 'mailbox'),
      suppressions: idOf(suppression, 'suppression'),
      sequences: sequenceId,
      enrollments: enrollmentId,
      'step-runs': stepRunId,
      'linkedin-accounts': idOf(linkedin, 'linkedin account'),
      leads: idOf(lead, 'lead'),
      'webhook-endpoints': idOf(endpoint, 'webhook endpoint'),
      tasks: task?.id ?? randomUUID(),
      notes: idOf(note, 'note'),
      automations: idOf(automation, 'automation'),
      jobs: idOf(job, 'job'),
      imports: idOf(upload.json<Record<string, unknown>>(), 'import'),
    },
  };
}
