import { describe, expect, it } from 'vitest';
import {
  capacityDecision,
  dayBounds,
  effectiveDailyLimit,
  nextSlotAt,
  SPACING_JITTER,
} from '../../../src/channels/email/capacity';
import { MAX_SEND_ATTEMPTS, classifySmtpError, retryDelayMs } from '../../../src/channels/email/smtp-errors';

const at = (iso: string) => new Date(iso);

describe('dayBounds', () => {
  it.each([
    ['UTC midday', '2024-06-10T12:00:00Z', 'UTC', '2024-06-10T00:00:00.000Z', '2024-06-11T00:00:00.000Z'],
    [
      'Paris just after midnight',
      '2024-06-09T22:30:00Z',
      'Europe/Paris',
      '2024-06-09T22:00:00.000Z',
      '2024-06-10T22:00:00.000Z',
    ],
    [
      'New York, a 23-hour DST day',
      '2024-03-10T15:00:00Z',
      'America/New_York',
      '2024-03-10T05:00:00.000Z',
      '2024-03-11T04:00:00.000Z',
    ],
    [
      'Paris, a 25-hour DST day',
      '2024-10-27T10:00:00Z',
      'Europe/Paris',
      '2024-10-26T22:00:00.000Z',
      '2024-10-27T23:00:00.000Z',
    ],
    ['leap day', '2024-02-29T23:59:59Z', 'UTC', '2024-02-29T00:00:00.000Z', '2024-03-01T00:00:00.000Z'],
  ])('%s', (_name, now, tz, start, end) => {
    const day = dayBounds(at(now), tz);
    expect(day.start.toISOString()).toBe(start);
    expect(day.end.toISOString()).toBe(end);
  });

  it('answers each instant with its own day when asked about several days in turn', () => {
    // The last day per zone is remembered: a later, an earlier and a boundary instant must miss it.
    const asked: [string, string][] = [
      ['2024-06-10T12:00:00Z', '2024-06-09T22:00:00.000Z'],
      ['2024-06-10T21:59:59.999Z', '2024-06-09T22:00:00.000Z'],
      ['2024-06-10T22:00:00Z', '2024-06-10T22:00:00.000Z'],
      ['2024-06-10T12:00:00Z', '2024-06-09T22:00:00.000Z'],
      ['2024-06-09T21:59:59.999Z', '2024-06-08T22:00:00.000Z'],
    ];
    for (const [now, start] of asked)
      expect(dayBounds(at(now), 'Europe/Paris').start.toISOString()).toBe(start);
    // A caller changing its copy does not change the next answer.
    const day = dayBounds(at('2024-06-10T12:00:00Z'), 'UTC');
    day.end = at('2024-06-10T13:00:00Z');
    expect(dayBounds(at('2024-06-10T14:00:00Z'), 'UTC').end.toISOString()).toBe('2024-06-11T00:00:00.000Z');
  });
});

describe('effectiveDailyLimit (warm-up ramp)', () => {
  const createdAt = at('2024-06-01T09:00:00Z');
  it.each([
    ['no ramp', null, '2024-06-01T10:00:00Z', 50],
    [
      'first day of the ramp',
      { startLimit: 5, increasePerDay: 3, startedAt: '2024-06-10' },
      '2024-06-10T23:00:00Z',
      5,
    ],
    ['third day', { startLimit: 5, increasePerDay: 3, startedAt: '2024-06-10' }, '2024-06-12T01:00:00Z', 11],
    [
      'capped by dailyLimit',
      { startLimit: 5, increasePerDay: 10, startedAt: '2024-06-10' },
      '2024-07-30T01:00:00Z',
      50,
    ],
    [
      'before the ramp starts',
      { startLimit: 5, increasePerDay: 3, startedAt: '2024-06-10' },
      '2024-06-08T01:00:00Z',
      5,
    ],
    ['ramp from creation day', { startLimit: 2, increasePerDay: 1 }, '2024-06-04T12:00:00Z', 5],
    ['fractional growth rounds down', { startLimit: 2, increasePerDay: 0.5 }, '2024-06-04T12:00:00Z', 3],
  ])('%s', (_name, warmup, now, expected) => {
    expect(effectiveDailyLimit({ dailyLimit: 50, warmup, createdAt }, at(now), 'UTC')).toBe(expected);
  });

  it('counts days in the workspace time zone', () => {
    const ramp = { startLimit: 1, increasePerDay: 1, startedAt: '2024-06-10' };
    // 23:30 UTC on the 10th is already the 11th in Tokyo: day two of the ramp there.
    expect(
      effectiveDailyLimit({ dailyLimit: 50, warmup: ramp, createdAt }, at('2024-06-10T23:30:00Z'), 'UTC'),
    ).toBe(1);
    expect(
      effectiveDailyLimit(
        { dailyLimit: 50, warmup: ramp, createdAt },
        at('2024-06-10T23:30:00Z'),
        'Asia/Tokyo',
      ),
    ).toBe(2);
  });
});

