import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { drizzle } from 'drizzle-orm/node-postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as schema from '../../../src/db/schema/index';
import { upsertLeads } from '../../../src/api/leads/bulk-upsert';
import { importLeadsCsv } from '../../../src/api/leads/csv-import';
import { runCli } from '../../helpers/cli';
import {
  createTestWorkspace,
  startTestEngine,
  type TestEngine,
  type TestWorkspace,
} from '../../helpers/engine';

type Lead = {
  id: string;
  email: string | null;
  firstName: string | null;
  customFields: Record<string, unknown>;
};
type Bulk = {
  created: number;
  updated: number;
  merged: number;
  failed: { index: number; line?: number; error: string }[];
  ids: (string | null)[];
};

describe('bulk upsert and CSV import', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine();
  });
  afterAll(() => engine.close());

  const bulk = (ws: TestWorkspace, leads: unknown[]) =>
    engine.app.inject({ method: 'POST', url: '/v1/leads/bulk', headers: ws.auth, payload: { leads } });
  const csv = (ws: TestWorkspace, body: string | Buffer) =>
    engine.app.inject({
      method: 'POST',
      url: '/v1/leads/import',
      headers: { ...ws.auth, 'content-type': 'text/csv' },
      payload: body,
    });
  const leadsOf = async (ws: TestWorkspace) =>
    (await engine.app.inject({ method: 'GET', url: '/v1/leads?limit=500', headers: ws.auth })).json<{
      data: Lead[];
    }>().data;
  const byEmail = (list: Lead[], email: string) => list.find((l) => l.email?.toLowerCase() === email);

  it('writes the good rows of a mixed batch and reports each bad one by index', async () => {
    const ws = await createTestWorkspace(engine.app);
    const existing = (
      await engine.app.inject({
        method: 'POST',
        url: '/v1/leads',
        headers: ws.auth,
        payload: { email: 'old@example.com', firstName: 'Old' },
      })
    ).json<Lead>();
    await bulk(ws, [{ linkedinUrl: 'https://www.linkedin.com/in/taken' }]);
    const res = await bulk(ws, [
      { email: 'ann@example.com', firstName: 'Ann' }, // 0 created
      { email: 'not an email' }, // 1 bad email
      { email: 'ANN@example.com', lastName: 'Lee', customFields: { tier: 'a' } }, // 2 merged into 0
      { linkedinUrl: 'linkedin.com/in/New-Person/' }, // 3 created
      { email: 'OLD@example.com', company: 'Initech' }, // 4 updates the existing lead
      { email: 'stage@example.com', stage: 'nowhere' }, // 5 unknown stage
      { firstName: 'No identity' }, // 6 neither email nor URL
      { email: 'old@example.com', linkedinUrl: 'https://linkedin.com/in/taken' }, // 7 two existing leads
      42, // 8 not an object
      { email: 'tz@example.com', timezone: 'Nowhere/Land' }, // 9 bad timezone
    ]);
    expect(res.statusCode).toBe(200);
    const body = res.json<Bulk>();
    expect(body).toMatchObject({ created: 2, updated: 1, merged: 1 });
    expect(body.failed.map((f) => f.index)).toEqual([1, 5, 6, 7, 8, 9]);
    const error = (index: number) => body.failed.find((f) => f.index === index)?.error ?? '';
    expect(error(1)).toMatch(/^email:/);
    expect(error(5)).toMatch(/^stage:/);
    expect(error(7)).toMatch(/lead_identity_conflict/);
    expect(error(9)).toMatch(/^timezone:/);
    expect(body.ids[0]).toBe(body.ids[2]);
    expect(body.ids[4]).toBe(existing.id);
    expect(body.ids[1]).toBeNull();

    const all = await leadsOf(ws);
    expect(all).toHaveLength(4);
    expect(byEmail(all, 'ann@example.com')).toMatchObject({
      firstName: 'Ann',
      lastName: 'Lee',
      customFields: { tier: 'a' },
    });
    expect(byEmail(all, 'old@example.com')).toMatchObject({
      id: existing.id,
      firstName: 'Old',
      company: 'Initech',
    });
  });

  it('merges rows linked through another row: email of one, URL of the next', async () => {
    const ws = await createTestWorkspace(engine.app);
    const res = await bulk(ws, [
      { email: 'kim@example.com', firstName: 'Kim' },
      { email: 'KIM@example.com', linkedinUrl: 'https://linkedin.com/in/kim' },
      { linkedinUrl: 'https://www.linkedin.com/in/KIM/', title: 'CEO' },
      { email: 'other@example.com', linkedinUrl: 'https://linkedin.com/in/kim' },
    ]);
    const body = res.json<Bulk>();
    expect(body).toMatchObject({ created: 1, merged: 3, failed: [] });
    const [kim] = await leadsOf(ws);
    // The last row gave a new email for the same LinkedIn profile: later rows win.
    expect(kim).toMatchObject({ email: 'other@example.com', firstName: 'Kim', title: 'CEO' });
  });

  it('takes 10,000 leads in one call with a constant number of statements, and refuses 10,001', async () => {
    const ws = await createTestWorkspace(engine.app);
    const rows = (n: number, prefix: string) =>
      Array.from({ length: n }, (_, i) => ({ email: `${prefix}${i}@example.com`, customFields: { i } }));
    const res = await bulk(ws, rows(10_000, 'big'));
    expect(res.statusCode).toBe(200);
    expect(res.json<Bulk>()).toMatchObject({ created: 10_000, updated: 0, failed: [] });
    const again = await bulk(ws, rows(10_000, 'big'));
    expect(again.json<Bulk>()).toMatchObject({ created: 0, updated: 10_000 });
    const tooMany = await bulk(ws, rows(10_001, 'x'));
    expect(tooMany.statusCode).toBe(400);

    // Count the statements a batch costs: the same for 20 rows as for 2,000.
    const statements = async (n: number) => {
      let count = 0;
      const counted = drizzle(engine.deps.pool, { schema, logger: { logQuery: () => void count++ } });
      await counted.transaction((tx) =>
        upsertLeads(tx, { workspaceId: ws.id, rows: rows(n, `count${n}-`), source: 'api' }),
      );
      return count;
    };
    const small = await statements(20);
    expect(await statements(2_000)).toBe(small);
    expect(small).toBeLessThan(15);
  });

  it('imports a CSV with a BOM, ; separators, quotes, a multi-line cell and unknown columns', async () => {
    const ws = await createTestWorkspace(engine.app);
    const file = [
      '\uFEFFEmail;First Name;last_name;Company;Favorite Color;LinkedIn URL;NPS score',
      'jane@example.com;Jane;"Doe; Jr.";"Acme ""Rockets"", Inc";blue;;9',
      '"bob@example.com";Bob;Smith;;"multi\nline";https://linkedin.com/in/Bob-Smith/?x=1;',
      'bad-email;Bad;Row;X;red;;',
      'JANE@example.com;;;;green;;',
      'extra@example.com;Ex;Tra;Co;c;;1;surplus',
      '',
    ].join('\r\n');
    const res = await csv(ws, file);
    expect(res.statusCode).toBe(200);
    const body = res.json<Bulk>();
    expect(body).toMatchObject({ created: 2, updated: 0, merged: 1 });
    expect(body.failed.map((f) => f.index)).toEqual([2, 4]);
    // The file lines they start on: bob's quoted value spans lines 3 and 4.
    expect(body.failed.map((f) => f.line)).toEqual([5, 7]);
    expect(body.failed[0]?.error).toMatch(/^email:/);
    expect(body.failed[1]?.error).toMatch(/columns/);
    const all = await leadsOf(ws);
    expect(all).toHaveLength(2);
    expect(byEmail(all, 'jane@example.com')).toMatchObject({
      firstName: 'Jane',
      lastName: 'Doe; Jr.',
      company: 'Acme "Rockets", Inc',
      customFields: { favoriteColor: 'green', npsScore: '9' },
    });
    expect(byEmail(all, 'bob@example.com')).toMatchObject({
      linkedinUrl: 'https://www.linkedin.com/in/bob-smith',
      customFields: { favoriteColor: 'multi\nline' },
    });
  });

  it('imports a comma-separated CSV into existing leads, matching headers in any form', async () => {
    const ws = await createTestWorkspace(engine.app);
    await bulk(ws, [{ email: 'known@example.com', firstName: 'Known' }]);
    const res = await csv(
      ws,
      'EMAIL,firstName,job_title,Time Zone\nknown@example.com,,VP Sales,Europe/Paris\nnew@example.com,New,,\n',
    );
    expect(res.json<Bulk>()).toMatchObject({ created: 1, updated: 1, failed: [] });
    const all = await leadsOf(ws);
    expect(byEmail(all, 'known@example.com')).toMatchObject({
      firstName: 'Known',
      title: 'VP Sales',
      timezone: 'Europe/Paris',
    });
  });

  it('accepts a charset parameter, a header-only file, and refuses a file over the size limit', async () => {
    const ws = await createTestWorkspace(engine.app);
    const withCharset = await engine.app.inject({
      method: 'POST',
      url: '/v1/leads/import',
      headers: { ...ws.auth, 'content-type': 'text/csv; charset=utf-8' },
      payload: 'email\ncharset@example.com\n',
    });
    expect(withCharset.json()).toMatchObject({ created: 1 });
    expect((await csv(ws, 'email;company\n')).json()).toMatchObject({ created: 0, updated: 0, failed: [] });
    const big = Readable.from([Buffer.from('email\n'), Buffer.from('a@example.com\n'.repeat(20))]);
    await expect(importLeadsCsv(engine.deps.db, ws.id, big, { maxBytes: 100 })).rejects.toMatchObject({
      statusCode: 413,
    });
    expect(await leadsOf(ws)).toHaveLength(1);
  });

  it('rejects a CSV that does not parse, or lacks an identity column, and writes nothing', async () => {
    const ws = await createTestWorkspace(engine.app);
    const rows = Array.from({ length: 1500 }, (_, i) => `ok${i}@example.com,Name`).join('\n');
    const broken = await csv(ws, `email,name\n${rows}\n"unclosed@example.com,x\n`);
    expect(broken.statusCode).toBe(400);
    expect(broken.json().error.code).toBe('invalid_csv');
    const noIdentity = await csv(ws, 'name,company\nJane,Acme\n');
    expect(noIdentity.statusCode).toBe(400);
    expect(noIdentity.json().error.message).toMatch(/email or a LinkedIn URL/);
    const empty = await csv(ws, '');
    expect(empty.statusCode).toBe(400);
    expect(await leadsOf(ws)).toHaveLength(0);
    const wrongType = await engine.app.inject({
      method: 'POST',
      url: '/v1/leads/import',
      headers: ws.auth,
      payload: { email: 'x@example.com' },
    });
    expect(wrongType.statusCode).toBe(415);
  });

  it('imports the same file from the command line', async () => {
    const ws = await createTestWorkspace(engine.app);
    const dir = await mkdtemp(join(tmpdir(), 'leads-csv-'));
    const path = join(dir, 'leads.csv');
    await writeFile(path, '\uFEFFemail;Company;Industry\ncli@example.com;"Acme; Ltd";Retail\nbroken;x;y\n');
    const run = await runCli(engine.config.DATABASE_URL, ['leads:import', path, '--workspace', ws.id]);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ created: 1, updated: 0, failed: [{ index: 1 }] });
    const all = await leadsOf(ws);
    expect(byEmail(all, 'cli@example.com')).toMatchObject({
      company: 'Acme; Ltd',
      customFields: { industry: 'Retail' },
    });
  });
});
