import { sql } from 'drizzle-orm';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, screenshot, signIn, startWebRig, type WebRig } from './support';

type ApiLead = { id: string; stage: string; dealValue: number | null; dealCurrency: string | null };
type Stage = { key: string; name: string; kind: string; staleDays: number | null };

/** Board, moves (selector and drag and drop), stale cards and notes, against the API's own answers. */
describe('web app: board and lead page', () => {
  let rig: WebRig;
  let page: Page;
  let endpointId: string;
  const ids: Record<string, string> = {};

  const api = async <T>(method: 'GET' | 'POST' | 'PUT', url: string, payload?: object) => {
    const res = await rig.engine.app.inject({ method, url, headers: rig.ws.auth, payload });
    expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
    return res.json<T>();
  };

  /** Every lead of a stage through the public API, page by page. */
  const leadsOf = async (stage: string) => {
    const all: ApiLead[] = [];
    let cursor: string | null = null;
    do {
      const page: { data: ApiLead[]; nextCursor: string | null } = await api(
        'GET',
        `/v1/leads?stage=${stage}&limit=100${cursor ? `&cursor=${cursor}` : ''}`,
      );
      all.push(...page.data);
      cursor = page.nextCursor;
    } while (cursor);
    return all;
  };

  beforeAll(async () => {
    rig = await startWebRig();
    const { data: stages } = await api<{ data: Stage[] }>('GET', '/v1/pipeline/stages');
    await api('PUT', '/v1/pipeline/stages', {
      stages: stages.map((s) => ({
        key: s.key,
        name: s.name,
        kind: s.kind,
        staleDays: s.key === 'proposal' ? 5 : null,
      })),
    });
    const rows = [
      ...Array.from({ length: 25 }, (_, i) => ({
        email: `lead${i}@board.test`,
        firstName: `Lead${i}`,
        company: 'Acme <b>Corp</b>',
        dealValue: 1000 + i,
        dealCurrency: 'EUR',
        owner: i % 2 ? 'ana' : 'bo',
      })),
      {
        email: 'q1@board.test',
        firstName: 'Quinn',
        stage: 'qualified',
        dealValue: 250.5,
        dealCurrency: 'USD',
      },
      {
        email: 'q2@board.test',
        firstName: 'Quade',
        stage: 'qualified',
        dealValue: 99.25,
        dealCurrency: 'EUR',
      },
      {
        email: 'amber@board.test',
        firstName: 'Amber',
        stage: 'proposal',
        dealValue: 5000,
        dealCurrency: 'EUR',
      },
      { email: 'red@board.test', firstName: 'Ruby', stage: 'proposal' },
      { email: 'won@board.test', firstName: 'Winnie', stage: 'won', dealValue: 7000, dealCurrency: 'EUR' },
    ];
    const bulk = await api<{ ids: string[] }>('POST', '/v1/leads/bulk', { leads: rows });
    rows.forEach((row, i) => {
      ids[row.email] = bulk.ids[i] ?? '';
    });
    // Six and twelve days in "proposal" (stale limit 5): amber at the limit, red at twice it. The
    // lead entered its stage then: its stage event and the lead row's stage_entered_at, which every
    // stage move writes together, both say so.
    for (const [email, days] of [
      ['amber@board.test', 6],
      ['red@board.test', 12],
    ] as const) {
      await rig.engine.deps.db.execute(
        sql`update stage_events set at = now() - make_interval(days => ${days}) where lead_id = ${ids[email]}`,
      );
      await rig.engine.deps.db.execute(
        sql`update leads set stage_entered_at = now() - make_interval(days => ${days}) where id = ${ids[email]}`,
      );
    }
    const endpoint = await api<{ id: string }>('POST', '/v1/webhook-endpoints', {
      url: 'http://127.0.0.1:9/hooks',
      events: ['lead.stage_changed'],
    });
    endpointId = endpoint.id;
    ({ page } = await signIn(rig));
  });
  afterAll(() => rig.close());

  const column = (stage: string) => page.locator(`section.column[data-stage="${stage}"]`);
  const card = (leadId: string) => page.locator(`li.card[data-lead-id="${leadId}"]`);

  /** The lead moved over the API's path: its stage, its stage event and a webhook delivery for it. */
  const expectMovedLikeTheApi = async (leadId: string, to: string) => {
    const lead = await api<ApiLead>('GET', `/v1/leads/${leadId}`);
    expect(lead.stage).toBe(to);
    const timeline = await api<{ data: { type: string; to?: string; source?: string }[] }>(
      'GET',
      `/v1/leads/${leadId}/timeline`,
    );
    expect(timeline.data).toContainEqual(
      expect.objectContaining({ type: 'stage_changed', to, source: 'api' }),
    );
    const deliveries = await api<{
      data: { eventType: string; payload: { data: { leadId?: string; to?: string } } }[];
    }>('GET', `/v1/webhook-endpoints/${endpointId}/deliveries`);
    expect(
      deliveries.data.some(
        (d) => d.eventType === 'lead.stage_changed' && JSON.stringify(d.payload).includes(leadId),
      ),
    ).toBe(true);
  };

  it("shows every column's count and totals as the API has them, and marks stale cards", async () => {
    await page.goto('/app/board');
    const pipeline = await api<{ data: { key: string; count: number }[] }>('GET', '/v1/pipeline?limit=0');
    for (const stage of pipeline.data) {
      expect(await column(stage.key).locator('data.count').getAttribute('value'), stage.key).toBe(
        String(stage.count),
      );
      const sums = new Map<string, number>();
      for (const lead of await leadsOf(stage.key)) {
        if (lead.dealValue === null || !lead.dealCurrency) continue;
        sums.set(lead.dealCurrency, (sums.get(lead.dealCurrency) ?? 0) + lead.dealValue);
      }
      const shown = await column(stage.key)
        .locator('data.total')
        .evaluateAll((nodes) =>
          nodes.map((n): [string, number] => [
            n.getAttribute('data-currency') ?? '',
            Number(n.getAttribute('value')),
          ]),
        );
      expect(new Map(shown), stage.key).toEqual(sums);
    }
    // A column shows its first 20 cards; the rest come on demand.
    expect(await column('lead').locator('li.card').count()).toBe(20);
    await column('lead').getByRole('link', { name: 'Load more' }).click();
    await expect.poll(() => column('lead').locator('li.card').count()).toBe(25);

    expect(await card(ids['amber@board.test'] ?? '').getAttribute('data-stale')).toBe('amber');
    expect(await card(ids['red@board.test'] ?? '').getAttribute('data-stale')).toBe('red');
    expect(await card(ids['q1@board.test'] ?? '').getAttribute('data-stale')).toBe('');
    // Days in stage, on the cards and as the column's median, count from when the lead entered it.
    const inStage = (email: string) =>
      card(ids[email] ?? '')
        .locator('dt:text("In stage") + dd')
        .textContent();
    expect(await inStage('amber@board.test')).toBe('6 days');
    expect(await inStage('red@board.test')).toBe('12 days');
    expect(await column('proposal').locator('.column-median').textContent()).toBe('Median 9 days in stage');
    // Tenant text is shown as text, never as markup.
    expect(await column('lead').locator('.card-company b').count()).toBe(0);
    await page.goto('/app/board');
    await screenshot(page, 'board', 'docs/board.png');
    await expectAccessible(page);
  });

  it('moves a card with its stage selector, through the same service as the API', async () => {
    const leadId = ids['q1@board.test'] ?? '';
    await page.goto('/app/board');
    const moved = page.waitForResponse((r) => r.url().endsWith('/app/board/move') && r.status() === 200);
    await card(leadId).getByLabel('Move Quinn to stage').selectOption('contacted');
    await moved;
    await column('contacted').locator(`li.card[data-lead-id="${leadId}"]`).waitFor();
    expect(await column('contacted').locator('data.count').getAttribute('value')).toBe('1');
    expect(await column('qualified').locator('data.count').getAttribute('value')).toBe('1');
    await expectMovedLikeTheApi(leadId, 'contacted');
  });

  it('moves a card by drag and drop, through the same service as the API', async () => {
    const leadId = ids['q2@board.test'] ?? '';
    await page.goto('/app/board');
    const from = await card(leadId).locator('.card-facts').boundingBox();
    const to = await column('won').locator('ul.cards').boundingBox();
    if (!from || !to) throw new Error('card or column not on screen');
    const moved = page.waitForResponse((r) => r.url().endsWith('/app/board/move') && r.status() === 200);
    await page.mouse.move(from.x + 5, from.y + from.height / 2);
    await page.mouse.down();
    await page.mouse.move(from.x + 40, from.y + 40, { steps: 5 });
    await page.mouse.move(to.x + to.width / 2, to.y + to.height - 5, { steps: 20 });
    // SortableJS's fallback drag reads the pointer on a 50 ms tick: let it see the final spot (a
    // release right after the last move drops on the column the previous tick saw).
    await page.waitForTimeout(150);
    await page.mouse.move(to.x + to.width / 2 + 1, to.y + to.height - 6);
    await page.waitForTimeout(150);
    await page.mouse.up();
    await moved;
    await column('won').locator(`li.card[data-lead-id="${leadId}"]`).waitFor();
    await expectMovedLikeTheApi(leadId, 'won');
  });

  it('adds a note on the lead page that the timeline API then returns', async () => {
    const leadId = ids['amber@board.test'] ?? '';
    await page.goto(`/app/leads/${leadId}`);
    await page.getByLabel('Add a note').fill('Called <script>alert(1)</script>; wants a demo');
    await Promise.all([
      page.waitForURL(`**/app/leads/${leadId}**`),
      page.getByRole('button', { name: 'Add note' }).click(),
    ]);
    await page.locator('.tl--note').first().waitFor();
    expect(await page.locator('.tl--note .body').first().textContent()).toBe(
      'Called <script>alert(1)</script>; wants a demo',
    );
    const timeline = await api<{ data: { type: string; body?: string }[] }>(
      'GET',
      `/v1/leads/${leadId}/timeline`,
    );
    expect(timeline.data).toContainEqual(
      expect.objectContaining({ type: 'note', body: 'Called <script>alert(1)</script>; wants a demo' }),
    );
    await screenshot(page, 'lead');
    await expectAccessible(page);
  });
});
