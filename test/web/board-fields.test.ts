import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestWorkspace, startTestEngine, type TestEngine, type TestWorkspace } from '../helpers/engine';

/** The fields the board reads, over the REST API: deal value and currency, owner, stage stale limits. */
describe('board fields in the API', () => {
  let engine: TestEngine;
  let ws: TestWorkspace;
  beforeAll(async () => {
    engine = await startTestEngine();
    ws = await createTestWorkspace(engine.app);
  });
  afterAll(() => engine.close());

  const call = (method: 'GET' | 'POST' | 'PATCH' | 'PUT', url: string, payload?: object) =>
    engine.app.inject({ method, url, headers: ws.auth, payload });

  it('creates, reads, patches and clears a deal value, its currency and an owner', async () => {
    const created = await call('POST', '/v1/leads', {
      email: 'deal@fields.test',
      dealValue: 1234.5,
      dealCurrency: 'EUR',
      owner: 'ana@team.test',
    });
    expect(created.statusCode).toBe(201);
    const id = created.json<{ id: string }>().id;
    expect(created.json()).toMatchObject({ dealValue: 1234.5, dealCurrency: 'EUR', owner: 'ana@team.test' });
    const patched = await call('PATCH', `/v1/leads/${id}`, {
      dealValue: 99.99,
      dealCurrency: 'USD',
      owner: null,
    });
    expect(patched.json()).toMatchObject({ dealValue: 99.99, dealCurrency: 'USD', owner: null });
    const upserted = await call('POST', '/v1/leads', { email: 'deal@fields.test', owner: 'bo' });
    expect(upserted.json()).toMatchObject({ dealValue: 99.99, dealCurrency: 'USD', owner: 'bo' });
    const read = await call('GET', `/v1/leads/${id}`);
    expect(read.json()).toMatchObject({ dealValue: 99.99, dealCurrency: 'USD', owner: 'bo' });
  });

  it.each([
    [{ dealValue: -1 }, 'body.dealValue'],
    [{ dealValue: '12' }, 'body.dealValue'],
    [{ dealCurrency: 'eur' }, 'body.dealCurrency'],
    [{ dealCurrency: 'EURO' }, 'body.dealCurrency'],
    [{ owner: 'x'.repeat(201) }, 'body.owner'],
  ])('refuses %j with a 400 naming %s', async (fields, path) => {
    const res = await call('POST', '/v1/leads', { email: 'bad@fields.test', ...fields });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('validation_failed');
    expect(JSON.stringify(res.json().error)).toContain(path);
  });

  it('keeps a stale limit per stage, and refuses one below a day', async () => {
    const { data } = (await call('GET', '/v1/pipeline/stages')).json<{
      data: { key: string; name: string; kind: string; staleDays: number | null }[];
    }>();
    expect(data.every((s) => s.staleDays === null)).toBe(true);
    const stages = data.map(({ key, name, kind }) => ({
      key,
      name,
      kind,
      staleDays: key === 'proposal' ? 14 : null,
    }));
    const saved = await call('PUT', '/v1/pipeline/stages', { stages });
    expect(saved.statusCode).toBe(200);
    expect(saved.json().data.find((s: { key: string }) => s.key === 'proposal')).toMatchObject({
      staleDays: 14,
    });
    const bad = await call('PUT', '/v1/pipeline/stages', {
      stages: stages.map((s) => (s.key === 'lead' ? { ...s, staleDays: 0 } : s)),
    });
    expect(bad.statusCode).toBe(400);
    expect(JSON.stringify(bad.json().error)).toContain('staleDays');
  });
});
