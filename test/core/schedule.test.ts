import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { addWait, computeRunAt, nextWindowTime, resolveTimezone } from '../../src/core/schedule';

const weekdays = { days: [1, 2, 3, 4, 5], start: '09:00', end: '17:00' };
const utc = (iso: string) => new Date(iso);
const inZone = (d: Date, tz: string) =>
  DateTime.fromJSDate(d, { zone: tz }).toISO({ suppressMilliseconds: true });

describe('nextWindowTime', () => {
  const cases: { name: string; at: string; tz: string; schedule: typeof weekdays; expected: string }[] = [
    {
      name: 'Saturday 23:00 New York, Mon–Fri 09–17 → Monday 09:00 New York',
      at: '2026-11-29T04:00:00Z', // Sat 28 Nov 23:00 EST
      tz: 'America/New_York',
      schedule: weekdays,
      expected: '2026-11-30T09:00:00-05:00',
    },
    {
      name: 'inside the window stays put',
      at: '2026-11-30T15:30:00Z', // Mon 10:30 EST
      tz: 'America/New_York',
      schedule: weekdays,
      expected: '2026-11-30T10:30:00-05:00',
    },
    {
      name: 'after the end goes to the next allowed morning',
      at: '2026-11-30T23:00:00Z', // Mon 18:00 EST
      tz: 'America/New_York',
      schedule: weekdays,
      expected: '2026-12-01T09:00:00-05:00',
    },
    {
      name: 'Friday after hours goes to Monday',
      at: '2026-12-04T22:30:00Z', // Fri 17:30 EST
      tz: 'America/New_York',
      schedule: weekdays,
      expected: '2026-12-07T09:00:00-05:00',
    },
    {
      name: 'DST spring-forward day: a 02:30 start (in the gap) opens at 03:30 local',
      at: '2026-03-08T05:00:00Z', // Sun 8 Mar 00:00 EST, the US DST change day
      tz: 'America/New_York',
      schedule: { days: [7], start: '02:30', end: '05:00' },
      expected: '2026-03-08T03:30:00-04:00',
    },
    {
      name: 'DST fall-back day: window at 09:00 local after the change uses the new offset',
      at: '2026-11-01T05:00:00Z', // Sun 1 Nov 00:00 EDT
      tz: 'America/New_York',
      schedule: { days: [7], start: '09:00', end: '17:00' },
      expected: '2026-11-01T09:00:00-05:00',
    },
    {
      name: 'Paris DST change day (29 Mar 2026) keeps 09:00 local',
      at: '2026-03-29T00:30:00Z',
      tz: 'Europe/Paris',
      schedule: { days: [7], start: '09:00', end: '12:00' },
      expected: '2026-03-29T09:00:00+02:00',
    },
    {
      name: 'window crossing midnight: Saturday 01:00 is inside Friday 22:00–02:00',
      at: '2026-12-05T01:00:00Z', // Sat 01:00 UTC
      tz: 'UTC',
      schedule: { days: [5], start: '22:00', end: '02:00' },
      expected: '2026-12-05T01:00:00Z',
    },
    {
      name: 'window crossing midnight: Saturday 03:00 waits for next Friday 22:00',
      at: '2026-12-05T03:00:00Z',
      tz: 'UTC',
      schedule: { days: [5], start: '22:00', end: '02:00' },
      expected: '2026-12-11T22:00:00Z',
    },
    {
      name: 'leap day is an ordinary Monday',
      at: '2028-02-28T20:00:00Z', // Mon 28 Feb 2028 after hours UTC
      tz: 'UTC',
      schedule: weekdays,
      expected: '2028-02-29T09:00:00Z',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(inZone(nextWindowTime(utc(c.at), c.schedule, c.tz), c.tz)).toBe(c.expected);
    });
  }

  it('returns the time unchanged without a schedule', () => {
    const at = utc('2026-11-29T04:00:00Z');
    expect(nextWindowTime(at, undefined, 'UTC')).toEqual(at);
  });
});

describe('addWait', () => {
  it('adds calendar durations exactly, across a DST change', () => {
    const from = utc('2026-03-07T15:00:00Z');
    expect(
      addWait(from, { seconds: 86400, businessDays: false, days: 1 }, 'America/New_York').toISOString(),
    ).toBe('2026-03-08T15:00:00.000Z');
  });

  const business: { from: string; days: number; expected: string }[] = [
    { from: '2026-12-04T10:00:00', days: 1, expected: '2026-12-07T10:00:00' }, // Fri +1 → Mon
    { from: '2026-12-03T10:00:00', days: 2, expected: '2026-12-07T10:00:00' }, // Thu +2 → Mon
    { from: '2026-12-05T10:00:00', days: 1, expected: '2026-12-07T10:00:00' }, // Sat +1 → Mon
    { from: '2026-12-07T10:00:00', days: 5, expected: '2026-12-14T10:00:00' }, // Mon +5 → Mon
  ];
  for (const c of business) {
    it(`business days: ${c.from} + ${c.days} → ${c.expected} (local time kept)`, () => {
      const tz = 'Europe/Paris';
      const from = DateTime.fromISO(c.from, { zone: tz }).toJSDate();
      const out = addWait(from, { seconds: c.days * 86400, businessDays: true, days: c.days }, tz);
      expect(
        DateTime.fromJSDate(out, { zone: tz }).toISO({ includeOffset: false, suppressMilliseconds: true }),
      ).toBe(c.expected);
    });
  }

  it('keeps 10:00 local across the Paris DST change with business days', () => {
    const tz = 'Europe/Paris';
    const from = DateTime.fromISO('2026-03-27T10:00:00', { zone: tz }).toJSDate(); // Fri before the change
    const out = addWait(from, { seconds: 86400, businessDays: true, days: 1 }, tz);
    expect(inZone(out, tz)).toBe('2026-03-30T10:00:00+02:00');
  });
});

describe('resolveTimezone', () => {
  it('falls back past invalid or empty zones to the first valid one, then UTC', () => {
    expect(resolveTimezone('Mars/Olympus', 'Europe/Paris', 'UTC')).toBe('Europe/Paris');
    expect(resolveTimezone(null, '', 'Asia/Tokyo')).toBe('Asia/Tokyo');
    expect(resolveTimezone('nope', undefined, 'also/bad')).toBe('UTC');
  });

  it('computeRunAt applies waits then the window in the fallback zone', () => {
    const out = computeRunAt({
      base: utc('2026-12-04T21:00:00Z'), // Fri 16:00 New York
      waits: [{ seconds: 7200, businessDays: false, days: 0 }],
      schedule: weekdays,
      tz: resolveTimezone('Invalid/Zone', 'America/New_York'),
      applyWindow: true,
    });
    expect(inZone(out, 'America/New_York')).toBe('2026-12-07T09:00:00-05:00');
  });
});
