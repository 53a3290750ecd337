import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Deps } from '../../context';
import { moveLeadToStage } from '../../api/leads/lead-activity.service';
import { StageKey } from '../../api/pipeline/pipeline.schemas';
import { listStages } from '../../timeline/stage-moves';
import { csrfToken, page, render, requireSession } from '../page-kit';
import { type BoardFilter, boardCards, boardColumns } from './board.service';
import { boardChoices } from './board-choices';
import { cardsHtml, stageOptions } from './board-card';

const PAGE = 20;
const blank = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

const BoardQuery = z.object({
  sequence: z.preprocess(blank, z.uuid().optional()).catch(undefined),
  owner: z.preprocess(blank, z.string().max(200).optional()).catch(undefined),
  q: z.preprocess(blank, z.string().max(200).optional()).catch(undefined),
  limit: z.coerce.number().int().min(PAGE).max(1000).catch(PAGE),
});
type BoardQuery = z.infer<typeof BoardQuery>;

const ColumnQuery = BoardQuery.extend({ offset: z.coerce.number().int().min(0).max(1_000_000).catch(0) });
const MoveBody = z.object({ leadId: z.uuid(), stage: StageKey });

const filterOf = (query: BoardQuery): BoardFilter => ({
  sequenceId: query.sequence,
  owner: query.owner,
  q: query.q,
});

/** The filters as a query string, so a move or "load more" keeps what the person was looking at. */
function filterParams(query: BoardQuery, extra: Record<string, string | number> = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries({ sequence: query.sequence, owner: query.owner, q: query.q })) {
    if (value) params.set(key, value);
  }
  for (const [key, value] of Object.entries(extra)) params.set(key, String(value));
  return params.toString();
}

/** The board (`/app/board`), its columns' "load more", and moving a card. */
export function registerBoardRoutes(app: FastifyInstance, deps: Deps): void {
  const session = (request: FastifyRequest, reply: FastifyReply) => requireSession(deps, request, reply);

  const boardPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    query: BoardQuery,
    notice?: string,
  ) => {
    const workspaceId = request.webSession.workspaceId;
    const [columns, choices] = await Promise.all([
      boardColumns(deps.db, workspaceId, filterOf(query), query.limit),
      boardChoices(deps.db, workspaceId),
    ]);
    const csrf = csrfToken(deps, request, reply);
    const cards = { csrf, filter: filterOf(query), stageOptions: stageOptions(columns) };
    return render(reply, 'board', {
      nav: 'board',
      session: request.webSession,
      csrf,
      columns: columns.map((c) => ({ ...c, cardsHtml: cardsHtml(c.cards, cards) })),
      stages: columns.map((c) => ({ key: c.key, name: c.name })),
      query,
      filters: filterParams(query),
      more: filterParams(query, { limit: query.limit + PAGE }),
      next: query.limit,
      choices,
      notice,
    });
  };

  app.get(
    '/app/board',
    { config: page, schema: { hide: true }, preHandler: session },
    async (request, reply) => boardPage(request, reply, BoardQuery.parse(request.query)),
  );

  app.get(
    '/app/board/columns/:stage',
    { config: page, schema: { hide: true }, preHandler: session },
    async (request, reply) => {
      const stage = StageKey.safeParse((request.params as { stage: string }).stage);
      if (!stage.success) return reply.code(404).send();
      const query = ColumnQuery.parse(request.query);
      const workspaceId = request.webSession.workspaceId;
      const stages = await listStages(deps.db, workspaceId);
      const cards = await boardCards(
        deps.db,
        workspaceId,
        filterOf(query),
        { offset: query.offset, limit: PAGE, stage: stage.data },
        stages,
      );
      const csrf = csrfToken(deps, request, reply);
      return render(reply, 'board-cards', {
        cardsHtml: cardsHtml(cards, { csrf, filter: filterOf(query), stageOptions: stageOptions(stages) }),
        stage: stage.data,
        filters: filterParams(query),
        query,
        nextOffset: cards.length === PAGE ? query.offset + PAGE : null,
        more: filterParams(query, { limit: query.offset + 2 * PAGE }),
      });
    },
  );

  app.post(
    '/app/board/move',
    { config: page, schema: { hide: true }, preHandler: [session, app.csrfProtection] },
    async (request, reply) => {
      const body = MoveBody.safeParse(request.body);
      const query = BoardQuery.parse(request.body ?? {});
      if (!body.success) {
        reply.code(400);
        return boardPage(
          request,
          reply,
          query,
          'That move was not understood: choose a stage from the list.',
        );
      }
      // The same service as POST /v1/leads/:id/stage: stage event, webhook and stop rules alike.
      const moved = await moveLeadToStage(deps.db, request.webSession.workspaceId, body.data.leadId, {
        stage: body.data.stage,
      });
      if (!moved.ok) {
        reply.code(moved.error === 'not_found' ? 404 : 400);
        return boardPage(request, reply, query, 'That lead or stage no longer exists.');
      }
      if (!request.headers['hx-request']) {
        const filters = filterParams(query);
        return reply.redirect(`/app/board${filters ? `?${filters}` : ''}`, 303);
      }
      return boardPage(request, reply, query);
    },
  );
}
