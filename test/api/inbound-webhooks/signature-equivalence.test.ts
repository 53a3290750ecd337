import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { verifySignature } from '../../../src/api/inbound-webhooks/signature';

const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const other = 'whsec_dGhpcyBpcyBub3QgdGhlIHNlY3JldCBhdCBhbGwh';
const now = () => Math.floor(Date.now() / 1000);
const signed = (id: string, at: number, body: string, key = secret) =>
  new Webhook(key).sign(id, new Date(at * 1000), body);

/** What the `standardwebhooks` library answers, in verifySignature's terms. */
function library(raw: Buffer, headers: Record<string, string>) {
  try {
    new Webhook(secret).verify(raw, headers, { jsonParse: false });
    return { ok: true, webhookId: headers['webhook-id'] };
  } catch (err) {
    if (err instanceof WebhookVerificationError) return { ok: false, reason: err.message.toLowerCase() };
    throw err;
  }
}

const body = JSON.stringify({ from: 'léa@lead.test', text: 'Oui, appelez-moi mardi 👍' });
const cases: { name: string; body?: string | Buffer; headers: () => Record<string, string> }[] = [
  { name: 'a good signature', headers: () => h('m1', String(now()), signed('m1', now(), body)) },
  {
    name: 'a good one among others',
    headers: () => h('m2', String(now()), `v1,b2xk v2,x ${signed('m2', now(), body)} v1`),
  },
  { name: 'another secret', headers: () => h('m3', String(now()), signed('m3', now(), body, other)) },
  { name: 'another id', headers: () => h('m4', String(now()), signed('m5', now(), body)) },
  {
    name: 'a changed body',
    body: body.replace('mardi', 'jeudi'),
    headers: () => h('m6', String(now()), signed('m6', now(), body)),
  },
  { name: '6 minutes old', headers: () => h('m7', String(now() - 360), signed('m7', now() - 360, body)) },
  { name: '6 minutes ahead', headers: () => h('m8', String(now() + 360), signed('m8', now() + 360, body)) },
  { name: 'a timestamp with a leading zero', headers: () => h('m9', `0${now()}`, signed('m9', now(), body)) },
  { name: 'a timestamp with a tail', headers: () => h('m10', `${now()}abc`, signed('m10', now(), body)) },
  { name: 'a timestamp that is no number', headers: () => h('m11', 'soon', signed('m11', now(), body)) },
  { name: 'v1 without a signature', headers: () => h('m12', String(now()), 'v1') },
  { name: 'v1 with an empty one', headers: () => h('m13', String(now()), 'v1,') },
  {
    name: 'a truncated signature',
    headers: () => h('m14', String(now()), signed('m14', now(), body).slice(0, -2)),
  },
  {
    name: 'a signature with a tail',
    headers: () => h('m15', String(now()), `${signed('m15', now(), body)},extra`),
  },
  { name: 'an id with non-ASCII', headers: () => h('mé', String(now()), signed('mé', now(), body)) },
  { name: 'an empty body', body: '', headers: () => h('m16', String(now()), signed('m16', now(), '')) },
];
const h = (id: string, timestamp: string, signature: string) => ({
  'webhook-id': id,
  'webhook-timestamp': timestamp,
  'webhook-signature': signature,
});

describe('verifySignature answers as the standardwebhooks library does', () => {
  for (const c of cases) {
    it(c.name, () => {
      const raw = Buffer.from(c.body ?? body);
      const headers = c.headers();
      expect(verifySignature(secret, raw, headers)).toEqual(library(raw, headers));
    });
  }

  it('accepts a signature made with the second of two secrets', () => {
    const raw = Buffer.from(body);
    const headers = h('m17', String(now()), signed('m17', now(), body, other));
    expect(verifySignature([secret, other], raw, headers)).toEqual({ ok: true, webhookId: 'm17' });
    expect(verifySignature([secret], raw, headers)).toEqual({
      ok: false,
      reason: 'no matching signature found',
    });
  });

  // The body is checked for UTF-8 in place (not decoded); a strict decoder is the reference.
  const strict = new TextDecoder('utf-8', { fatal: true });
  const decodes = (raw: Buffer) => {
    try {
      strict.decode(raw);
      return true;
    } catch {
      return false;
    }
  };
  const bodies: [string, Buffer][] = [
    ['text with a byte order mark', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(body)])],
    ['a lone continuation byte', Buffer.from([0x7b, 0x80, 0x7d])],
    ['a truncated sequence', Buffer.from([0x7b, 0xe2, 0x82, 0x7d])],
    ['an overlong encoding', Buffer.from([0xc0, 0xaf])],
    ['an encoded surrogate', Buffer.from([0xed, 0xa0, 0x80])],
    ['a code point past U+10FFFF', Buffer.from([0xf4, 0x90, 0x80, 0x80])],
    ['a NUL', Buffer.from([0x7b, 0x00, 0x7d])],
  ];
  for (const [name, raw] of bodies) {
    it(`refuses a body as not UTF-8 exactly when a strict decoder would: ${name}`, () => {
      const headers = h('m18', String(now()), signed('m18', now(), raw.toString('latin1')));
      const refused = verifySignature(secret, raw, headers);
      expect(!refused.ok && refused.reason === 'body is not valid UTF-8').toBe(!decodes(raw));
    });
  }
});
