import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../context';
import { notFound } from '../http/errors';
import { IdParams, PageQuery, page } from '../http/schemas';
import { addNote, deleteNote, editNote, listNotes } from './lead-notes.service';
import { Note, NoteBody } from './leads.schemas';

const tags = ['leads'];
const NoteParams = z.object({ leadId: z.uuid(), noteId: z.uuid() });

/** Notes on a lead: written, listed, edited and deleted; each with its author (the API key's name). */
export const leadNotesRoutes =
  (deps: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      '/leads/:id/notes',
      { schema: { tags, params: IdParams, body: NoteBody, response: { 201: Note } } },
      async (request, reply) => {
        const note = await addNote(deps.db, {
          workspaceId: request.workspaceId,
          leadId: request.params.id,
          apiKeyId: request.apiKeyId,
          body: request.body.body,
        });
        if (!note) throw notFound('lead');
        return reply.code(201).send(note);
      },
    );

    app.get(
      '/leads/:id/notes',
      {
        schema: {
          tags,
          summary: "A lead's notes, newest first",
          params: IdParams,
          querystring: PageQuery,
          response: { 200: page(Note) },
        },
      },
      async (request) => {
        const notes = await listNotes(deps.db, request.workspaceId, request.params.id, request.query);
        if (!notes) throw notFound('lead');
        return notes;
      },
    );

    app.patch(
      '/leads/:leadId/notes/:noteId',
      {
        schema: {
          tags,
          summary: "Edit a note's text",
          params: NoteParams,
          body: NoteBody,
          response: { 200: Note },
        },
      },
      async (request) => {
        const note = await editNote(
          deps.db,
          { workspaceId: request.workspaceId, ...request.params },
          request.body.body,
        );
        if (!note) throw notFound('note');
        return note;
      },
    );

    app.delete(
      '/leads/:leadId/notes/:noteId',
      { schema: { tags, summary: 'Delete a note', params: NoteParams, response: { 204: z.null() } } },
      async (request, reply) => {
        if (!(await deleteNote(deps.db, { workspaceId: request.workspaceId, ...request.params })))
          throw notFound('note');
        return reply.code(204).send(null);
      },
    );
  };
