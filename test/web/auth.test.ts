import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, screenshot, signIn, startWebRig, type WebRig } from './support';

describe('web app: sign-in, session and CSRF', () => {
  let rig: WebRig;
  beforeAll(async () => {
    rig = await startWebRig();
  });
  afterAll(() => rig.close());

  it('signs in with an API key into an HttpOnly, SameSite=Strict session, and signs out', async () => {
    const { context, page } = await signIn(rig);
    await page.goto('/app/board');
    await expect.poll(() => page.getByRole('heading', { name: 'Board' }).count()).toBe(1);
    const cookie = (await context.cookies()).find((c) => c.name === 'outreach_session');
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.sameSite).toBe('Strict');
    expect(cookie?.value).not.toContain(rig.ws.apiKey);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL('**/app/login');
    await page.goto('/app/board');
    expect(new URL(page.url()).pathname).toBe('/app/login');
    await context.close();
  });

  it('refuses a wrong key and keeps the person on the sign-in page', async () => {
    const context = await rig.browser.newContext({ baseURL: rig.baseUrl });
    const page = await context.newPage();
    await page.goto('/app/login');
    await page.getByLabel('API key').fill('not-a-key');
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/app/login') && r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Sign in' }).click(),
    ]);
    expect(answer.status()).toBe(401);
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('not a live API key');
    expect((await context.cookies()).some((c) => c.name === 'outreach_session')).toBe(false);
    await screenshot(page, 'login-refused');
    await expectAccessible(page);
    await context.close();
  });

  it('refuses a state-changing request without the CSRF token, and accepts it with one', async () => {
    const { context, page } = await signIn(rig);
    const lead = await rig.engine.app.inject({
      method: 'POST',
      url: '/v1/leads',
      headers: rig.ws.auth,
      payload: { email: 'csrf@example.test' },
    });
    const leadId = lead.json<{ id: string }>().id;
    const without = await page.request.post('/app/board/move', { form: { leadId, stage: 'qualified' } });
    expect(without.status()).toBe(403);
    const forged = await page.request.post('/app/board/move', {
      form: { leadId, stage: 'qualified', _csrf: 'forged-token' },
    });
    expect(forged.status()).toBe(403);
    const unchanged = await rig.engine.app.inject({
      method: 'GET',
      url: `/v1/leads/${leadId}`,
      headers: rig.ws.auth,
    });
    expect(unchanged.json<{ stage: string }>().stage).toBe('lead');

    await page.goto('/app/board');
    const token = await page.locator('form.move input[name="_csrf"]').first().inputValue();
    const withToken = await page.request.post('/app/board/move', {
      form: { leadId, stage: 'qualified', _csrf: token },
      maxRedirects: 0,
    });
    expect(withToken.status()).toBe(303);
    const moved = await rig.engine.app.inject({
      method: 'GET',
      url: `/v1/leads/${leadId}`,
      headers: rig.ws.auth,
    });
    expect(moved.json<{ stage: string }>().stage).toBe('qualified');
    await context.close();
  });

  it('sends the pages with a strict Content-Security-Policy and no session without signing in', async () => {
    const res = await rig.engine.app.inject({ method: 'GET', url: '/app/login' });
    expect(res.statusCode).toBe(200);
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.body).not.toMatch(/<script(?![^>]*\bsrc=)/);
    const board = await rig.engine.app.inject({ method: 'GET', url: '/app/board' });
    expect(board.statusCode).toBe(303);
    expect(board.headers.location).toBe('/app/login?next=%2Fapp%2Fboard');
  });
});
