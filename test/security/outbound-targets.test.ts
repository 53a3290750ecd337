import { createServer } from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookEndpoints } from '../../src/db/schema/index';
import { parseAllowedTargets } from '../../src/lib/allowed-targets';
import {
  BLOCKED_TARGET,
  createOutboundTargets,
  isPrivateAddress,
  type OutboundTargets,
  type Resolve,
} from '../../src/lib/outbound-targets';
import { startWebhookDelivery } from '../../workers/webhooks';
import {
  createTestWorkspace,
  startTestEngine,
  type TestEngine,
  type TestWorkspace,
  waitFor,
} from '../helpers/engine';

const allow = (text: string) => {
  const parsed = parseAllowedTargets(text);
  if (!('targets' in parsed)) throw new Error(parsed.error);
  return parsed.targets;
};

/** Every loopback, private, link-local and metadata spelling the issue lists, and more. */
const privateHosts = [
  '127.0.0.1',
  'localhost',
  'LOCALHOST.',
  'app.localhost',
  '2130706433',
  '0x7f000001',
  '127.1',
  '017700000001',
  '0177.0.0.1',
  '[::ffff:127.0.0.1]',
  '[::1]',
  '0.0.0.0',
  '0',
  '169.254.169.254',
  '100.64.0.1',
  '10.0.0.1',
  '172.16.5.4',
  '192.168.1.1',
  '[fd00::1]',
  '[fe80::1]',
];

