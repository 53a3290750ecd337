import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { methods } from '../../src/api/http/openapi-contract';
import { operations } from '../../src/api/http/operations';
import { createTestWorkspace, startTestEngine, type TestEngine, type TestWorkspace } from '../helpers/engine';

type Media = { schema?: { $ref?: string } };
type Response = { description?: string; $ref?: string; content?: Record<string, Media> };
type Operation = {
  operationId?: string;
  summary?: string;
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string; required?: boolean }[];
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, Response>;
};
type Document = {
  paths: Record<string, Record<string, Operation>>;
  components: { responses: Record<string, Response> };
};
type Keyed = { key: string; op: Operation };

/** Every operation of the document, with its `METHOD path` key. */
const operationsOf = (doc: Document): Keyed[] =>
  Object.entries(doc.paths).flatMap(([path, item]) =>
    methods.flatMap((m) => {
      const op = item[m];
      return op ? [{ key: `${m.toUpperCase()} ${path}`, op }] : [];
    }),
  );

/** What an operation lacks, in words; empty when complete. */
function gaps({ key, op }: Keyed): string[] {
  const found: string[] = [];
  if (!op.operationId) found.push('no operationId (add it to src/api/http/operations.ts)');
  if (!op.summary) found.push('no summary');
  for (const [status, response] of Object.entries(op.responses)) {
    if (response.description === 'Default Response') found.push(`${status} says "Default Response"`);
  }
  // /health is the one operation with no client error to give: no input, no credential, no limit.
  const errors = Object.keys(op.responses).filter((s) => s.startsWith('4'));
  if (errors.length === 0 && key !== 'GET /health') found.push('no error answer declared');
  return found;
}

/** The part of Redocly's `--format json` report read here. */
const LintReport = z.object({
  totals: z.object({ errors: z.number(), warnings: z.number() }),
  problems: z.array(
    z.object({
      ruleId: z.string(),
      severity: z.string(),
      message: z.string(),
      location: z.array(z.object({ pointer: z.string().optional() })),
    }),
  ),
});

