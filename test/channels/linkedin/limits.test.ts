import { describe, expect, it } from 'vitest';
import { AccountQueue } from '../../../src/channels/linkedin/account-lock';
import { effectiveLimits, slotFreeAt } from '../../../src/channels/linkedin/limits';
import { jitteredDelay, keystrokeDelay, sleep } from '../../../src/channels/linkedin/pacing';
import { browserCookies, sessionFromLiAt } from '../../../src/channels/linkedin/session';
import { newMessagesOf } from '../../../src/channels/linkedin/pages/thread-events';
import { canonicalFromHref, profileSlug } from '../../../src/channels/linkedin/urls';

const H = 3600 * 1000;
const DAY = 24 * H;
const now = new Date('2026-03-10T12:00:00Z');
const ago = (ms: number) => new Date(now.getTime() - ms);

describe('slotFreeAt (rolling windows)', () => {
  const cases: { name: string; times: Date[]; limit: number; windowMs: number; expected: Date | null }[] = [
    { name: 'empty window', times: [], limit: 2, windowMs: DAY, expected: null },
    { name: 'under the limit', times: [ago(H)], limit: 2, windowMs: DAY, expected: null },
    {
      name: 'at the limit: the oldest must leave',
      times: [ago(3 * H), ago(H)],
      limit: 2,
      windowMs: DAY,
      expected: new Date(ago(3 * H).getTime() + DAY),
    },
    {
      name: 'over the limit (limit lowered): enough must leave to get under it',
      times: [ago(5 * H), ago(4 * H), ago(3 * H), ago(H)],
      limit: 2,
      windowMs: DAY,
      expected: new Date(ago(3 * H).getTime() + DAY),
    },
    {
      name: 'actions outside the window do not count',
      times: [ago(8 * DAY), ago(7 * DAY), ago(DAY)],
      limit: 2,
      windowMs: 7 * DAY,
      expected: null,
    },
    {
      name: 'unsorted input',
      times: [ago(H), ago(6 * DAY)],
      limit: 2,
      windowMs: 7 * DAY,
      expected: new Date(ago(6 * DAY).getTime() + 7 * DAY),
    },
    {
      name: 'limit 0 means wait a full window',
      times: [],
      limit: 0,
      windowMs: DAY,
      expected: new Date(now.getTime() + DAY),
    },
    {
      name: 'an action exactly a window ago has left',
      times: [ago(DAY)],
      limit: 1,
      windowMs: DAY,
      expected: null,
    },
  ];
  it.each(cases)('$name', ({ times, limit, windowMs, expected }) => {
    expect(slotFreeAt(times, limit, windowMs, now)).toEqual(expected);
  });

  it('fills missing limits with the defaults', () => {
    expect(effectiveLimits({ invitesPerWeek: 5 })).toEqual({
      invitesPerWeek: 5,
      messagesPerDay: 50,
      visitsPerDay: 80,
    });
    expect(effectiveLimits(null)).toEqual({ invitesPerWeek: 100, messagesPerDay: 50, visitsPerDay: 80 });
  });
});

describe('pacing', () => {
  it('keeps pauses inside the bounds, centred, and keystrokes short', () => {
    const pacing = { minMs: 1000, maxMs: 3000 };
    expect(jitteredDelay(pacing, () => 0)).toBe(1000);
    expect(jitteredDelay(pacing, () => 0.999999)).toBe(3000);
    expect(jitteredDelay(pacing, () => 0.5)).toBe(2000);
    const draws = Array.from({ length: 2000 }, () => jitteredDelay(pacing));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...draws)).toBeLessThanOrEqual(3000);
    expect(keystrokeDelay({ minMs: 0, maxMs: 10 }, () => 0.5)).toBeLessThanOrEqual(1);
    expect(keystrokeDelay({ minMs: 2000, maxMs: 60_000 }, () => 1)).toBeLessThanOrEqual(180);
  });
});

describe('session cookies', () => {
  const exported = {
    cookies: [
      {
        name: 'li_at',
        value: 'v1',
        domain: '.www.linkedin.com',
        path: '/',
        expirationDate: 1893456000,
        sameSite: 'no_restriction',
        secure: true,
      },
      { name: 'lang', value: 'en', domain: '.linkedin.com', sameSite: 'lax' },
      { name: 'tracker', value: 'x', domain: '.doubleclick.net' },
    ],
  };
  it('keeps LinkedIn domains against linkedin.com and drops other sites', () => {
    expect(browserCookies(exported, 'https://www.linkedin.com')).toEqual([
      {
        name: 'li_at',
        value: 'v1',
        domain: '.www.linkedin.com',
        path: '/',
        expires: 1893456000,
        secure: true,
        sameSite: 'None',
      },
      { name: 'lang', value: 'en', domain: '.linkedin.com', path: '/', secure: true, sameSite: 'Lax' },
    ]);
  });
  it('binds the cookies to another base URL (the fixture)', () => {
    expect(browserCookies(sessionFromLiAt('abc'), 'http://127.0.0.1:4321')).toEqual([
      { name: 'li_at', value: 'abc', url: 'http://127.0.0.1:4321' },
    ]);
  });
});

