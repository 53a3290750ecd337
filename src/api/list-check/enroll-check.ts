import { eq } from 'drizzle-orm';
import type { Deps } from '../../context';
import { workspaces } from '../../db/schema/index';
import { gateEnrollment, MAX_CHECKED_ADDRESSES } from '../../engine/list-check';
import { badRequest, notFound } from '../http/errors';
import { getSequence } from '../sequences/sequences.service';
import { bounceThresholdError } from './list-check.schemas';

/**
 * The list check as an option of enrollment: when the request asks for it (`check: true`) or the
 * workspace checks every enrollment, the batch is refused with a 422 that lists the offending
 * leads if its projected bounce share is above the workspace's threshold. Throws the HTTP error;
 * returns when the enrollment may go ahead.
 */
export async function checkBeforeEnrolling(
  deps: Deps,
  workspaceId: string,
  sequenceId: string,
  body: { leadIds: string[]; check?: boolean },
): Promise<void> {
  const [ws] = await deps.db
    .select({ threshold: workspaces.bounceThresholdPercent, always: workspaces.checkOnEnroll })
    .from(workspaces)
    .where(eq(workspaces.id, workspaceId));
  if (!ws || !(body.check ?? ws.always)) return;
  // An unknown sequence is a 404 before any DNS query is spent on its leads.
  if (!(await getSequence(deps, workspaceId, sequenceId))) throw notFound('sequence');
  const unique = [...new Set(body.leadIds)];
  if (unique.length > MAX_CHECKED_ADDRESSES)
    throw badRequest(
      'body.leadIds',
      `a checked enrollment takes at most ${MAX_CHECKED_ADDRESSES} leads; split the batch (or pass check: false)`,
    );
  const gate = await gateEnrollment(deps, workspaceId, unique, ws.threshold);
  if (!gate.ok) throw bounceThresholdError(gate, body.leadIds);
}
