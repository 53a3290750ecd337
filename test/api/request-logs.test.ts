import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEngine, type TestEngine } from '../helpers/engine';

describe('request logs', () => {
  const lines: string[] = [];
  let engine: TestEngine;
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    engine = await startTestEngine({ env: { LOG_LEVEL: 'info' }, logDestination: sink });
  });
  afterAll(() => engine.close());

  it('keep the route of unsubscribe and tracking links but never their token', async () => {
    for (const url of ['/u/SECRETTOKEN123', '/t/o/SECRETTOKEN456', '/t/c/SECRETTOKEN789?u=1']) {
      await engine.app.inject({ method: 'GET', url });
    }
    const logged = lines.join('');
    expect(logged).toContain('/u/[token]');
    expect(logged).toContain('/t/o/[token]');
    expect(logged).not.toMatch(/SECRETTOKEN/);
  });
});