describe('the OpenAPI contract', () => {
  let engine: TestEngine;
  let ws: TestWorkspace;
  let doc: Document;
  const operation = (key: string): Operation => {
    const [method = '', path = ''] = key.split(' ');
    const found = doc.paths[path]?.[method.toLowerCase()];
    if (!found) throw new Error(`${key} is not in the document`);
    return found;
  };
  beforeAll(async () => {
    engine = await startTestEngine();
    ws = await createTestWorkspace(engine.app);
    const res = await engine.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    doc = res.json<Document>();
  });
  afterAll(() => engine.close());

  it('gives every operation an operationId, a summary, described answers and its errors', () => {
    const incomplete = operationsOf(doc).flatMap((keyed) => {
      const found = gaps(keyed);
      return found.length > 0 ? [`${keyed.key}: ${found.join('; ')}`] : [];
    });
    expect(incomplete, `incomplete operations:\n${incomplete.join('\n')}`).toEqual([]);
  });

  it('has no table entry for an operation that does not exist', () => {
    const documented = new Set(operationsOf(doc).map(({ key }) => key));
    const stale = Object.keys(operations).filter((key) => !documented.has(key));
    expect(stale, `entries in operations.ts with no route: ${stale.join(', ')}`).toEqual([]);
  });

  it('refers every JSON error answer to the one error schema', () => {
    const schemaOf = (r: Response) => {
      const resolved = r.$ref ? doc.components.responses[r.$ref.split('/').pop() ?? ''] : r;
      return resolved?.content?.['application/json']?.schema?.$ref;
    };
    for (const { key, op } of operationsOf(doc)) {
      for (const [status, response] of Object.entries(op.responses)) {
        // /health's 503 carries the health body; the unsubscribe page answers a bad link with a page.
        if (Number(status) < 400 || status === '503' || response.content?.['text/html']) continue;
        expect(schemaOf(response), `${key} ${status}`).toBe('#/components/schemas/Error');
      }
    }
  });

  it('shows raw bodies, required signature headers and the credential each route takes', () => {
    expect(Object.keys(operation('POST /v1/leads/import').requestBody?.content ?? {})).toEqual(['text/csv']);
    const raw = operation('POST /v1/webhooks/{workspaceId}/email/raw');
    expect(Object.keys(raw.requestBody?.content ?? {})).toEqual(['message/rfc822']);
    for (const kind of ['email', 'email/raw', 'linkedin']) {
      const signed = operation(`POST /v1/webhooks/{workspaceId}/${kind}`);
      const headers = (signed.parameters ?? []).filter((p) => p.in === 'header');
      expect(headers.map((h) => [h.name, h.required])).toEqual([
        ['webhook-id', true],
        ['webhook-timestamp', true],
        ['webhook-signature', true],
        // Email can be acknowledged before it is applied (Prefer: respond-async); optional.
        ...(kind === 'linkedin' ? [] : [['prefer', false]]),
      ]);
      expect(signed.security).toEqual([]);
    }
    expect(operation('POST /v1/workspaces').security).toEqual([{ adminToken: [] }]);
    for (const key of ['GET /health', 'GET /u/{token}', 'POST /u/{token}']) {
      expect(operation(key).security).toEqual([]);
    }
    expect(operation('GET /v1/leads').security).toBeUndefined(); // the document's default: the API key
    expect(Object.keys(doc.paths).filter((p) => p === '/app' || p.startsWith('/app/'))).toEqual([]);
  });

  it('declares the errors the API really answers with', async () => {
    const sequence = { name: 'Dup', steps: [{ type: 'email', subject: 'Hi', body: 'Hello' }] };
    await engine.app.inject({ method: 'POST', url: '/v1/sequences', headers: ws.auth, payload: sequence });
    const cases: { key: string; request: InjectOptions; status: number }[] = [
      { key: 'GET /v1/leads', request: { method: 'GET', url: '/v1/leads' }, status: 401 },
      {
        key: 'GET /v1/leads/{id}',
        request: { method: 'GET', url: `/v1/leads/${ws.id}`, headers: ws.auth },
        status: 404,
      },
      {
        key: 'GET /v1/leads/{id}',
        request: { method: 'GET', url: '/v1/leads/nope', headers: ws.auth },
        status: 400,
      },
      {
        key: 'POST /v1/sequences',
        request: { method: 'POST', url: '/v1/sequences', headers: ws.auth, payload: sequence },
        status: 409,
      },
      {
        key: 'POST /v1/leads/import',
        request: {
          method: 'POST',
          url: '/v1/leads/import',
          headers: ws.auth,
          payload: { email: 'a@b.test' },
        },
        status: 415,
      },
      {
        key: 'POST /v1/webhooks/{workspaceId}/email/raw',
        request: {
          method: 'POST',
          url: `/v1/webhooks/${ws.id}/email/raw`,
          payload: 'From: a@b.test\r\n\r\nhi',
        },
        status: 401,
      },
      {
        key: 'POST /v1/workspaces',
        request: { method: 'POST', url: '/v1/workspaces', headers: ws.auth, payload: { name: 'X' } },
        status: 401,
      },
    ];
    for (const { key, request, status } of cases) {
      const res = await engine.app.inject(request);
      expect(res.statusCode, `${key}: ${res.body}`).toBe(status);
      expect(Object.keys(operation(key).responses), key).toContain(String(status));
      expect(res.json()).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
    }
  });

  it('passes Redocly lint with the recommended rules, offline, with 0 errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'openapi-'));
    try {
      const file = join(dir, 'openapi.json');
      writeFileSync(file, JSON.stringify(doc));
      const run = spawnSync(
        'node_modules/.bin/redocly',
        ['lint', file, '--config', 'redocly.yaml', '--format', 'json'],
        {
          encoding: 'utf8',
          // No telemetry and no update check: CI and laptops may have no network.
          env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
        },
      );
      const report = LintReport.parse(JSON.parse(run.stdout));
      const lines = report.problems.map(
        (p) => `${p.severity} ${p.ruleId}: ${p.message} (${p.location[0]?.pointer ?? ''})`,
      );
      if (report.totals.warnings > 0) console.warn(`Redocly warnings:\n${lines.join('\n')}`);
      expect(report.totals.errors, lines.join('\n')).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
