import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importCsvCommand } from '../../src/api/leads/leads.cli';
import { runCli } from '../helpers/cli';
import { createTestWorkspace, startTestEngine, type TestEngine } from '../helpers/engine';
import { repoRoot } from './support';

/**
 * The CLI as scripts use it: JSON on stdout only, everything for a person on stderr. Each run is a
 * real process (tsx, migrations check), some seconds each on a busy machine: hence the timeouts.
 */
describe('cli', { timeout: 240_000 }, () => {
  let engine: TestEngine;
  let dir: string;
  const cli = (...args: string[]) => runCli(engine.config.DATABASE_URL, args);
  beforeAll(async () => {
    engine = await startTestEngine();
    dir = await mkdtemp(join(tmpdir(), 'cli-'));
  });
  afterAll(() => engine.close());

  it('prints only JSON on stdout, and the database it used on stderr', async () => {
    const run = await cli('workspace:create', 'Acme', 'Europe/Paris');
    expect(run.code, run.stderr).toBe(0);
    const created = JSON.parse(run.stdout);
    expect(created).toMatchObject({ name: 'Acme', timezone: 'Europe/Paris' });
    expect(created.apiKey).toMatch(/^ok_/);
    expect(created.webhookSecret).toMatch(/^whsec_/);
    const database = new URL(engine.config.DATABASE_URL).pathname;
    expect(run.stderr).toContain(`database: postgres://`);
    expect(run.stderr).toContain(database);
  });

  it('reads the webhook secret again and rotates it with a grace period', async () => {
    const ws = await createTestWorkspace(engine.app);
    const read = await cli('workspace:webhook-secret', '--workspace', ws.id);
    expect(read.code, read.stderr).toBe(0);
    expect(JSON.parse(read.stdout)).toEqual({
      workspaceId: ws.id,
      webhookSecret: ws.webhookSecret,
      previousSecretExpiresAt: null,
    });
    const rotated = await cli(
      'workspace:rotate-webhook-secret',
      '--workspace',
      ws.id,
      '--grace-seconds',
      '60',
    );
    expect(rotated.code, rotated.stderr).toBe(0);
    const body = JSON.parse(rotated.stdout);
    expect(body.webhookSecret).not.toBe(ws.webhookSecret);
    expect(Date.parse(body.previousSecretExpiresAt)).toBeGreaterThan(Date.now());
    const api = await engine.app.inject({
      method: 'GET',
      url: `/v1/workspaces/${ws.id}/webhook-secret`,
      headers: { authorization: `Bearer ${engine.config.ADMIN_TOKEN}` },
    });
    expect(api.json().webhookSecret).toBe(body.webhookSecret);
  });

  it('refuses bad arguments with exit 1 and a line on stderr, nothing on stdout', async () => {
    const ws = await createTestWorkspace(engine.app);
    for (const args of [
      ['workspace:rotate-webhook-secret', '--workspace', ws.id, '--grace-seconds', 'soon'],
      ['workspace:webhook-secret', '--wrkspace', ws.id],
      ['replies:post', '--workspace', ws.id],
    ]) {
      const run = await cli(...args);
      expect(run.code, args.join(' ')).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr.trim().split('\n').at(-1)).toMatch(/grace-seconds|workspace|--from|unknown option/);
    }
  });

  it('sequences:apply says a draft is a draft, and --activate activates', async () => {
    const ws = await createTestWorkspace(engine.app);
    const file = join(dir, 'one.yaml');
    await writeFile(file, 'name: One\nsteps:\n  - { type: email, subject: Hi, body: Hello }\n');
    const draft = await cli('sequences:apply', file, '--workspace', ws.id);
    expect(draft.code, draft.stderr).toBe(0);
    expect(JSON.parse(draft.stdout)).toMatchObject([{ action: 'created', status: 'draft' }]);
    expect(draft.stderr).toContain('--activate');
    const active = await cli('sequences:apply', file, '--workspace', ws.id, '--activate');
    expect(active.code, active.stderr).toBe(0);
    const [result] = JSON.parse(active.stdout);
    expect(result).toMatchObject({ action: 'unchanged', status: 'active' });
    const seq = await engine.app.inject({
      method: 'GET',
      url: `/v1/sequences/${result.id}`,
      headers: ws.auth,
    });
    expect(seq.json().status).toBe('active');
  });

  it('leads:import reports each failed row with its file line, and sums up on stderr', async () => {
    const ws = await createTestWorkspace(engine.app);
    const file = join(dir, 'leads.csv');
    // Line 1 header; line 2 good; line 3 bad; lines 4-5 one quoted value over two lines; 6 empty; 7 bad.
    await writeFile(
      file,
      'email,first_name,notes\nann@x.test,Ann,\nnot-an-email,Bob,\ncid@x.test,Cid,"two\nlines"\n\nalso-bad,Dee,\n',
    );
    const run = await cli('leads:import', file, '--workspace', ws.id);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({
      created: 2,
      failed: [
        { index: 1, line: 3 },
        { index: 3, line: 7 },
      ],
    });
    expect(run.stderr).toMatch(/4 rows in [\d.]+ s .*2 created, 0 updated, 0 merged, 2 failed/);
    // No terminal, no progress line.
    expect(run.stderr).not.toContain('\r');
  });

  it('leads:import draws progress on a terminal: rows done, rate and time left', async () => {
    const ws = await createTestWorkspace(engine.app);
    const file = join(dir, 'many.csv');
    const rows = Array.from({ length: 2500 }, (_, i) => `lead${i}@many.test,Lead ${i}`);
    await writeFile(file, `email,first_name\n${rows.join('\n')}\n`);
    const written: string[] = [];
    const terminal = { isTTY: true, write: (text: string) => written.push(text) };
    const report = await importCsvCommand(engine.deps, [file, '--workspace', ws.id], terminal);
    expect(report.created).toBe(2500);
    const progress = written.filter((w) => w.startsWith('\r'));
    expect(progress.map((p) => p.match(/^\r([\d,]+) rows/)?.[1])).toEqual(['1,000', '2,000', '2,500']);
    expect(progress.at(-1)).toMatch(/100%, [\d,]+ rows\/s, about 0 s left/);
    expect(written.at(-1)).toMatch(/2500 rows in .* 2500 created/);
  });

  it('imports the documented example file, docs/examples/leads.csv, without a failure', async () => {
    const ws = await createTestWorkspace(engine.app);
    const written: string[] = [];
    const report = await importCsvCommand(
      engine.deps,
      [join(repoRoot, 'docs/examples/leads.csv'), '--workspace', ws.id],
      { write: (text: string) => written.push(text) },
    );
    expect(report).toMatchObject({ created: 3, failed: [] });
    const list = await engine.app.inject({
      method: 'GET',
      url: `/v1/leads?limit=10`,
      headers: ws.auth,
    });
    expect(list.body).toContain('industrySegment');
    expect(list.body).toContain('Two lines\\nin one quoted cell');
  });
});