describe('nextSlotAt', () => {
  it('is null without a previous slot or without spacing', () => {
    expect(nextSlotAt(null, 60, 'm')).toBeNull();
    expect(nextSlotAt(at('2024-06-10T12:00:00Z'), 0, 'm')).toBeNull();
  });

  it('stays within [interval, interval × (1 + jitter)] and is the same for every caller', () => {
    const last = at('2024-06-10T12:00:00Z');
    const gaps = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const seed = `mailbox-${i}`;
      const next = nextSlotAt(last, 60, seed);
      expect(next).toEqual(nextSlotAt(last, 60, seed));
      const gap = (next?.getTime() ?? 0) - last.getTime();
      expect(gap).toBeGreaterThanOrEqual(60_000);
      expect(gap).toBeLessThanOrEqual(60_000 * (1 + SPACING_JITTER) + 1);
      gaps.add(gap);
    }
    // Jittered: the gaps are not all the same.
    expect(gaps.size).toBeGreaterThan(100);
  });
});

describe('capacityDecision', () => {
  const now = at('2024-06-10T12:00:00Z');
  const dayEnd = at('2024-06-11T00:00:00Z');
  it.each([
    ['room left, no spacing', { sentToday: 4, limit: 5, nextSlot: null }, { ok: true }],
    [
      'limit reached: next day',
      { sentToday: 5, limit: 5, nextSlot: null },
      { ok: false, at: dayEnd, why: 'daily_limit' },
    ],
    [
      'over the limit (lowered)',
      { sentToday: 9, limit: 5, nextSlot: null },
      { ok: false, at: dayEnd, why: 'daily_limit' },
    ],
    [
      'limit reached, spacing reaches past midnight',
      { sentToday: 5, limit: 5, nextSlot: at('2024-06-11T00:00:30Z') },
      { ok: false, at: at('2024-06-11T00:00:30Z'), why: 'daily_limit' },
    ],
    [
      'spacing not over',
      { sentToday: 1, limit: 5, nextSlot: at('2024-06-10T12:00:45Z') },
      { ok: false, at: at('2024-06-10T12:00:45Z'), why: 'spacing' },
    ],
    ['spacing over exactly now', { sentToday: 1, limit: 5, nextSlot: now }, { ok: true }],
  ])('%s', (_name, input, expected) => {
    expect(capacityDecision({ now, dayEnd, ...input })).toEqual(expected);
  });
});

describe('SMTP failures', () => {
  const smtpError = (responseCode: number, command: string) =>
    Object.assign(new Error(`Message failed: ${responseCode} nope`), {
      code: 'EMESSAGE',
      responseCode,
      command,
      response: `${responseCode} nope`,
    });

  it.each([
    ['550 at RCPT TO', smtpError(550, 'RCPT TO'), 'bounce'],
    ['554 at DATA', smtpError(554, 'DATA'), 'bounce'],
    ['451 at DATA', smtpError(451, 'DATA'), 'transient'],
    ['421 at RCPT TO', smtpError(421, 'RCPT TO'), 'transient'],
    ['535 auth failure: the mailbox, not the lead', smtpError(535, 'AUTH PLAIN'), 'transient'],
    ['553 at MAIL FROM: the sender, not the lead', smtpError(553, 'MAIL FROM'), 'transient'],
    [
      'connection refused',
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ESOCKET' }),
      'transient',
    ],
    ['timeout', Object.assign(new Error('Timeout'), { code: 'ETIMEDOUT', command: 'CONN' }), 'transient'],
    [
      'no greeting',
      Object.assign(new Error('Greeting never received'), {
        code: 'ETIMEDOUT',
        command: 'CONN',
        timeoutType: 'GREETING_TIMEOUT',
      }),
      'transient',
    ],
    [
      'silent mid-session (after the final dot it may have the message)',
      Object.assign(new Error('Timeout'), {
        code: 'ETIMEDOUT',
        command: 'CONN',
        timeoutType: 'SOCKET_TIMEOUT',
      }),
      'ambiguous',
    ],
    [
      'connection closed mid-session',
      Object.assign(new Error('Connection closed unexpectedly'), { code: 'ECONNECTION', command: 'CONN' }),
      'ambiguous',
    ],
    [
      'reset mid-session',
      Object.assign(new Error('read ECONNRESET'), {
        code: 'ESOCKET',
        originalCode: 'ECONNRESET',
        command: 'CONN',
      }),
      'ambiguous',
    ],
    [
      'closed before the greeting, every time',
      Object.assign(new Error('Reached maximum number of retries after connection was closed'), {
        code: 'ECONNECTION',
      }),
      'transient',
    ],
    ['not even an error', 'boom', 'transient'],
  ])('%s → %s', (_name, err, kind) => {
    const failure = classifySmtpError(err);
    expect(failure.kind).toBe(kind);
    expect(failure.reason).not.toMatch(/[\r\n]/);
  });

  it('backs off exponentially with jitter, capped, over hours in total', () => {
    expect(retryDelayMs(1, 0.5)).toBe(5 * 60_000);
    expect(retryDelayMs(2, 0.5)).toBe(10 * 60_000);
    expect(retryDelayMs(3, 0.5)).toBe(20 * 60_000);
    expect(retryDelayMs(20, 0.5)).toBe(4 * 3600_000);
    expect(retryDelayMs(1, 0)).toBe(4 * 60_000);
    expect(retryDelayMs(1, 0.999999)).toBeCloseTo(6 * 60_000, -2);
    let total = 0;
    for (let attempt = 1; attempt < MAX_SEND_ATTEMPTS; attempt++) total += retryDelayMs(attempt, 0.5);
    expect(total).toBeGreaterThan(3 * 3600_000);
  });
});
