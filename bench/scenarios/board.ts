import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { startBenchEngine } from '../engine';
import { percentile, throughputRow } from '../report';
import { perSecond, round, type Scenario } from '../scenario';
import { benchWorkspace } from '../seed';

const LEADS = 5_000;
const CARDS_PER_COLUMN = 20;

/** Signs in through the form, as a browser does: the session and CSRF cookies for later requests. */
async function signIn(app: FastifyInstance, apiKey: string): Promise<string> {
  const login = await app.inject({ method: 'GET', url: '/app/login' });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(login.body)?.[1] ?? '';
  const csrfCookie = String(login.headers['set-cookie']).split(';')[0] ?? '';
  const signed = await app.inject({
    method: 'POST',
    url: '/app/login',
    headers: { cookie: csrfCookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ key: apiKey, _csrf: csrf }).toString(),
  });
  if (signed.statusCode !== 303) throw new Error(`sign-in answered ${signed.statusCode}`);
  const session = String(signed.headers['set-cookie']).split(';')[0] ?? '';
  return `${csrfCookie}; ${session}`;
}

/** Milliseconds per answer of `request`, after a warm-up; fails on any non-200. */
async function timeRequests(count: number, request: () => Promise<{ statusCode: number }>) {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    const res = await request();
    times.push(performance.now() - t0);
    if (res.statusCode !== 200) throw new Error(`answered ${res.statusCode}`);
  }
  return times.sort((a, b) => a - b);
}

/**
 * Issue 18: the board of a workspace with 5,000 leads over 7 stages, rendered server-side, against
 * the JSON API returning the same cards (`GET /v1/pipeline?limit=20`: 20 leads per stage) in the same
 * run and process. Both go through `inject` (no network), interleaved, so both see the same machine.
 */
export const boardScenario: Scenario = {
  name: 'board',
  async run(ctx) {
    const rounds = ctx.env.options.quick ? 20 : 100;
    const stage = await ctx.env.stage('board');
    const engine = await startBenchEngine(stage);
    try {
      const ws = await benchWorkspace(engine.deps, 'board');
      await seedBoard(engine, ws.id);
      const cookie = await signIn(engine.app, ws.apiKey);
      const board = () => engine.app.inject({ method: 'GET', url: '/app/board', headers: { cookie } });
      const json = () =>
        engine.app.inject({
          method: 'GET',
          url: `/v1/pipeline?limit=${CARDS_PER_COLUMN}`,
          headers: { authorization: `Bearer ${ws.apiKey}` },
        });
      await timeRequests(5, board);
      await timeRequests(5, json);
      const boardMs: number[] = [];
      const jsonMs: number[] = [];
      await ctx.phase('render', async () => {
        for (let i = 0; i < rounds; i++) {
          boardMs.push(...(await timeRequests(1, board)));
          jsonMs.push(...(await timeRequests(1, json)));
        }
      });
      boardMs.sort((a, b) => a - b);
      jsonMs.sort((a, b) => a - b);
      const page = await board();
      const api = await json();
      const cards = (page.body.match(/<li class="card[ "]/g) ?? []).length;
      const apiCards = api
        .json<{ data: { leads: unknown[] }[] }>()
        .data.reduce((sum, column) => sum + column.leads.length, 0);
      const boardMedian = percentile(boardMs, 0.5);
      const jsonMedian = percentile(jsonMs, 0.5);
      const htmlPerCard = page.body.length / Math.max(1, cards);
      const jsonPerCard = api.body.length / Math.max(1, apiCards);
      ctx.log(`board ${round(boardMedian)} ms, JSON ${round(jsonMedian)} ms (medians), ${cards} cards`);
      return {
        rows: [
          throughputRow(
            `board: ${LEADS.toLocaleString('en-US')} leads / 7 stages, ${cards} cards rendered`,
            perSecond(1000 / boardMedian),
            { ...perSecond(1000 / jsonMedian), what: `GET /v1/pipeline?limit=${CARDS_PER_COLUMN}, same run` },
            0.5,
          ),
          {
            scenario: 'board: HTML bytes per card',
            engine: { value: round(htmlPerCard, 0), unit: 'B' },
            ceiling: { value: round(jsonPerCard, 0), unit: 'B', what: 'JSON per lead, same cards' },
            ratio: htmlPerCard / jsonPerCard,
            target: null,
            met: null,
          },
        ],
        details: {
          leads: LEADS,
          rounds,
          cards,
          apiCards,
          boardMs: { p50: round(boardMedian), p99: round(percentile(boardMs, 0.99)) },
          jsonMs: { p50: round(jsonMedian), p99: round(percentile(jsonMs, 0.99)) },
          htmlBytes: page.body.length,
          jsonBytes: api.body.length,
          htmlBytesPerCard: round(htmlPerCard, 0),
        },
      };
    } finally {
      await engine.close();
      await stage.drop();
    }
  },
};

/**
 * 5,000 leads spread over the 7 default stages, with deal values, owners, stale limits and a stage
 * event each (entered 0–29 days ago, also on the lead row), straight into Postgres: set-up, not a
 * measured figure.
 */
async function seedBoard(engine: Awaited<ReturnType<typeof startBenchEngine>>, workspaceId: string) {
  await engine.deps.db.execute(sql`
    update stages set stale_days = 7 where workspace_id = ${workspaceId} and kind = 'open'`);
  await engine.deps.db.execute(sql`
    with s as (
      select array_agg(key order by position) as keys from stages where workspace_id = ${workspaceId}
    ), created as (
      insert into leads (workspace_id, email, email_key, company_domain, first_name, last_name, company,
        stage, deal_value, deal_currency, owner, last_activity_at)
      select ${workspaceId}::uuid, 'lead' || g || '@company' || (g % 1000) || '.test',
        'lead' || g || '@company' || (g % 1000) || '.test', 'company' || (g % 1000) || '.test',
        'First' || g, 'Last' || g, 'Company ' || (g % 1000), s.keys[1 + g % 7], (g % 50) * 100 + 0.5,
        case when g % 5 = 0 then 'USD' else 'EUR' end, 'owner' || (g % 4),
        now() - make_interval(hours => g % 700)
      from generate_series(1, ${LEADS}) g, s
      returning id, stage
    )
    insert into stage_events (workspace_id, lead_id, from_stage, to_stage, reason, source, at)
    select ${workspaceId}::uuid, id, null, stage, 'created', 'import',
      now() - make_interval(days => (abs(hashtext(id::text)) % 30))
    from created`);
  // The lead row keeps when it entered its stage, as a stage move sets it.
  await engine.deps.db.execute(sql`
    update leads l set stage_entered_at = se.at
    from stage_events se where se.lead_id = l.id and l.workspace_id = ${workspaceId}`);
  await engine.deps.db.execute(sql`analyze leads`);
}
