import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadSequenceFile, sequenceFiles } from '../../src/modules/sequences/apply';
import { repoRoot } from '../foundation/support';
import { createTestWorkspace, startTestEngine, testEnv } from '../helpers/engine';

const run = promisify(execFile);

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
      const env = {
        ...process.env,
        ...testEnv({ DATABASE_URL: engine.config.DATABASE_URL }),
        LOG_LEVEL: 'silent',
      };
      const args = ['--import', 'tsx', 'src/cli.ts', 'sequences:apply', 'sequences', '--workspace', ws.id];
      const first = JSON.parse((await run(process.execPath, args, { cwd: repoRoot, env })).stdout);
      expect(first.map((r: { action: string }) => r.action)).toEqual(['created', 'created', 'created']);
      const second = JSON.parse((await run(process.execPath, args, { cwd: repoRoot, env })).stdout);
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
      const env = {
        ...process.env,
        ...testEnv({ DATABASE_URL: engine.config.DATABASE_URL }),
        LOG_LEVEL: 'silent',
      };
      const failed = await run(
        process.execPath,
        [
          '--import',
          'tsx',
          'src/cli.ts',
          'sequences:apply',
          'test/fixtures/bad-sequence.yaml',
          '--workspace',
          ws.id,
        ],
        { cwd: repoRoot, env },
      ).then(
        () => null,
        (err: { code: number; stderr: string }) => err,
      );
      expect(failed?.code).toBe(1);
      expect(failed?.stderr).toContain('steps.0.note');
      const list = await engine.app.inject({ method: 'GET', url: '/v1/sequences', headers: ws.auth });
      expect(list.json().data).toEqual([]);
    } finally {
      await engine.close();
    }
  });
});
