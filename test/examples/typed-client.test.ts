import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type OpenApiDocument,
  type Schema,
  typeOf,
  typesFromDocument,
} from '../../examples/typed-client/generate-types';
import { ADMIN_TOKEN, startTestEngine, type TestEngine } from '../helpers/engine';
import { repoRoot } from '../platform/support';

const example = join(repoRoot, 'examples', 'typed-client');

/** Runs a command to its end; never throws, so the test can show what it printed. */
function run(command: string, args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(command, args, { cwd: repoRoot, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the type generator', () => {
  const cases: [Schema, string][] = [
    [{ type: 'string', nullable: true, enum: ['a', 'b'] }, '"a" | "b" | null'],
    [{ type: 'integer' }, 'number'],
    [{ type: 'array', items: { type: 'string', format: 'uuid' } }, '(string)[]'],
    [{ anyOf: [{ type: 'string' }, { type: 'number' }] }, '(string) | (number)'],
    [{ $ref: '#/components/schemas/Error' }, 'components["schemas"]["Error"]'],
    [{ $ref: 'https://elsewhere.example/schema.json' }, 'unknown'],
    [{ type: 'object', additionalProperties: { type: 'number' } }, '{\n  [key: string]: number;\n}'],
    [
      { type: 'object', properties: { 'a-b': { type: 'boolean' } }, required: ['a-b'] },
      '{\n  "a-b": boolean;\n}',
    ],
    [{ type: 'object', properties: {}, additionalProperties: false }, 'Record<string, never>'],
    [{}, 'unknown'],
    [{ type: 'file', description: 'not a JSON Schema type' }, 'unknown'],
  ];
  it.each(cases)('types %j as %s', (schema, expected) => {
    expect(typeOf(schema)).toBe(expected);
  });
});

/**
 * Issue 22: a client typed from `/openapi.json` runs the README flow against a live engine, so the
 * document cannot drift from the code without this failing (types, compile, or a run).
 */
describe('the typed client example', () => {
  let engine: TestEngine;
  let baseUrl: string;
  beforeAll(async () => {
    engine = await startTestEngine();
    await engine.app.listen({ host: '127.0.0.1', port: 0 });
    const address = engine.app.server.address();
    if (!address || typeof address === 'string') throw new Error('the engine is not on a TCP port');
    baseUrl = `http://127.0.0.1:${address.port}`;
  });
  afterAll(() => engine.close());

  it('generates types from the served document, compiles against them, and runs the quick start', async () => {
    const doc = await fetch(`${baseUrl}/openapi.json`);
    expect(doc.status).toBe(200);
    const document: OpenApiDocument = await doc.json();
    // Generated where the example imports it from (git ignores it): the types are never stale.
    writeFileSync(join(example, 'api.d.ts'), typesFromDocument(document));

    const tsc = await run(join(repoRoot, 'node_modules', '.bin', 'tsc'), [
      '-p',
      join(example, 'tsconfig.json'),
    ]);
    expect(tsc.code, `${tsc.stdout}${tsc.stderr}`).toBe(0);

    const flow = await run(process.execPath, ['--import', 'tsx', join(example, 'quick-start.ts')], {
      OUTREACH_URL: baseUrl,
      ADMIN_TOKEN,
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: '1025',
    });
    expect(flow.code, flow.stderr).toBe(0);
    const steps = new Map(
      flow.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line))
        .map((s: { step: string; value: Record<string, unknown> }) => [s.step, s.value]),
    );
    expect(steps.get('enrolled')).toMatchObject({ enrolled: 1, skipped: 0 });
    expect(steps.get('conflict')).toEqual({ status: 409, code: 'name_taken' });
    expect(steps.get('not found')).toEqual({ status: 404, code: 'not_found' });

    // The effect, read back from the database: the lead is enrolled in the sequence it created.
    const { sequenceId } = steps.get('enrolled') ?? {};
    const { rows } = await engine.deps.pool.query(
      'select count(*)::int as n from enrollments where sequence_id = $1',
      [sequenceId],
    );
    expect(rows[0]).toEqual({ n: 1 });
  });
});
