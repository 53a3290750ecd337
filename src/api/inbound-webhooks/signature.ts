import { isUtf8 } from 'node:buffer';
import { createHmac, timingSafeEqual } from 'node:crypto';

export type Verified = { ok: true; webhookId: string } | { ok: false; reason: string };

type Headers = Record<string, string | string[] | undefined>;

const one = (value: string | string[] | undefined) => (Array.isArray(value) ? value.join(' ') : value);

/**
 * Checks a Standard Webhooks signature on the raw body: HMAC-SHA256 over `id.timestamp.body`,
 * compared in constant time, timestamp within ±5 minutes, any one of several space-separated `v1,`
 * signatures (key rotation) accepted. The library hashes the body as a UTF-8 string, so a body that
 * is not valid UTF-8 is refused: two different invalid byte sequences could decode alike.
 * `secrets` may hold several: the current one first, then one a rotation replaced but still accepts;
 * a signature made with any of them verifies, and a refusal gives the reason for the first.
 */
export function verifySignature(
  secrets: string | readonly string[],
  raw: Buffer,
  headers: Headers,
): Verified {
  const webhookId = one(headers['webhook-id']);
  const timestamp = one(headers['webhook-timestamp']);
  const signature = one(headers['webhook-signature']);
  if (!webhookId || !timestamp || !signature) {
    return { ok: false, reason: 'missing webhook-id, webhook-timestamp or webhook-signature header' };
  }
  if (webhookId.length > 200) return { ok: false, reason: 'webhook-id is longer than 200 characters' };
  // Checked in place: decoding the body to a string only to see whether it decodes copied every body.
  if (!isUtf8(raw)) return { ok: false, reason: 'body is not valid UTF-8' };
  const all = typeof secrets === 'string' ? [secrets] : secrets;
  let first: Verified | undefined;
  for (const secret of all) {
    const result = verifyWith(secret, raw, { webhookId, timestamp, signature });
    if (result.ok) return result;
    first ??= result;
  }
  return first ?? { ok: false, reason: 'no matching signature found' };
}

/** The library's tolerance: a timestamp more than 5 minutes from now is refused. */
const TOLERANCE_SECONDS = 5 * 60;
/** Enough for every workspace's secrets; past it the cache starts over. */
const MAX_KEYS = 10_000;
const keys = new Map<string, Buffer>();

/** The HMAC key a `whsec_` secret stands for (its base64 part, decoded), remembered by secret. */
function keyOf(secret: string): Buffer {
  let key = keys.get(secret);
  if (!key) {
    key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
    if (keys.size >= MAX_KEYS) keys.clear();
    keys.set(secret, key);
  }
  return key;
}

/**
 * The `standardwebhooks` library's `verify`, step for step and with its reasons, but hashing with
 * node:crypto: the library's pure-JS SHA-256 was 8% of the API's busy time in the reply burst.
 * The body is hashed as its bytes, which for valid UTF-8 (checked above) are the bytes the library
 * hashes after decoding and encoding it again. `signature-equivalence.test.ts` holds both to the
 * same answers.
 */
function verifyWith(
  secret: string,
  raw: Buffer,
  { webhookId, timestamp, signature }: { webhookId: string; timestamp: string; signature: string },
): Verified {
  const at = Number.parseInt(timestamp, 10);
  if (Number.isNaN(at)) return { ok: false, reason: 'invalid signature headers' };
  const now = Math.floor(Date.now() / 1000);
  if (now - at > TOLERANCE_SECONDS) return { ok: false, reason: 'message timestamp too old' };
  if (at > now + TOLERANCE_SECONDS) return { ok: false, reason: 'message timestamp too new' };
  const expected = Buffer.from(
    createHmac('sha256', keyOf(secret)).update(`${webhookId}.${at}.`).update(raw).digest('base64'),
  );
  for (const versioned of signature.split(' ')) {
    const [version, given] = versioned.split(',');
    if (version !== 'v1' || given === undefined) continue;
    const candidate = Buffer.from(given);
    if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) {
      return { ok: true, webhookId };
    }
  }
  return { ok: false, reason: 'no matching signature found' };
}
