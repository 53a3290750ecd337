import type { FastifyInstance } from 'fastify';
import type { TestWorkspace } from './engine';

type Auth = Pick<TestWorkspace, 'auth'>;

/** A sequence as POST /v1/sequences takes it; the name defaults to a unique one. */
export type SequenceBody = { name?: string; steps: unknown[]; settings?: unknown };

/** Creates a sequence through the API, as a user would (a draft: it takes enrollments, runs nothing). */
export async function createSequence(app: FastifyInstance, ws: Auth, body: SequenceBody): Promise<string> {
  const created = await app.inject({
    method: 'POST',
    url: '/v1/sequences',
    headers: ws.auth,
    payload: { name: `seq ${Math.random().toString(36).slice(2, 10)}`, ...body },
  });
  if (created.statusCode !== 201)
    throw new Error(`sequence create failed: ${created.statusCode} ${created.body}`);
  return created.json<{ id: string }>().id;
}

/** Creates a sequence through the API and activates it; returns its id. */
export async function createActiveSequence(
  app: FastifyInstance,
  ws: Auth,
  body: SequenceBody,
): Promise<string> {
  const id = await createSequence(app, ws, body);
  const activated = await app.inject({
    method: 'POST',
    url: `/v1/sequences/${id}/activate`,
    headers: ws.auth,
  });
  if (activated.statusCode !== 200)
    throw new Error(`sequence activate failed: ${activated.statusCode} ${activated.body}`);
  return id;
}

export type Enrollment = {
  enrolled: { leadId: string; enrollmentId: string }[];
  skipped: { leadId: string; reason: string }[];
};

/** Enrolls leads through the API; the caller checks who was enrolled and who was skipped. */
export async function enrollLeads(
  app: FastifyInstance,
  ws: Auth,
  sequenceId: string,
  leadIds: string[],
): Promise<Enrollment> {
  const res = await app.inject({
    method: 'POST',
    url: `/v1/sequences/${sequenceId}/enrollments`,
    headers: ws.auth,
    payload: { leadIds },
  });
  if (res.statusCode !== 200) throw new Error(`enrollment failed: ${res.statusCode} ${res.body}`);
  return res.json<Enrollment>();
}
