import { describe, expect, it } from 'vitest';
import { loadSequenceFile, sequenceFiles } from '../../src/api/sequences/apply';
import { repoRoot } from '../platform/support';
import { runCli } from '../helpers/cli';
import { createTestWorkspace, startTestEngine } from '../helpers/engine';

describe('sequences/ examples', () => {
  it('holds at least three cadences, each valid against the API schema', async () => {
    const files = await sequenceFiles(`${repoRoot}/sequences`);
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const file of files) {
      const loaded = await loadSequenceFile(file);
      expect(loaded, file).not.toHaveProperty('errors');
    }
  });

  it('`cli sequences:apply` creates them by name, and a second apply changes nothing', async () => {
    const engine = await startTestEngine();
    try {
      const ws = await createTestWorkspace(engine.app);
      const apply = async () => {
        const run = await runCli(engine.config.DATABASE_URL, [
          'sequences:apply',
          'sequences',
          '--workspace',
          ws.id,
        ]);
        expect(run.code, run.stderr).toBe(0);
        return JSON.parse(run.stdout);
      };
      const first = await apply();
      expect(first.map((r: { action: string }) => r.action)).toEqual(['created', 'created', 'created']);
      const second = await apply();
      expect(second.map((r: { action: string }) => r.action)).toEqual([
        'unchanged',
        'unchanged',
        'unchanged',
      ]);
      const list = await engine.app.inject({ method: 'GET', url: '/v1/sequences', headers: ws.auth });
      expect(
        list
          .json<{ data: { name: string }[] }>()
          .data.map((s) => s.name)
          .sort(),
      ).toEqual(first.map((r: { name: string }) => r.name).sort());
    } finally {
      await engine.close();
    }
  });

  it('refuses an invalid file and applies nothing', async () => {
    const engine = await startTestEngine();
    try {
      const ws = await createTestWorkspace(engine.app);
      const failed = await runCli(engine.config.DATABASE_URL, [
        'sequences:apply',
        'test/fixtures/bad-sequence.yaml',
        '--workspace',
        ws.id,
      ]);
      expect(failed.code).toBe(1);
      expect(failed.stderr).toContain('steps.0.note');
      const list = await engine.app.inject({ method: 'GET', url: '/v1/sequences', headers: ws.auth });
      expect(list.json().data).toEqual([]);
    } finally {
      await engine.close();
    }
  });
});
