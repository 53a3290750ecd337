import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BrowserPool } from '../../../src/channels/linkedin/browser-pool';
import { PlaywrightLinkedInDriver } from '../../../src/channels/linkedin/playwright-driver';
import { sessionFromLiAt } from '../../../src/channels/linkedin/session';
import { type LinkedInSite, startLinkedInSite } from '../../fixtures/linkedin-site/site';

const pacing = { minMs: 0, maxMs: 20 };
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe('Playwright LinkedIn driver against the fixture site', () => {
  let site: LinkedInSite;
  let browsers: BrowserPool;
  let driver: PlaywrightLinkedInDriver;
  let account = 0;

  beforeAll(async () => {
    site = await startLinkedInSite();
    browsers = new BrowserPool({ chromiumPath, baseUrl: site.url, headless: true });
  });
  afterAll(async () => {
    await browsers.close();
    await site.close();
  });
  beforeEach(async () => {
    // A fresh account (context) per test, so cookies and page state never leak between tests.
    account += 1;
    const page = await browsers.page(`acct-${account}`, sessionFromLiAt(site.liAt));
    driver = new PlaywrightLinkedInDriver(page, { baseUrl: site.url, pacing, timeoutMs: 5_000 });
  });

  it('visits a profile: reads it through, and reports the connection degree', async () => {
    const url = site.addProfile('visit-me');
    const res = await driver.visitProfile(url);
    expect(res).toEqual({ ok: true, value: { connection: 'none' } });
    expect(site.received.visits).toContain('visit-me');
    const friend = site.addProfile('visit-friend', { connection: 'connected' });
    expect(await driver.visitProfile(friend)).toEqual({ ok: true, value: { connection: 'connected' } });
  });

  it('sends an invitation with a note, which the site records, and then sees it pending', async () => {
    const url = site.addProfile('invite-note', { name: 'Ada Lovelace' });
    const res = await driver.sendInvite(url, 'Hi Ada, loved your talk on engines.');
    expect(res).toEqual({ ok: true, value: 'sent' });
    expect(site.received.invites.filter((i) => i.slug === 'invite-note')).toEqual([
      expect.objectContaining({ note: 'Hi Ada, loved your talk on engines.' }),
    ]);
    expect(site.received.visits).not.toContain('invite-note');
    expect(await driver.connectionStatus(url)).toEqual({ ok: true, value: 'pending' });
    // Asking again does not send a second invitation.
    expect(await driver.sendInvite(url, 'again')).toEqual({ ok: true, value: 'already_pending' });
    expect(site.received.invites.filter((i) => i.slug === 'invite-note')).toHaveLength(1);
  });

  it('sends an invitation without a note, finding Connect under "More"', async () => {
    const url = site.addProfile('invite-more', { connectInMore: true });
    expect(await driver.sendInvite(url)).toEqual({ ok: true, value: 'sent' });
    expect(site.received.invites.find((i) => i.slug === 'invite-more')?.note).toBeNull();
  });

  it('counts an invitation to a connection as done without sending one', async () => {
    const url = site.addProfile('invite-friend', { connection: 'connected' });
    expect(await driver.sendInvite(url, 'hello')).toEqual({ ok: true, value: 'already_connected' });
    expect(site.received.invites.some((i) => i.slug === 'invite-friend')).toBe(false);
  });

  it('sends a message to a connection, once even when asked twice', async () => {
    const url = site.addProfile('msg-friend', { connection: 'connected' });
    expect(await driver.sendMessage(url, 'Hello Grace, quick question.')).toEqual({
      ok: true,
      value: undefined,
    });
    expect(await driver.sendMessage(url, 'Hello Grace, quick question.')).toEqual({
      ok: true,
      value: undefined,
    });
    expect(site.received.messages.filter((m) => m.slug === 'msg-friend').map((m) => m.text)).toEqual([
      'Hello Grace, quick question.',
    ]);
  });

  it('refuses to message someone who is not a connection', async () => {
    const url = site.addProfile('msg-stranger');
    expect(await driver.sendMessage(url, 'hi')).toMatchObject({ ok: false, problem: 'not_connected' });
    expect(site.received.messages.some((m) => m.slug === 'msg-stranger')).toBe(false);
  });

  it('reports the weekly invitation limit and sends nothing', async () => {
    const url = site.addProfile('limit-me');
    site.weeklyLimit = true;
    try {
      expect(await driver.sendInvite(url, 'note')).toMatchObject({ ok: false, problem: 'weekly_limit' });
    } finally {
      site.weeklyLimit = false;
    }
    expect(site.received.limitNotices).toContain('limit-me');
    expect(site.received.invites.some((i) => i.slug === 'limit-me')).toBe(false);
  });

  it('reports a checkpoint', async () => {
    const url = site.addProfile('checkpoint-me');
    site.checkpoint = true;
    try {
      expect(await driver.visitProfile(url)).toMatchObject({ ok: false, problem: 'checkpoint' });
      expect(await driver.sendInvite(url, 'x')).toMatchObject({ ok: false, problem: 'checkpoint' });
    } finally {
      site.checkpoint = false;
    }
    expect(site.received.invites.some((i) => i.slug === 'checkpoint-me')).toBe(false);
  });

  it('reports a profile that does not exist', async () => {
    const res = await driver.visitProfile('https://www.linkedin.com/in/nobody-here');
    expect(res).toMatchObject({ ok: false, problem: 'not_found' });
  });

  it('reports the login wall when the session cookie is missing or wrong', async () => {
    const url = site.addProfile('wall-me');
    const page = await browsers.page('wrong-session', sessionFromLiAt('not-the-right-cookie'));
    const loggedOut = new PlaywrightLinkedInDriver(page, { baseUrl: site.url, pacing, timeoutMs: 5_000 });
    expect(await loggedOut.visitProfile(url)).toMatchObject({ ok: false, problem: 'logged_out' });
    expect(site.received.loggedOut).toContain('/in/wall-me/');
  });

  it('lists recent connections and fetches new messages once', async () => {
    site.addProfile('inbox-a', { connection: 'connected' });
    site.addProfile('inbox-b', { connection: 'connected' });
    site.markConnected('inbox-b');
    const connections = await driver.recentConnections();
    expect(connections.ok && connections.value).toEqual(
      expect.arrayContaining(['https://www.linkedin.com/in/inbox-a', 'https://www.linkedin.com/in/inbox-b']),
    );
    await driver.sendMessage('https://www.linkedin.com/in/inbox-a', 'Are you free Tuesday?');
    site.receiveMessage('inbox-a', 'Yes, Tuesday works.');
    const first = await driver.fetchNewMessages();
    expect(first.ok && first.value).toEqual([
      expect.objectContaining({
        profileUrl: 'https://www.linkedin.com/in/inbox-a',
        text: 'Yes, Tuesday works.',
      }),
    ]);
    const second = await driver.fetchNewMessages();
    expect(second).toEqual({ ok: true, value: [] });
  });
});
