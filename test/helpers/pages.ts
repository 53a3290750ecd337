import type { FastifyInstance } from 'fastify';

/**
 * Follows `nextCursor` from `url` to the last page and returns every item in the order served.
 * Throws on a page that is not 200, or on more than `maxPages` pages (a cursor that never ends).
 */
export async function allPages<T>(
  app: FastifyInstance,
  auth: { authorization: string },
  url: string,
  maxPages = 100,
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  for (let n = 0; n < maxPages; n++) {
    const page: string = cursor ? `${url}${url.includes('?') ? '&' : '?'}cursor=${cursor}` : url;
    const res = await app.inject({ method: 'GET', url: page, headers: auth });
    if (res.statusCode !== 200) throw new Error(`GET ${page}: ${res.statusCode} ${res.body}`);
    const body = res.json<{ data: T[]; nextCursor: string | null }>();
    items.push(...body.data);
    cursor = body.nextCursor;
    if (!cursor) return items;
  }
  throw new Error(`GET ${url}: still a next page after ${maxPages} pages`);
}
