import type { FastifyInstance } from 'fastify';
import { api } from './engine';

/** `count` mailboxes on the sink at `port`, through the API, with limits that never bind. */
export async function sinkMailboxes(
  app: FastifyInstance,
  key: string,
  port: number,
  count: number,
): Promise<void> {
  for (let i = 0; i < count; i++) {
    await api(app, 'POST', '/v1/mailboxes', {
      key,
      payload: {
        name: `Sender ${i}`,
        fromEmail: `alex@sender${i}.test`,
        fromName: 'Alex',
        smtp: { host: '127.0.0.1', port, tls: 'none' },
        dailyLimit: 100_000,
        minIntervalSeconds: 0,
      },
    });
  }
}
