import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../context';
import { badRequest, conflict, HttpError, notFound } from '../http/errors';
import { IdParams, page } from '../http/schemas';
import { upsertLeads } from './bulk-upsert';
import { CSV_MAX_BYTES, importLeadsCsv } from './csv-import';
import { eraseLead } from './erase';
import { leadActivityRoutes } from './lead-activity.routes';
import { leadNotesRoutes } from './lead-notes.routes';
import { findLead, leadView } from './leads.repo';
import {
  BulkBody,
  BulkResult,
  ImportResult,
  Lead,
  LeadInput,
  LeadListQuery,
  LeadPatch,
} from './leads.schemas';
import { listLeads, patchLead, upsertLead } from './leads.service';

const tags = ['leads'];

const isStream = (value: unknown): value is AsyncIterable<Buffer> =>
  typeof value === 'object' && value !== null && Symbol.asyncIterator in value;

export const leadsRoutes =
  (deps: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    // The importer reads the request as a stream; csv-parse does the parsing, not Fastify.
    app.addContentTypeParser(['text/csv', 'application/csv'], (_request, payload, done) =>
      done(null, payload),
    );

    app.post(
      '/leads',
      {
        schema: {
          tags,
          summary: 'Create or update a lead (upsert on email or LinkedIn URL)',
          body: LeadInput,
          response: { 200: Lead, 201: Lead },
        },
      },
      async (request, reply) => {
        const outcome = await upsertLead(deps.db, request.workspaceId, request.body);
        if (!outcome.ok) {
          if (outcome.error === 'unknown_stage') throw badRequest('body.stage', outcome.message);
          throw conflict('lead_identity_conflict', outcome.message);
        }
        return reply.code(outcome.created ? 201 : 200).send(leadView(outcome.lead));
      },
    );

    app.post(
      '/leads/bulk',
      {
        // 10,000 leads with custom fields can exceed the default 8 MiB.
        bodyLimit: 32 * 1024 * 1024,
        schema: {
          tags,
          summary: 'Upsert up to 10,000 leads; bad rows are reported, never reject the batch',
          body: BulkBody,
          response: { 200: BulkResult },
        },
      },
      async (request) =>
        deps.db.transaction((tx) =>
          upsertLeads(tx, { workspaceId: request.workspaceId, rows: request.body.leads, source: 'api' }),
        ),
    );

    app.post(
      '/leads/import',
      {
        schema: {
          tags,
          summary: 'Import leads from a CSV (text/csv); unknown columns become custom fields',
          consumes: ['text/csv'],
          response: { 200: ImportResult },
        },
      },
      async (request) => {
        const length = Number(request.headers['content-length'] ?? 0);
        if (length > CSV_MAX_BYTES) {
          throw new HttpError(413, 'payload_too_large', `the CSV is larger than ${CSV_MAX_BYTES} bytes`);
        }
        const body = request.body;
        if (!isStream(body)) {
          throw new HttpError(415, 'unsupported_media_type', 'send the CSV with Content-Type: text/csv');
        }
        const outcome = await importLeadsCsv(deps.db, request.workspaceId, body);
        if (!outcome.ok) throw new HttpError(400, outcome.error, outcome.message);
        return outcome.result;
      },
    );

    app.get(
      '/leads',
      { schema: { tags, summary: 'List leads', querystring: LeadListQuery, response: { 200: page(Lead) } } },
      async (request) => listLeads(deps.db, request.workspaceId, request.query),
    );

    app.get(
      '/leads/:id',
      { schema: { tags, params: IdParams, response: { 200: Lead } } },
      async (request) => {
        const lead = await findLead(deps.db, request.workspaceId, request.params.id);
        if (!lead) throw notFound('lead');
        return leadView(lead);
      },
    );

    app.patch(
      '/leads/:id',
      { schema: { tags, params: IdParams, body: LeadPatch, response: { 200: Lead } } },
      async (request) => {
        const outcome = await patchLead(deps.db, request.workspaceId, request.params.id, request.body);
        if (outcome.ok) return leadView(outcome.lead);
        if (outcome.error === 'not_found') throw notFound('lead');
        if (outcome.error === 'no_identity')
          throw badRequest('body.email', 'a lead needs an email or a linkedinUrl');
        throw conflict('lead_exists', `another lead (${outcome.leadId}) has this ${outcome.field}`);
      },
    );

    app.delete(
      '/leads/:id',
      {
        schema: {
          tags,
          summary: 'Erase a lead (GDPR): personal data removed, pending steps cancelled',
          params: IdParams,
          response: { 204: z.null() },
        },
      },
      async (request, reply) => {
        if (!(await eraseLead(deps.db, request.workspaceId, request.params.id))) throw notFound('lead');
        return reply.code(204).send(null);
      },
    );

    await app.register(leadActivityRoutes(deps));
    await app.register(leadNotesRoutes(deps));
  };
