import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestWorkspace,
  startTestEngine,
  type TestEngine,
  type TestWorkspace,
} from '../../helpers/engine';

type Note = {
  id: string;
  leadId: string;
  body: string;
  author: string | null;
  createdAt: string;
  updatedAt: string;
};
type NotePage = { data: Note[]; nextCursor: string | null };

describe('lead notes: list, edit, delete, with an author', () => {
  let engine: TestEngine;
  let ws: TestWorkspace;
  let other: TestWorkspace;
  let sdr: { authorization: string };
  let leadId: string;
  let otherLeadId: string;

  beforeAll(async () => {
    engine = await startTestEngine();
    ws = await createTestWorkspace(engine.app);
    other = await createTestWorkspace(engine.app, 'Other');
    const key = await engine.app.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: ws.auth,
      payload: { name: 'Sam (SDR)' },
    });
    expect(key.statusCode).toBe(201);
    sdr = { authorization: `Bearer ${key.json<{ apiKey: string }>().apiKey}` };
    const newLead = async (auth: { authorization: string }, email: string) =>
      (
        await engine.app.inject({ method: 'POST', url: '/v1/leads', headers: auth, payload: { email } })
      ).json<{ id: string }>().id;
    leadId = await newLead(ws.auth, 'noted@example.com');
    otherLeadId = await newLead(other.auth, 'theirs@example.com');
  });
  afterAll(() => engine.close());

  const write = (body: string, auth = ws.auth, lead = leadId) =>
    engine.app.inject({ method: 'POST', url: `/v1/leads/${lead}/notes`, headers: auth, payload: { body } });
  const list = (query = '', auth = ws.auth, lead = leadId) =>
    engine.app.inject({ method: 'GET', url: `/v1/leads/${lead}/notes${query}`, headers: auth });

  it('records the API key’s name as author, and lists notes newest first, page by page', async () => {
    const first = await write('Called, no answer');
    expect(first.statusCode).toBe(201);
    expect(first.json()).toMatchObject({ body: 'Called, no answer', author: 'default', leadId });
    const second = await write('Sent the deck', sdr);
    expect(second.json<Note>().author).toBe('Sam (SDR)');
    await write('Meeting booked', sdr);

    const page1 = await list('?limit=2');
    expect(page1.statusCode).toBe(200);
    const body1 = page1.json<NotePage>();
    expect(body1.data.map((n) => n.body)).toEqual(['Meeting booked', 'Sent the deck']);
    const body2 = (await list(`?limit=2&cursor=${body1.nextCursor}`)).json<NotePage>();
    expect(body2.data.map((n) => n.body)).toEqual(['Called, no answer']);
    expect(body2.nextCursor).toBeNull();

    const timeline = await engine.app.inject({
      method: 'GET',
      url: `/v1/leads/${leadId}/timeline`,
      headers: ws.auth,
    });
    const notes = timeline
      .json<{ data: { type: string; author?: string }[] }>()
      .data.filter((i) => i.type === 'note');
    expect(notes.map((n) => n.author)).toEqual(['Sam (SDR)', 'Sam (SDR)', 'default']);
  });

  it('edits a note’s text, keeping its author and moving updatedAt, and deletes it', async () => {
    const note = (await write('Typo in nmae', sdr)).json<Note>();
    const edited = await engine.app.inject({
      method: 'PATCH',
      url: `/v1/leads/${leadId}/notes/${note.id}`,
      headers: ws.auth,
      payload: { body: 'Typo in name' },
    });
    expect(edited.statusCode).toBe(200);
    const after = edited.json<Note>();
    expect(after).toMatchObject({
      id: note.id,
      body: 'Typo in name',
      author: 'Sam (SDR)',
      createdAt: note.createdAt,
    });
    expect(Date.parse(after.updatedAt)).toBeGreaterThanOrEqual(Date.parse(note.updatedAt));

    const url = `/v1/leads/${leadId}/notes/${note.id}`;
    expect((await engine.app.inject({ method: 'DELETE', url, headers: ws.auth })).statusCode).toBe(204);
    expect((await engine.app.inject({ method: 'DELETE', url, headers: ws.auth })).statusCode).toBe(404);
    const left = (await list('?limit=100')).json<NotePage>().data;
    expect(left.some((n) => n.id === note.id)).toBe(false);
  });

  it('answers 404 for another workspace’s lead or note, and 400 for bad input', async () => {
    const theirs = (await write('private', other.auth, otherLeadId)).json<Note>();
    expect((await list('', ws.auth, otherLeadId)).statusCode).toBe(404);
    expect((await write('x', ws.auth, otherLeadId)).statusCode).toBe(404);
    for (const url of [
      `/v1/leads/${otherLeadId}/notes/${theirs.id}`,
      `/v1/leads/${leadId}/notes/${theirs.id}`,
    ]) {
      const patched = await engine.app.inject({
        method: 'PATCH',
        url,
        headers: ws.auth,
        payload: { body: 'mine' },
      });
      expect(patched.statusCode).toBe(404);
      expect((await engine.app.inject({ method: 'DELETE', url, headers: ws.auth })).statusCode).toBe(404);
    }
    const still = (await list('', other.auth, otherLeadId)).json<NotePage>().data;
    expect(still.map((n) => n.body)).toEqual(['private']);

    const mine = (await write('ok')).json<Note>();
    const url = `/v1/leads/${leadId}/notes/${mine.id}`;
    for (const payload of [{ body: '' }, { body: 'x'.repeat(10_001) }, { body: 'a\u0000b' }, {}]) {
      expect((await engine.app.inject({ method: 'PATCH', url, headers: ws.auth, payload })).statusCode).toBe(
        400,
      );
    }
    expect((await list('?cursor=garbage')).statusCode).toBe(400);
  });
});