describe('profile URLs', () => {
  it('maps canonical URLs to slugs and page links back to canonical URLs', () => {
    expect(profileSlug('https://www.linkedin.com/in/Jane-Doe/?trk=x')).toBe('jane-doe');
    expect(profileSlug('https://example.com/in/jane')).toBeNull();
    expect(canonicalFromHref('/in/jane-doe/', 'http://127.0.0.1:9')).toBe(
      'https://www.linkedin.com/in/jane-doe',
    );
    expect(canonicalFromHref('http://127.0.0.1:9/in/J%C3%B6rg/', 'http://127.0.0.1:9')).toBe(
      'https://www.linkedin.com/in/j%C3%B6rg',
    );
  });
});

describe('AccountQueue', () => {
  it('runs one action at a time per account, in arrival order, past a failing one', async () => {
    const queue = new AccountQueue();
    const running = new Map<string, number>();
    const peak = new Map<string, number>();
    const order: string[] = [];
    const act = (account: string, label: string, fail = false) =>
      queue.run(account, async () => {
        running.set(account, (running.get(account) ?? 0) + 1);
        peak.set(account, Math.max(peak.get(account) ?? 0, running.get(account) ?? 0));
        await sleep(5);
        order.push(label);
        running.set(account, (running.get(account) ?? 1) - 1);
        if (fail) throw new Error(label);
        return label;
      });
    const results = await Promise.allSettled([
      act('a', 'a1'),
      act('a', 'a2', true),
      act('a', 'a3'),
      act('b', 'b1'),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(peak.get('a')).toBe(1);
    expect(order.filter((l) => l.startsWith('a'))).toEqual(['a1', 'a2', 'a3']);
  });
});

describe('newMessagesOf (a conversation as the page shows it)', () => {
  const base = 'https://fixture.test';
  const me = '/in/me-account/';
  const them = 'https://www.linkedin.com/in/jane-doe/';
  const at = (hhmm: string) => `2026-03-10T${hhmm}:00.000Z`;
  const msg = (senderHref: string | null, text: string, time: string | null = null) => ({
    senderHref,
    text,
    at: time ? at(time) : null,
  });
  const cases: { name: string; events: ReturnType<typeof msg>[]; texts: string[] | null }[] = [
    {
      name: 'a group of replies: only its first names the sender, all of it is theirs',
      events: [
        msg(me, 'Are you free?', '09:00'),
        msg(them, 'Yes.', '09:05'),
        msg(null, 'Tuesday?'),
        msg(null, '10am'),
      ],
      texts: ['Yes.', 'Tuesday?', '10am'],
    },
    {
      name: 'our own group after theirs: nothing new',
      events: [msg(them, 'Hi', '08:00'), msg(me, 'Hello', '08:01'), msg(null, 'How are you?')],
      texts: [],
    },
    {
      name: 'only their messages',
      events: [msg(them, 'First', '07:00'), msg(null, 'Second')],
      texts: ['First', 'Second'],
    },
    {
      name: 'a list that starts mid-group (sender unknown): counted from the first named sender',
      events: [msg(null, 'older, unattributed'), msg(them, 'New', '10:00')],
      texts: ['New'],
    },
    {
      name: 'empty items (an attachment) are skipped',
      events: [msg(them, '', '10:00'), msg(null, 'Text')],
      texts: ['Text'],
    },
    { name: 'no conversation: empty', events: [], texts: [] },
  ];
  it.each(cases)('$name', ({ events, texts }) => {
    const read = newMessagesOf({ other: them, events }, base, now);
    expect(read?.map((m) => m.text) ?? null).toEqual(texts);
  });

  it('a continuation takes its group’s time; a thread naming nobody else is not read', () => {
    const read = newMessagesOf({ other: them, events: [msg(them, 'a', '09:05'), msg(null, 'b')] }, base, now);
    expect(read?.map((m) => [m.at.toISOString(), m.atFromPage])).toEqual([
      [at('09:05'), true],
      [at('09:05'), true],
    ]);
    const untimed = newMessagesOf({ other: them, events: [msg(them, 'a')] }, base, now);
    expect(untimed).toEqual([
      { profileUrl: 'https://www.linkedin.com/in/jane-doe', text: 'a', at: now, atFromPage: false },
    ]);
    expect(newMessagesOf({ other: null, events: [msg(them, 'a')] }, base, now)).toBeNull();
  });
});
