import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../context';

const Health = z.object({
  status: z.enum(['ok', 'degraded']),
  postgres: z.enum(['ok', 'down']),
  redis: z.enum(['ok', 'down']),
});

/** Resolves to 'down' when the check fails or takes longer than `ms`. */
async function probe(check: () => Promise<unknown>, ms = 2000): Promise<'ok' | 'down'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'down'>((resolve) => {
    timer = setTimeout(() => resolve('down'), ms);
  });
  try {
    return await Promise.race([check().then(() => 'ok' as const), timeout]);
  } catch {
    return 'down';
  } finally {
    clearTimeout(timer);
  }
}

export const healthRoutes =
  (deps: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/health',
      {
        config: { auth: 'public' },
        logLevel: 'warn',
        schema: {
          tags: ['ops'],
          summary: 'Liveness of the engine and its dependencies',
          response: { 200: Health, 503: Health },
        },
      },
      async (_request, reply) => {
        const [postgres, redis] = await Promise.all([
          probe(() => deps.pool.query('select 1')),
          probe(() => deps.redis.ping()),
        ]);
        const ok = postgres === 'ok' && redis === 'ok';
        return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', postgres, redis });
      },
    );
  };
