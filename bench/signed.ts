import { Webhook } from 'standardwebhooks';

/**
 * Builds signed inbound-email requests the way a provider would (Standard Webhooks, with the
 * `standardwebhooks` library the README recommends), for autocannon's `setupRequest`.
 */
export function signedEmailRequest(secret: string, extraHeaders: Record<string, string> = {}) {
  const webhook = new Webhook(secret);
  let sequence = 0;
  return (body: Record<string, unknown>) => {
    const raw = JSON.stringify(body);
    const id = `msg_bench_${process.pid}_${++sequence}`;
    const now = new Date();
    return {
      body: raw,
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': webhook.sign(id, now, raw),
        ...extraHeaders,
      },
    };
  };
}
