import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createSecrets } from '../../src/lib/crypto';
import { ADMIN_TOKEN, testEnv, uniquePrefix, waitFor } from '../helpers/engine';
import {
  deleteQueueKeys,
  dropDatabase,
  exitWithin,
  freePort,
  freshDatabaseUrl,
  type ServerProcess,
  spawnServer,
  tryGet,
} from '../platform/support';

/**
 * Issue 16, item 6: with ENCRYPTION_KEY unset, secrets were sealed with a key derived from a
 * string in the source code, so anyone with a database dump could open them. Now the engine makes
 * a random key of its own, keeps it in a 0600 file, and will not run with another key.
 */
const spawned: ServerProcess[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  await Promise.all(spawned.map((s) => s.kill()));
  for (const cleanup of cleanups) await cleanup();
});

/** The key every install without ENCRYPTION_KEY used before: public, since it is in the code. */
const formerBuiltInKey = createHash('sha256').update('outreach-engine-development-key').digest('hex');

describe('the encryption key when ENCRYPTION_KEY is unset', () => {
  it('is generated into a 0600 file, seals the secrets, and another key is refused at start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'outreach-key-'));
    const keyFile = join(dir, 'data', 'encryption.key');
    const databaseUrl = freshDatabaseUrl();
    const prefix = uniquePrefix();
    cleanups.push(
      () => rmSync(dir, { recursive: true, force: true }),
      () => dropDatabase(databaseUrl),
      () => deleteQueueKeys(prefix),
    );
    const env = (extra: Record<string, string>) => {
      const { ENCRYPTION_KEY: _given, ...rest } = testEnv({
        DATABASE_URL: databaseUrl,
        QUEUE_PREFIX: prefix,
      });
      return {
        ...rest,
        ENCRYPTION_KEY: '',
        ENCRYPTION_KEY_FILE: keyFile,
        ROLE: 'api',
        LOG_LEVEL: 'info',
        ...extra,
      };
    };

    // First start: a key appears, readable by its owner only.
    const port = await freePort();
    const first = spawnServer(env({ PORT: String(port) }));
    spawned.push(first);
    await waitFor(async () => (await tryGet(`http://127.0.0.1:${port}/health`))?.status === 200, {
      timeoutMs: 60_000,
      what: 'the engine to serve',
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${first.stderr()}\n${first.stdout()}`);
    });
    const key = readFileSync(keyFile, 'utf8').trim();
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(key).not.toBe(formerBuiltInKey);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(first.stdout()).toContain('generated a key in this file');

    // A workspace's secret is sealed with that key, and not with the one from the source code.
    const created = await fetch(`http://127.0.0.1:${port}/v1/workspaces`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Keyed' }),
    });
    expect(created.status).toBe(201);
    const { webhookSecret } = (await created.json()) as { webhookSecret: string };
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    const { rows } = await client.query<{ sealed: string }>(
      'select webhook_secret_enc as sealed from workspaces',
    );
    await client.end();
    const sealed = rows[0]?.sealed ?? '';
    expect(createSecrets(key).decrypt(sealed)).toBe(webhookSecret);
    expect(() => createSecrets(formerBuiltInKey).decrypt(sealed)).toThrow();
    first.child.kill('SIGTERM');
    await exitWithin(first, 15_000);

    // Another key against the same database: refused, saying why, before serving anything.
    const wrongPort = await freePort();
    const wrong = spawnServer(env({ PORT: String(wrongPort), ENCRYPTION_KEY: 'ab'.repeat(32) }));
    spawned.push(wrong);
    const exit = await exitWithin(wrong, 60_000);
    expect(exit.code).toBe(1);
    expect(wrong.stderr()).toContain('ENCRYPTION_KEY does not match this database');
    expect(await tryGet(`http://127.0.0.1:${wrongPort}/health`)).toBeNull();

    // The same file again: starts, and the key is unchanged.
    const againPort = await freePort();
    const again = spawnServer(env({ PORT: String(againPort) }));
    spawned.push(again);
    await waitFor(async () => (await tryGet(`http://127.0.0.1:${againPort}/health`))?.status === 200, {
      timeoutMs: 60_000,
      what: 'the engine to serve again',
    });
    expect(readFileSync(keyFile, 'utf8').trim()).toBe(key);
    again.child.kill('SIGTERM');
    await exitWithin(again, 15_000);
  }, 240_000);
});
