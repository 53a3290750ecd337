import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../platform/support';

/**
 * The layers of docs/architecture.md are held by the linter (biome.json: `noImportCycles`, and
 * `noRestrictedImports` per folder). These tests lint a tree of deliberately wrong imports with the
 * project's own configuration, and the real tree, so a rule that stops matching is noticed.
 */
const biome = join(repoRoot, 'node_modules', '.bin', 'biome');

function lint(cwd: string, paths: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      biome,
      ['lint', '--max-diagnostics=100', '--colors=off', ...paths],
      { cwd, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, output: `${stdout}${stderr}` });
      },
    );
  });
}

/** A wrong-way import per layer, and a file cycle, each in a file of its own. */
const badTree: Record<string, string> = {
  'src/core/uses-db.ts': "import pg from 'pg';\nexport const a = pg;\n",
  'src/core/uses-engine.ts': "import { b } from '../engine/x';\nexport const a = b;\n",
  'src/db/uses-timeline.ts': "import { b } from '../timeline/x';\nexport const a = b;\n",
  'src/timeline/uses-engine.ts': "import { b } from '../engine/x';\nexport const a = b;\n",
  'src/engine/uses-channel.ts': "import { b } from '../channels/email/x';\nexport const a = b;\n",
  'src/engine/inbound/uses-api.ts': "import { b } from '../../api/http/errors';\nexport const a = b;\n",
  'src/channels/email/uses-api.ts': "import { b } from '../../api/app';\nexport const a = b;\n",
  'src/api/uses-workers.ts': "import { b } from '../../workers/index';\nexport const a = b;\n",
  'src/timeline/cycle-a.ts': "import { b } from './cycle-b';\nexport const a = () => b();\n",
  'src/timeline/cycle-b.ts': "import { a } from './cycle-a';\nexport const b = () => a();\n",
};

describe('the layering lint', () => {
  const dir = mkdtempSync(join(tmpdir(), 'outreach-layers-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('fails on every wrong-way import and on a cycle, naming each file', async () => {
    copyFileSync(join(repoRoot, 'biome.json'), join(dir, 'biome.json'));
    for (const [path, text] of Object.entries(badTree)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    const result = await lint(dir, ['src']);
    expect(result.code).not.toBe(0);
    for (const path of Object.keys(badTree)) expect(result.output, path).toContain(path);
    expect(result.output).toContain('noRestrictedImports');
    expect(result.output).toContain('noImportCycles');
  });

  it('passes on the tree', async () => {
    const result = await lint(repoRoot, ['src', 'workers']);
    expect(result.output).not.toContain('noRestrictedImports');
    expect(result.output).not.toContain('noImportCycles');
    expect(result.code).toBe(0);
  });
});
