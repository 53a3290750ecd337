import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testEnv, uniquePrefix, waitFor } from '../helpers/engine';
import {
  deleteQueueKeys,
  dropDatabase,
  freePort,
  freshDatabaseUrl,
  repoRoot,
  type ServerProcess,
  spawnServer,
  tryGet,
} from './support';

/** The shell blocks of the README marked `<!-- quickstart -->`, in order, split into commands. */
function quickstartCommands(readme: string): string[] {
  const blocks = [...readme.matchAll(/<!-- quickstart -->\n```(?:bash|sh)\n([\s\S]*?)```/g)].map(
    (m) => m[1] ?? '',
  );
  return blocks
    .join('')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.trim().startsWith('#'));
}

type Step = { command: string; stdout: string; stderr: string };

/** Runs the commands in one bash, as a person pasting them would, with a marker between them. */
async function replay(commands: string[], env: NodeJS.ProcessEnv, dir: string): Promise<Step[]> {
  const script = commands
    .map((command, i) => `printf '\\n::%d::\\n' ${i}; printf '\\n::%d::\\n' ${i} >&2\n${command}`)
    .join('\n');
  const file = join(dir, 'quickstart.sh');
  await writeFile(file, `${script}\n`);
  // As a person pastes them: no -e, so a failing step shows its answer and the checks name it.
  const { stdout, stderr, code } = await new Promise<{ stdout: string; stderr: string; code: number }>(
    (resolve) =>
      execFile(
        'bash',
        ['-eo', 'pipefail', file],
        { cwd: repoRoot, env, timeout: 280_000 },
        (err, out, errOut) =>
          resolve({ stdout: out, stderr: errOut, code: err ? Number(err.code ?? -1) : 0 }),
      ),
  );
  expect(code, `the quick start failed:\n${stdout}\n${stderr}`).toBe(0);
  expect(stderr, 'no step may complain').not.toMatch(/curl: \(|jq: error|parse error/);
  const split = (text: string) => {
    const parts = text.split(/\n::(\d+)::\n/);
    const byStep = new Map<number, string>();
    for (let i = 1; i < parts.length; i += 2) byStep.set(Number(parts[i]), parts[i + 1] ?? '');
    return byStep;
  };
  const outs = split(stdout);
  const errs = split(stderr);
  return commands.map((command, i) => ({ command, stdout: outs.get(i) ?? '', stderr: errs.get(i) ?? '' }));
}

const spawned: ServerProcess[] = [];
afterAll(async () => {
  await Promise.all(spawned.map((s) => s.kill()));
});

describe('the README quick start', () => {
  it('works when followed literally against a fresh engine with no hidden settings', {
    timeout: 420_000,
  }, async () => {
    const commands = quickstartCommands(await readFile(join(repoRoot, 'README.md'), 'utf8'));
    const databaseUrl = freshDatabaseUrl();
    const prefix = uniquePrefix();
    const port = await freePort();
    const dir = await mkdtemp(join(tmpdir(), 'quickstart-'));
    // What a newcomer has: no ADMIN_TOKEN, no ENCRYPTION_KEY (the engine generates its key file,
    // here in a temporary directory rather than the repository's data/), no PUBLIC_URL. The
    // database and the queue prefix are this test's own.
    const {
      ADMIN_TOKEN: _admin,
      ENCRYPTION_KEY: _key,
      PUBLIC_URL: _url,
      ...base
    } = testEnv({ DATABASE_URL: databaseUrl, QUEUE_PREFIX: prefix });
    const keyFile = join(dir, 'encryption.key');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...base,
      PORT: String(port),
      ENCRYPTION_KEY_FILE: keyFile,
    };
    delete env.ADMIN_TOKEN;
    delete env.ENCRYPTION_KEY;
    delete env.PUBLIC_URL;
    try {
      const server = spawnServer({
        ...base,
        PORT: String(port),
        ENCRYPTION_KEY_FILE: keyFile,
        LOG_LEVEL: 'info',
      });
      spawned.push(server);
      await waitFor(async () => server.stdout().includes('engine started'), {
        timeoutMs: 90_000,
        what: 'the engine to start',
      });
      expect((await tryGet(`http://127.0.0.1:${port}/health`))?.status).toBe(200);

      const steps = await replay(commands, { ...env, LOG_LEVEL: 'warn' }, dir);
      const step = (needle: string) => {
        const found = steps.find((s) => s.command.includes(needle));
        if (!found) throw new Error(`the quick start has no command with ${needle}`);
        return found;
      };

      const workspace = JSON.parse(step('workspace:create').stdout);
      expect(workspace).toMatchObject({ name: 'Acme', timezone: 'Europe/Paris' });
      expect(workspace.apiKey).toMatch(/^ok_/);
      expect(workspace.webhookSecret).toMatch(/^whsec_/);
      expect(step('workspace:create').stderr).toContain(new URL(databaseUrl).pathname);

      const lead = JSON.parse(step('LEAD=').stdout);
      expect(lead).toMatchObject({ email: 'jane@initech.test', stage: 'lead' });
      const sequence = JSON.parse(step('SEQ=').stdout);
      expect(sequence).toMatchObject({ name: 'First touch', status: 'draft' });
      expect(JSON.parse(step('/activate').stdout)).toEqual({ id: sequence.id, status: 'active' });
      const enrolled = JSON.parse(step('/enrollments').stdout);
      expect(enrolled).toMatchObject({ enrolled: [{ leadId: lead.id }], skipped: [] });

      const reply = JSON.parse(step('replies:post').stdout);
      expect(reply).toMatchObject({ status: 'matched', classification: 'human', leadId: lead.id });
      expect(JSON.parse(step(`/v1/leads/$LEAD"`).stdout)).toEqual({
        email: 'jane@initech.test',
        stage: 'qualified',
      });

      // And the cadence stopped for her.
      const enrollment = await fetch(
        `http://127.0.0.1:${port}/v1/enrollments/${enrolled.enrolled[0].enrollmentId}`,
        { headers: { authorization: `Bearer ${workspace.apiKey}` } },
      );
      expect((await enrollment.json()).status).toBe('replied');
      // No hidden setting: admin routes stayed off the whole time, and start-up said so.
      expect(server.stdout()).toContain('ADMIN_TOKEN is not set');
    } finally {
      await Promise.all(spawned.map((s) => s.kill()));
      await dropDatabase(databaseUrl);
      await deleteQueueKeys(prefix);
    }
  });

  it('finds the marked commands, each a line of its own', async () => {
    const commands = quickstartCommands(await readFile(join(repoRoot, 'README.md'), 'utf8'));
    expect(commands.length).toBeGreaterThanOrEqual(6);
    expect(commands.some((c) => c.includes('replies:post'))).toBe(true);
    expect(commands.every((c) => !c.includes('| jq -r .apiKey'))).toBe(true);
    // Every HTTP call shows its errors.
    for (const c of commands.filter((c) => c.includes('curl '))) expect(c).toContain('--fail-with-body');
  });
});
