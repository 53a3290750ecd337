import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserPool } from '../../../src/channels/linkedin/browser-pool';
import { PlaywrightLinkedInDriver } from '../../../src/channels/linkedin/playwright-driver';
import { sessionFromLiAt } from '../../../src/channels/linkedin/session';
import { driverLayouts, type LinkedInSite, startLinkedInSite } from '../../fixtures/linkedin-site/site';

const pacing = { minMs: 0, maxMs: 20 };
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const url = (slug: string) => `https://www.linkedin.com/in/${slug}`;

describe.each(driverLayouts)('Playwright LinkedIn driver against the %s layout', (layout) => {
  let site: LinkedInSite;
  let browsers: BrowserPool;
  let driver: PlaywrightLinkedInDriver;
  let account = 0;

  const driverFor = async (liAt: string) => {
    account += 1;
    const page = await browsers.page(`acct-${account}`, sessionFromLiAt(liAt));
    return new PlaywrightLinkedInDriver(page, { baseUrl: site.url, pacing, timeoutMs: 5_000 });
  };
  const invitesTo = (slug: string) => site.received.invites.filter((i) => i.slug === slug);

  beforeAll(async () => {
    site = await startLinkedInSite(layout);
    browsers = new BrowserPool({ chromiumPath, baseUrl: site.url, headless: true });
    // One account's browser for the whole layout, as an account keeps its tab between actions;
    // every test works on profiles of its own.
    driver = await driverFor(site.liAt);
  });
  afterAll(async () => {
    // Whatever a test did, the sidebar's other members were never invited.
    expect(site.received.decoyInvites).toEqual([]);
    await browsers.close();
    await site.close();
  });

  it('visits a profile: reads it through, and reports the degree its top card shows', async () => {
    site.addProfile('visit-me');
    expect(await driver.visitProfile(url('visit-me'))).toEqual({ ok: true, value: { connection: 'none' } });
    expect(site.received.visits).toContain('visit-me');
    site.addProfile('visit-friend', { connection: 'connected' });
    expect(await driver.visitProfile(url('visit-friend'))).toEqual({
      ok: true,
      value: { connection: 'connected' },
    });
  });

  it('sends an invitation with a note to the profile’s owner, then finds it pending', async () => {
    site.addProfile('invite-note', { name: 'Ada Lovelace' });
    const res = await driver.sendInvite(url('invite-note'), 'Hi Ada, loved your talk on engines.');
    expect(res).toEqual({ ok: true, value: 'sent' });
    expect(invitesTo('invite-note')).toEqual([
      expect.objectContaining({ note: 'Hi Ada, loved your talk on engines.' }),
    ]);
    expect(site.received.visits).not.toContain('invite-note');
    // Asking again does not send a second invitation.
    expect(await driver.sendInvite(url('invite-note'), 'again')).toEqual({
      ok: true,
      value: 'already_pending',
    });
    expect(invitesTo('invite-note')).toHaveLength(1);
  });

  it('finds Connect under "More" on a Follow-first profile, and never clicks a sidebar decoy', async () => {
    site.addProfile('invite-more', { connectInMore: true, name: 'Grace Hopper' });
    expect(await driver.sendInvite(url('invite-more'))).toEqual({ ok: true, value: 'sent' });
    expect(invitesTo('invite-more')).toEqual([expect.objectContaining({ note: null })]);
    expect(site.received.decoyInvites).toEqual([]);
  });

  it('has nothing to invite on a Follow-only profile or the account’s own, and says so', async () => {
    site.addProfile('follow-only', { followOnly: true });
    expect(await driver.sendInvite(url('follow-only'))).toEqual({
      ok: false,
      problem: 'connect_unavailable',
    });
    expect(await driver.sendInvite(url('fixture-me'))).toEqual({
      ok: false,
      problem: 'connect_unavailable',
      detail: 'own_profile',
    });
    expect(invitesTo('follow-only')).toEqual([]);
  });

  it('counts an invitation to a connection as done without sending one', async () => {
    site.addProfile('invite-friend', { connection: 'connected' });
    expect(await driver.sendInvite(url('invite-friend'), 'hello')).toEqual({
      ok: true,
      value: 'already_connected',
    });
    expect(invitesTo('invite-friend')).toEqual([]);
  });

  it('reports that LinkedIn wants the member’s email address, and sends nothing', async () => {
    site.addProfile('invite-email', { emailRequired: true });
    expect(await driver.sendInvite(url('invite-email'), 'hi')).toMatchObject({
      ok: false,
      problem: 'email_required',
    });
    expect(invitesTo('invite-email')).toEqual([]);
  });

  it('once the free notes are used up: fails, or sends without the note, as the account says', async () => {
    site.addProfile('quota-fail');
    site.addProfile('quota-plain');
    site.noteQuotaExhausted = true;
    try {
      expect(await driver.sendInvite(url('quota-fail'), 'a note')).toMatchObject({
        ok: false,
        problem: 'note_quota_exhausted',
      });
      expect(
        await driver.sendInvite(url('quota-plain'), 'a note', {
          whenNoteQuotaExhausted: 'send_without_note',
        }),
      ).toEqual({ ok: true, value: 'sent_without_note' });
    } finally {
      site.noteQuotaExhausted = false;
    }
    expect(invitesTo('quota-fail')).toEqual([]);
    expect(invitesTo('quota-plain')).toEqual([expect.objectContaining({ note: null })]);
  });

  it('sends a message to a connection, once even when asked twice', async () => {
    site.addProfile('msg-friend', { connection: 'connected' });
    for (let i = 0; i < 2; i++)
      expect(await driver.sendMessage(url('msg-friend'), 'Hello Grace, quick question.')).toEqual({
        ok: true,
        value: undefined,
      });
    expect(site.received.messages.filter((m) => m.slug === 'msg-friend').map((m) => m.text)).toEqual([
      'Hello Grace, quick question.',
    ]);
  });

  it('refuses to message someone who is not a connection', async () => {
    site.addProfile('msg-stranger');
    expect(await driver.sendMessage(url('msg-stranger'), 'hi')).toMatchObject({
      ok: false,
      problem: 'not_connected',
    });
    expect(site.received.messages.some((m) => m.slug === 'msg-stranger')).toBe(false);
  });

  it('reports the weekly invitation limit and sends nothing', async () => {
    site.addProfile('limit-me');
    site.weeklyLimit = true;
    try {
      expect(await driver.sendInvite(url('limit-me'), 'note')).toMatchObject({
        ok: false,
        problem: 'weekly_limit',
      });
    } finally {
      site.weeklyLimit = false;
    }
    expect(site.received.limitNotices).toContain('limit-me');
    expect(invitesTo('limit-me')).toEqual([]);
  });

  it('reports a checkpoint, a missing profile, the login wall and the "Welcome back" chooser', async () => {
    site.addProfile('wall-me');
    site.checkpoint = true;
    try {
      expect(await driver.visitProfile(url('wall-me'))).toMatchObject({ ok: false, problem: 'checkpoint' });
      expect(await driver.sendInvite(url('wall-me'), 'x')).toMatchObject({
        ok: false,
        problem: 'checkpoint',
      });
    } finally {
      site.checkpoint = false;
    }
    expect(await driver.visitProfile(url('nobody-here'))).toMatchObject({ ok: false, problem: 'not_found' });
    const loggedOut = await driverFor('not-the-right-cookie');
    expect(await loggedOut.visitProfile(url('wall-me'))).toMatchObject({ ok: false, problem: 'logged_out' });
    site.accountChooser = true;
    try {
      expect(await loggedOut.fetchNewMessages()).toEqual({
        ok: false,
        problem: 'logged_out',
        detail: 'account_chooser',
      });
    } finally {
      site.accountChooser = false;
    }
    expect(invitesTo('wall-me')).toEqual([]);
  });

  it('lists recent connections and reads a grouped reply without marking it read', async () => {
    site.addProfile('inbox-a', { connection: 'connected', name: 'Inbox Ada' });
    site.addProfile('inbox-b', { connection: 'connected' });
    site.markConnected('inbox-b');
    const connections = await driver.recentConnections();
    expect(connections.ok && connections.value).toEqual(
      expect.arrayContaining([url('inbox-a'), url('inbox-b')]),
    );
    await driver.sendMessage(url('inbox-a'), 'Are you free Tuesday?');
    // Two messages in a row: LinkedIn names the sender only on the first of the group.
    site.receiveMessage('inbox-a', 'Yes, Tuesday works.');
    site.receiveMessage('inbox-a', 'Shall we say 10am?');
    const expected = [
      expect.objectContaining({ profileUrl: url('inbox-a'), text: 'Yes, Tuesday works.' }),
      expect.objectContaining({ profileUrl: url('inbox-a'), text: 'Shall we say 10am?' }),
    ];
    const first = await driver.fetchNewMessages();
    expect(first.ok && first.value).toEqual(expected);
    // The person still finds the conversation unread; the next read sees the same messages.
    expect(site.unread('inbox-a')).toBe(true);
    expect(site.received.readMarks).toEqual([]);
    expect(site.received.seenReceipts).toEqual([]);
    const second = await driver.fetchNewMessages();
    expect(second.ok && second.value).toEqual(expected);
  });
});
