import { and, eq } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../db/client';
import { apiKeys, leads, notes } from '../../db/schema/index';
import { decodeCursor, keyset, type PageRequest, toPage } from '../../db/keyset';
import { findLead } from './leads.repo';
import type { Note } from './leads.schemas';

type NoteRow = typeof notes.$inferSelect;

export const noteView = (n: NoteRow): Note => ({
  id: n.id,
  leadId: n.leadId,
  body: n.body,
  author: n.author,
  createdAt: n.createdAt.toISOString(),
  updatedAt: n.updatedAt.toISOString(),
});

/** The name of the API key making the request: a note's author, as the key was named then. */
async function keyName(db: DbOrTx, workspaceId: string, apiKeyId: string): Promise<string | null> {
  const [key] = await db
    .select({ name: apiKeys.name })
    .from(apiKeys)
    .where(and(eq(apiKeys.id, apiKeyId), eq(apiKeys.workspaceId, workspaceId)));
  return key?.name ?? null;
}

/** A note on a lead, written by the given API key; null when the lead is not the workspace's. */
export async function addNote(
  db: Db,
  input: { workspaceId: string; leadId: string; apiKeyId: string; body: string },
): Promise<Note | null> {
  const { workspaceId, leadId, apiKeyId, body } = input;
  return db.transaction(async (tx) => {
    const lead = await findLead(tx, workspaceId, leadId, { forUpdate: true });
    if (!lead) return null;
    const author = await keyName(tx, workspaceId, apiKeyId);
    const [note] = await tx
      .insert(notes)
      .values({ workspaceId, leadId, body, author, authorKeyId: apiKeyId })
      .returning();
    if (!note) throw new Error('note insert returned nothing');
    // A note is a salesperson touching the lead: it is not stale any more.
    await tx.update(leads).set({ lastActivityAt: note.createdAt }).where(eq(leads.id, leadId));
    return noteView(note);
  });
}

/** The lead's notes, newest first; null when the lead is not the workspace's. */
export async function listNotes(db: Db, workspaceId: string, leadId: string, query: PageRequest) {
  if (!(await findLead(db, workspaceId, leadId))) return null;
  const page = keyset(notes.createdAt, notes.id, decodeCursor(query.cursor));
  const rows = await db
    .select()
    .from(notes)
    .where(and(eq(notes.workspaceId, workspaceId), eq(notes.leadId, leadId), page.where))
    .orderBy(...page.orderBy)
    .limit(query.limit + 1);
  return toPage(rows, query.limit, noteView);
}

const ofLead = (workspaceId: string, leadId: string, noteId: string) =>
  and(eq(notes.id, noteId), eq(notes.leadId, leadId), eq(notes.workspaceId, workspaceId));

/** New text for a note; the author stays who wrote it. Null when there is no such note on the lead. */
export async function editNote(
  db: Db,
  ids: { workspaceId: string; leadId: string; noteId: string },
  body: string,
): Promise<Note | null> {
  const [row] = await db
    .update(notes)
    .set({ body, updatedAt: new Date() })
    .where(ofLead(ids.workspaceId, ids.leadId, ids.noteId))
    .returning();
  return row ? noteView(row) : null;
}

/** Whether a note of the lead was deleted. */
export async function deleteNote(
  db: Db,
  ids: { workspaceId: string; leadId: string; noteId: string },
): Promise<boolean> {
  const deleted = await db
    .delete(notes)
    .where(ofLead(ids.workspaceId, ids.leadId, ids.noteId))
    .returning({ id: notes.id });
  return deleted.length > 0;
}
