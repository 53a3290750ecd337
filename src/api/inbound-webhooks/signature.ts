import { Webhook, WebhookVerificationError } from 'standardwebhooks';

export type Verified = { ok: true; webhookId: string } | { ok: false; reason: string };

type Headers = Record<string, string | string[] | undefined>;

const one = (value: string | string[] | undefined) => (Array.isArray(value) ? value.join(' ') : value);
const utf8 = new TextDecoder('utf-8', { fatal: true });

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
  try {
    utf8.decode(raw);
  } catch {
    return { ok: false, reason: 'body is not valid UTF-8' };
  }
  const all = typeof secrets === 'string' ? [secrets] : secrets;
  let first: Verified | undefined;
  for (const secret of all) {
    const result = verifyWith(secret, raw, { webhookId, timestamp, signature });
    if (result.ok) return result;
    first ??= result;
  }
  return first ?? { ok: false, reason: 'no matching signature found' };
}

function verifyWith(
  secret: string,
  raw: Buffer,
  { webhookId, timestamp, signature }: { webhookId: string; timestamp: string; signature: string },
): Verified {
  try {
    new Webhook(secret).verify(
      raw,
      {
        'webhook-id': webhookId,
        'webhook-timestamp': timestamp,
        'webhook-signature': signature,
      },
      { jsonParse: false },
    );
    return { ok: true, webhookId };
  } catch (err) {
    // The library's own words, in one case, as every other reason here is.
    if (err instanceof WebhookVerificationError) return { ok: false, reason: err.message.toLowerCase() };
    throw err;
  }
}