describe('the outbound guard', () => {
  it.each([
    ['', []],
    ['127.0.0.1', [{ port: null }]],
    ['127.0.0.1:1025, localhost:1025', [{ port: 1025 }, { host: 'localhost', port: 1025 }]],
    ['mailpit:1025,10.0.0.0/8', [{ host: 'mailpit', port: 1025 }, { port: null }]],
    ['[::1]:25, fd00::/8, [fd00::/8]:587', [{ port: 25 }, { port: null }, { port: 587 }]],
  ])('parses ALLOWED_PRIVATE_TARGETS=%j', (text, expected) => {
    expect(allow(text)).toMatchObject(expected);
  });

  it.each([
    '127.0.0.1:0',
    '127.0.0.1:99999',
    '10.0.0.0/33',
    'not a host',
    '2130706433',
    'http://mailpit',
    '[::1',
    'mailpit/8',
  ])('refuses ALLOWED_PRIVATE_TARGETS=%j', (text) => {
    expect(parseAllowedTargets(text)).toHaveProperty('error');
  });

  it('treats every range but public unicast as private, IPv4-mapped and embedded forms included', () => {
    const privates = [
      '127.0.0.1',
      '10.1.2.3',
      '172.31.255.255',
      '192.168.0.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '0.1.2.3',
      '255.255.255.255',
      '224.0.0.1',
      '240.0.0.1',
      '192.0.2.1',
      '::',
      '::1',
      'fe80::1',
      'fe80::1%eth0',
      'fc00::1',
      'fd12:3456::1',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:169.254.169.254',
      '64:ff9b::7f00:1',
      '2002:7f00:1::1',
      'not an address',
    ];
    const publics = ['8.8.8.8', '93.184.216.34', '2606:4700:4700::1111', '::ffff:8.8.8.8'];
    expect(privates.filter((a) => !isPrivateAddress(a))).toEqual([]);
    expect(publics.filter((a) => isPrivateAddress(a))).toEqual([]);
  });

  it('refuses private literals in every spelling before DNS, and allows only what the list names', () => {
    const none = createOutboundTargets([]);
    expect(privateHosts.filter((host) => none.allowsStatically({ host, port: 25 }))).toEqual([]);
    expect(none.allowsStatically({ host: 'smtp.example.com', port: 25 })).toBe(true);
    const some = createOutboundTargets(allow('127.0.0.1:25, mailpit:1025'));
    expect(some.allowsStatically({ host: '2130706433', port: 25 })).toBe(true);
    expect(some.allowsStatically({ host: 'localhost', port: 25 })).toBe(true);
    expect(some.allowsStatically({ host: '127.0.0.1', port: 26 })).toBe(false);
    expect(some.permits({ host: 'mailpit', port: 1025 }, '172.18.0.3')).toBe(true);
    expect(some.permits({ host: 'mailpit', port: 1026 }, '172.18.0.3')).toBe(false);
    expect(some.permits({ host: 'other', port: 1025 }, '172.18.0.3')).toBe(false);
  });

  it('checks every DNS answer at connect time, so a name that rebinds to a private address is refused', async () => {
    const answers: string[][] = [['93.184.216.34'], ['127.0.0.1'], ['93.184.216.34', '169.254.169.254']];
    let call = 0;
    const resolve: Resolve = async () =>
      (answers[call++] ?? []).map((address) => ({ address, family: net.isIP(address) }));
    const lookup = lookupAll(createOutboundTargets([], resolve), 443);
    expect(await lookup('rebind.test')).toEqual([{ address: '93.184.216.34', family: 4 }]);
    await expect(lookup('rebind.test')).rejects.toThrow(BLOCKED_TARGET);
    await expect(lookup('rebind.test')).rejects.toThrow(BLOCKED_TARGET);
  });

  it('connects to a name that resolves to a private address only when the list allows it', async () => {
    let accepted = 0;
    const server = net.createServer((socket) => {
      accepted++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = portOf(server.address());
    const resolve: Resolve = async () => [{ address: '127.0.0.1', family: 4 }];
    try {
      const target = { host: 'rebind.test', port };
      await expect(createOutboundTargets([], resolve).connect(target, 2000)).rejects.toThrow(BLOCKED_TARGET);
      const socket = await createOutboundTargets(allow(`rebind.test:${port}`), resolve).connect(target, 2000);
      expect(socket.remoteAddress).toBe('127.0.0.1');
      socket.destroy();
      await waitFor(async () => accepted === 1, { what: 'the allowed connection' });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('webhook endpoints and private addresses', () => {
  let engine: TestEngine;
  let delivery: ReturnType<typeof startWebhookDelivery>;
  beforeAll(async () => {
    engine = await startTestEngine({ env: { ALLOWED_PRIVATE_TARGETS: '' } });
    delivery = startWebhookDelivery(engine.deps, {
      policy: { baseMs: 50, maxMs: 200, maxAttempts: 5 },
      dispatchEveryMs: 50,
    });
  });
  afterAll(async () => {
    await delivery.worker.close();
    await Promise.all(delivery.loops.map((l) => l.stop()));
    await engine.close();
  });

  const subscribe = (ws: TestWorkspace, url: string) =>
    engine.app.inject({
      method: 'POST',
      url: '/v1/webhook-endpoints',
      headers: ws.auth,
      payload: { url, events: ['*'] },
    });

  it('refuses every loopback, private, link-local and metadata spelling at the API, naming body.url', async () => {
    const ws = await createTestWorkspace(engine.app);
    for (const host of privateHosts) {
      const res = await subscribe(ws, `http://${host}:8080/hook`);
      expect(res.statusCode, host).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'private_address', details: [{ path: 'body.url' }] });
    }
    const list = await engine.app.inject({ method: 'GET', url: '/v1/webhook-endpoints', headers: ws.auth });
    expect(list.json().data).toEqual([]);
    expect((await subscribe(ws, 'https://crm.example.com/hook')).statusCode).toBe(201);
  });

  it('records a delivery that would reach a private address as "blocked: private address", once, and never connects', async () => {
    const receiver = await startCountingReceiver();
    const ws = await createTestWorkspace(engine.app);
    const redisPort = new URL(engine.config.REDIS_URL).port || '6379';
    // Rows the API no longer accepts: written before this check, or a name whose DNS answer changed.
    const urls = [
      `http://127.0.0.1:${receiver.port}/hooks`,
      `http://localhost:${receiver.port}/hooks`,
      `http://[::ffff:127.0.0.1]:${receiver.port}/hooks`,
      `http://127.0.0.1:${redisPort}/`,
      'http://127.0.0.1:5432/',
    ];
    const rows = await engine.deps.db
      .insert(webhookEndpoints)
      .values(
        urls.map((url) => ({
          workspaceId: ws.id,
          url,
          events: ['*'],
          secretEnc: engine.deps.secrets.encrypt('whsec_dGVzdHNlY3JldHRlc3RzZWNyZXQ='),
        })),
      )
      .returning({ id: webhookEndpoints.id });
    try {
      const lead = await engine.app.inject({
        method: 'POST',
        url: '/v1/leads',
        headers: ws.auth,
        payload: { email: 'ada@blocked.test' },
      });
      expect(lead.statusCode).toBe(201);
      for (const { id } of rows) {
        const [done] = await waitFor(async () => {
          const res = await engine.app.inject({
            method: 'GET',
            url: `/v1/webhook-endpoints/${id}/deliveries`,
            headers: ws.auth,
          });
          const data: { status: string }[] = res.json().data;
          return data[0]?.status === 'failed' ? data : null;
        });
        expect(done).toMatchObject({
          attemptCount: 1,
          attempts: [{ attempt: 1, statusCode: null, error: BLOCKED_TARGET }],
        });
      }
      expect(receiver.connections()).toBe(0);
    } finally {
      await receiver.close();
    }
  });

  it('caps a workspace at 20 live endpoints', async () => {
    const ws = await createTestWorkspace(engine.app);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await subscribe(ws, `https://crm.example.com/hook/${i}`);
      expect(res.statusCode).toBe(201);
      ids.push(res.json().id);
    }
    const over = await subscribe(ws, 'https://crm.example.com/hook/20');
    expect(over.statusCode).toBe(409);
    expect(over.json().error.code).toBe('limit_reached');
    // Another workspace has its own 20; a deleted endpoint frees its place.
    expect(
      (await subscribe(await createTestWorkspace(engine.app), 'https://crm.example.com/x')).statusCode,
    ).toBe(201);
    const url = `/v1/webhook-endpoints/${ids[0]}`;
    expect((await engine.app.inject({ method: 'DELETE', url, headers: ws.auth })).statusCode).toBe(204);
    expect((await subscribe(ws, 'https://crm.example.com/hook/20')).statusCode).toBe(201);
  });
});

/** `lookupFor(port)` as a promise of every answer, as net.connect asks for them. */
function lookupAll(targets: OutboundTargets, port: number) {
  const lookup = targets.lookupFor(port);
  return (hostname: string) =>
    new Promise<unknown>((resolve, reject) =>
      lookup(hostname, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
    );
}

/** An HTTP server that counts the TCP connections it gets, whether or not a request follows. */
async function startCountingReceiver() {
  let connections = 0;
  const server = createServer((_req, res) => res.end());
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: portOf(server.address()),
    connections: () => connections,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function portOf(address: string | net.AddressInfo | null): number {
  if (typeof address !== 'object' || address === null) throw new Error('not listening on a TCP port');
  return address.port;
}
