import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Config, ConfigError, loadConfig } from '../../src/config';
import { exitWithin, repoRoot, spawnServer } from './support';

/** One bad value per variable; each must stop start-up with a line naming that variable. */
const badValues: [name: string, value: string][] = [
  ['DATABASE_URL', 'not a url'],
  ['DATABASE_URL', 'mysql://root@localhost/outreach'],
  ['REDIS_URL', 'localhost:6379'],
  ['REDIS_URL', 'http://127.0.0.1:6379'],
  ['PORT', 'abc'],
  ['PORT', '70000'],
  ['PORT', '3000.5'],
  ['ADMIN_TOKEN', 'short'],
  ['ADMIN_TOKEN', '                '],
  ['ADMIN_TOKEN', 'aaaaaaaaaaaaaaaaaaaa'],
  ['ENCRYPTION_KEY', 'abc'],
  ['PUBLIC_URL', 'example.com'],
  ['PUBLIC_URL', 'ftp://example.com'],
  ['LOG_LEVEL', 'loud'],
  ['LINKEDIN_BASE_URL', 'linkedin'],
  ['ROLE', 'both'],
  ['SHUTDOWN_GRACE_SECONDS', '-1'],
  ['STEP_LEASE_SECONDS', '0'],
  ['QUEUE_HORIZON_SECONDS', 'soon'],
  ['MAINTENANCE_INTERVAL_SECONDS', '0'],
  ['STEP_CONCURRENCY', '1.5'],
  ['SMTP_TIMEOUT_SECONDS', '0'],
  ['DATABASE_POOL_SIZE', '5'],
  ['SMTP_SESSIONS_PER_MAILBOX', '0'],
  ['RATE_LIMIT_PER_MINUTE', '0'],
  ['AUTH_FAILURES_PER_MINUTE', '0'],
  ['ALLOWED_PRIVATE_TARGETS', '127.0.0.1:99999'],
  ['INBOX_POLL_SECONDS', '0'],
  ['SENT_LOOKUP_GRACE_SECONDS', '1.5'],
  ['DNS_SERVERS', 'dns.example.com'],
  ['DNS_SERVERS', '127.0.0.1:70000'],
  ['DNS_SERVERS', '1.1.1.1,,;'],
  ['DNS_TIMEOUT_MS', '10'],
];

/** Free-form strings: any non-empty value is valid, so there is no bad value to try. */
const freeForm = ['HOST', 'CHROMIUM_PATH', 'QUEUE_PREFIX', 'ENCRYPTION_KEY_FILE'];

describe('configuration', () => {
  it('applies the documented defaults to an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/outreach',
      REDIS_URL: 'redis://127.0.0.1:6379',
      PORT: 3000,
      ROLE: 'all',
      LOG_LEVEL: 'info',
      CHROMIUM_PATH: '/usr/bin/chromium',
      LINKEDIN_BASE_URL: 'https://www.linkedin.com',
    });
    expect(config.ADMIN_TOKEN).toBeUndefined();
    expect(config.ENCRYPTION_KEY).toBeUndefined();
  });

  it('treats an empty string as unset', () => {
    const config = loadConfig({ PORT: '', ADMIN_TOKEN: '' });
    expect(config.PORT).toBe(3000);
    expect(config.ADMIN_TOKEN).toBeUndefined();
  });

  it('accepts a 32-byte encryption key as hex or base64', () => {
    const hex = 'ab'.repeat(32);
    const base64 = Buffer.alloc(32, 7).toString('base64');
    expect(loadConfig({ ENCRYPTION_KEY: hex }).ENCRYPTION_KEY).toBe(hex);
    expect(loadConfig({ ENCRYPTION_KEY: base64 }).ENCRYPTION_KEY).toBe(base64);
  });

  it('reads DNS_SERVERS as a list of addresses with optional ports', () => {
    expect(loadConfig({ DNS_SERVERS: '1.1.1.1, 127.0.0.1:5353,[::1]:53,::1' }).DNS_SERVERS).toEqual([
      '1.1.1.1',
      '127.0.0.1:5353',
      '[::1]:53',
      '::1',
    ]);
    expect(loadConfig({}).DNS_SERVERS).toBeUndefined();
  });

  it.each(badValues)('rejects %s=%j with one line naming it', (name, value) => {
    let thrown: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    const message = thrown instanceof Error ? thrown.message : '';
    expect(message).toMatch(new RegExp(`^Invalid configuration: ${name}: \\S`));
    expect(message).not.toContain('\n');
  });

  it('has a bad-value case for every variable that can be wrong (add one with each new variable)', () => {
    const covered = new Set(badValues.map(([name]) => name));
    const missing = Object.keys(Config.shape).filter((k) => !covered.has(k) && !freeForm.includes(k));
    expect(missing).toEqual([]);
  });

  it('documents every variable in the README configuration table', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const undocumented = Object.keys(Config.shape).filter((k) => !readme.includes(`| \`${k}\` |`));
    expect(undocumented).toEqual([]);
  });

  it('stops `npx tsx src/server.ts` with exit code 1 and one line naming PORT', async () => {
    const server = spawnServer({ PORT: 'abc' }, { viaNpx: true });
    try {
      const exit = await exitWithin(server, 30_000);
      expect(exit.code).toBe(1);
      const lines = server.stderr().trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^Invalid configuration: PORT: /);
    } finally {
      await server.kill();
    }
  });
});
