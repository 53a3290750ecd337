import { scrubPendingLeadPayloads } from '../../timeline/outbox/fan-out';
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { events, leads, messages, notes } from '../../db/schema/index';
import { stopLeadEnrollments } from '../../engine/stop-rules';
import { recordEvent } from '../../timeline/events';
import { findLead, lockLeadWrites } from './leads.repo';

/** Event data keys that can carry personal data (reply text, addresses, names). */
const personalEventKeys = [
  'text',
  'html',
  'body',
  'subject',
  'email',
  'from',
  'to',
  'linkedinUrl',
  'name',
  'firstName',
  'lastName',
  'company',
  'title',
];

/**
 * GDPR erasure: removes the lead's personal data everywhere we hold it (fields, custom fields, notes,
 * message addresses and bodies, personal keys of event data) and stops its enrollments, cancelling
 * scheduled steps. The row and its stage events stay, anonymous, so funnel counts do not change.
 * Returns false when there is no such live lead.
 */
export async function eraseLead(db: Db, workspaceId: string, leadId: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    await lockLeadWrites(tx, workspaceId);
    const lead = await findLead(tx, workspaceId, leadId, { forUpdate: true });
    if (!lead) return false;
    const now = new Date();
    await tx
      .update(leads)
      .set({
        email: null,
        emailKey: null,
        companyDomain: null,
        linkedinUrl: null,
        firstName: null,
        lastName: null,
        company: null,
        title: null,
        timezone: null,
        country: null,
        customFields: {},
        status: 'do_not_contact',
        erasedAt: now,
        updatedAt: now,
      })
      .where(eq(leads.id, leadId));
    await tx.delete(notes).where(and(eq(notes.leadId, leadId), eq(notes.workspaceId, workspaceId)));
    await tx
      .update(messages)
      .set({
        fromAddress: null,
        toAddress: null,
        subject: null,
        bodyText: null,
        bodyHtml: null,
        headers: null,
      })
      .where(and(eq(messages.leadId, leadId), eq(messages.workspaceId, workspaceId)));
    await tx
      .update(events)
      .set({ data: sql`${events.data} - ${sql.param(personalEventKeys)}::text[]` })
      .where(and(eq(events.leadId, leadId), eq(events.workspaceId, workspaceId)));
    await stopLeadEnrollments(tx, { workspaceId, leadIds: [leadId], status: 'stopped', reason: 'erased' });
    await scrubPendingLeadPayloads(tx, workspaceId, leadId);
    await recordEvent(tx, { workspaceId, type: 'lead.erased', leadId });
    return true;
  });
}
