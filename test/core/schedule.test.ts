import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import {
  addWait,
  computeRunAt,
  nextWindowTime,
  resolveTimezone,
  spreadSeed,
  type Window,
} from '../../src/core/schedule';
import { isPublicHoliday } from '../../src/core/holidays';
import { localIso, localIsoDate, zoneOf } from '../../src/core/time-zone';

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

const local = (iso: string, tz: string) => DateTime.fromISO(iso, { zone: tz }).toJSDate();
const localISO = (d: Date, tz: string) =>
  DateTime.fromJSDate(d, { zone: tz }).toISO({ includeOffset: false, suppressMilliseconds: true });

describe('business-day waits skip public holidays', () => {
  const cases: {
    name: string;
    tz: string;
    country: string | null;
    from: string;
    days: number;
    expected: string;
  }[] = [
    {
      name: 'FR: Mon +1 skips Bastille Day',
      tz: 'Europe/Paris',
      country: 'FR',
      from: '2026-07-13T10:00:00',
      days: 1,
      expected: '2026-07-15T10:00:00',
    },
    {
      name: 'no country: Mon +1 is Tuesday',
      tz: 'Europe/Paris',
      country: null,
      from: '2026-07-13T10:00:00',
      days: 1,
      expected: '2026-07-14T10:00:00',
    },
    {
      name: 'DE: Christmas Eve +1 skips Christmas and the weekend',
      tz: 'Europe/Berlin',
      country: 'DE',
      from: '2026-12-24T10:00:00',
      days: 1,
      expected: '2026-12-28T10:00:00',
    },
    {
      name: 'US: the day before Thanksgiving +1 is Friday',
      tz: 'America/New_York',
      country: 'US',
      from: '2026-11-25T09:30:00',
      days: 1,
      expected: '2026-11-27T09:30:00',
    },
    {
      name: "US: Independence Day's substitute Friday is skipped",
      tz: 'America/Chicago',
      country: 'US',
      from: '2026-07-02T15:00:00',
      days: 1,
      expected: '2026-07-06T15:00:00',
    },
    {
      name: 'FR: across the year boundary, New Year is skipped',
      tz: 'Europe/Paris',
      country: 'FR',
      from: '2026-12-30T11:00:00',
      days: 2,
      expected: '2027-01-04T11:00:00',
    },
    {
      name: 'no country: across the year boundary New Year counts',
      tz: 'Europe/Paris',
      country: null,
      from: '2026-12-30T11:00:00',
      days: 2,
      expected: '2027-01-01T11:00:00',
    },
    // Crosses the DST change (29 Mar) and Easter (Good Friday 3 Apr, Easter Monday 6 Apr).
    {
      name: 'DE: across DST and Easter, local time kept',
      tz: 'Europe/Berlin',
      country: 'DE',
      from: '2026-03-27T10:00:00',
      days: 5,
      expected: '2026-04-07T10:00:00',
    },
    {
      name: 'unknown country XX counts like none',
      tz: 'UTC',
      country: 'XX',
      from: '2026-12-24T10:00:00',
      days: 1,
      expected: '2026-12-25T10:00:00',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const out = addWait(
        local(c.from, c.tz),
        { seconds: c.days * 86400, businessDays: true, days: c.days },
        c.tz,
        c.country,
      );
      expect(localISO(out, c.tz)).toBe(c.expected);
    });
  }

  it('calendar waits are durations: holidays do not stretch them', () => {
    const from = local('2026-07-13T10:00:00', 'Europe/Paris');
    const out = addWait(from, { seconds: 86400, businessDays: false, days: 1 }, 'Europe/Paris', 'FR');
    expect(localISO(out, 'Europe/Paris')).toBe('2026-07-14T10:00:00');
  });
});

describe('the sending window skips public holidays', () => {
  const cases: {
    name: string;
    tz: string;
    country: string | null;
    schedule: Window;
    at: string;
    expected: string;
  }[] = [
    {
      name: 'FR: Christmas Eve after hours → Monday 28th',
      tz: 'Europe/Paris',
      country: 'FR',
      schedule: weekdays,
      at: '2026-12-24T18:00:00',
      expected: '2026-12-28T09:00:00',
    },
    {
      name: 'FR with skipHolidays false → Christmas Day',
      tz: 'Europe/Paris',
      country: 'FR',
      schedule: { ...weekdays, skipHolidays: false },
      at: '2026-12-24T18:00:00',
      expected: '2026-12-25T09:00:00',
    },
    {
      name: 'FR: inside hours on a holiday waits for the next day',
      tz: 'Europe/Paris',
      country: 'FR',
      schedule: weekdays,
      at: '2026-07-14T10:00:00',
      expected: '2026-07-15T09:00:00',
    },
    {
      name: 'US: New Year’s Eve after hours → Monday 4 Jan (1 Jan holiday, weekend)',
      tz: 'America/New_York',
      country: 'US',
      schedule: weekdays,
      at: '2026-12-31T17:30:00',
      expected: '2027-01-04T09:00:00',
    },
    // A cross-midnight window belongs to the day it starts on: Bastille Day's evening window never opens.
    {
      name: 'FR: cross-midnight window of a holiday stays shut after midnight',
      tz: 'Europe/Paris',
      country: 'FR',
      schedule: { days: [2], start: '22:00', end: '02:00' },
      at: '2026-07-15T01:00:00',
      expected: '2026-07-21T22:00:00',
    },
    {
      name: 'no country: the same instant is inside the window',
      tz: 'Europe/Paris',
      country: null,
      schedule: { days: [2], start: '22:00', end: '02:00' },
      at: '2026-07-15T01:00:00',
      expected: '2026-07-15T01:00:00',
    },
    // Mondays only, Easter Monday a holiday: the next window is two weeks out.
    {
      name: 'DE: a Monday-only window skips Easter Monday',
      tz: 'Europe/Berlin',
      country: 'DE',
      schedule: { days: [1], start: '09:00', end: '12:00' },
      at: '2026-03-31T10:00:00',
      expected: '2026-04-13T09:00:00',
    },
    {
      name: 'unknown country counts like none',
      tz: 'UTC',
      country: 'QQ',
      schedule: weekdays,
      at: '2026-12-24T18:00:00',
      expected: '2026-12-25T09:00:00',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const out = nextWindowTime(local(c.at, c.tz), c.schedule, c.tz, { country: c.country });
      expect(localISO(out, c.tz)).toBe(c.expected);
    });
  }

  it('computeRunAt applies the lead country to waits and the window, unless skipHolidays is false', () => {
    const input = {
      base: local('2026-12-23T16:00:00', 'Europe/Paris'), // Wed
      waits: [{ seconds: 86400, businessDays: true, days: 1 }],
      tz: 'Europe/Paris',
      applyWindow: true,
      country: 'FR',
    };
    // +1 business day → Thu 24th 16:00, inside the window.
    expect(localISO(computeRunAt({ ...input, schedule: weekdays }), 'Europe/Paris')).toBe(
      '2026-12-24T16:00:00',
    );
    const twoDays = { ...input, waits: [{ seconds: 2 * 86400, businessDays: true, days: 2 }] };
    expect(localISO(computeRunAt({ ...twoDays, schedule: weekdays }), 'Europe/Paris')).toBe(
      '2026-12-28T16:00:00',
    );
    expect(
      localISO(computeRunAt({ ...twoDays, schedule: { ...weekdays, skipHolidays: false } }), 'Europe/Paris'),
    ).toBe('2026-12-25T16:00:00');
    // No schedule: business days are still working days.
    expect(localISO(computeRunAt({ ...twoDays, applyWindow: false }), 'Europe/Paris')).toBe(
      '2026-12-28T16:00:00',
    );
  });
});

describe('spreading across the window', () => {
  const sunday = utc('2026-12-06T12:00:00Z'); // pushed to Monday 7 Dec 09:00 UTC
  const opens = utc('2026-12-07T09:00:00Z').getTime();
  const seeds = Array.from({ length: 200 }, (_, i) => spreadSeed(`lead-${i}`, 's1'));
  const offsets = (schedule: Window) =>
    seeds.map((seed) => nextWindowTime(sunday, schedule, 'UTC', { seed }).getTime() - opens);

  it('places each lead at its own point of the whole window by default, within it', () => {
    const found = offsets(weekdays);
    const hour = 3_600_000;
    for (const ms of found) expect(ms >= 0 && ms < 8 * hour, String(ms)).toBe(true);
    expect(new Set(found.map((ms) => Math.floor(ms / 60_000))).size).toBeGreaterThan(150);
    expect(Math.min(...found)).toBeLessThan(hour);
    expect(Math.max(...found)).toBeGreaterThan(7 * hour);
  });

  it('is deterministic: the same lead and step land on the same instant, another step elsewhere', () => {
    const seed = spreadSeed('lead-1', 's2');
    const first = nextWindowTime(sunday, weekdays, 'UTC', { seed });
    expect(nextWindowTime(utc('2026-12-06T23:59:00Z'), weekdays, 'UTC', { seed })).toEqual(first);
    expect(nextWindowTime(sunday, weekdays, 'UTC', { seed: spreadSeed('lead-1', 's3') })).not.toEqual(first);
  });

  it('spreads within the first N minutes, bounded by the window', () => {
    for (const ms of offsets({ ...weekdays, spread: 30 })) expect(ms >= 0 && ms < 30 * 60_000).toBe(true);
    const short = { days: [1], start: '09:00', end: '09:10', spread: 1440 };
    for (const ms of offsets(short)) expect(ms >= 0 && ms < 10 * 60_000).toBe(true);
  });

  it("'none', or no seed, means the opening itself", () => {
    expect(new Set(offsets({ ...weekdays, spread: 'none' }))).toEqual(new Set([0]));
    expect(nextWindowTime(sunday, weekdays, 'UTC').getTime()).toBe(opens);
  });

  it('never delays a run already inside the window', () => {
    const inside = utc('2026-12-07T09:00:01Z');
    for (const seed of seeds.slice(0, 20))
      expect(nextWindowTime(inside, weekdays, 'UTC', { seed })).toEqual(inside);
  });

  it('stays inside a cross-midnight window and a window shortened by DST', () => {
    const night = { days: [5], start: '22:00', end: '02:00' };
    for (const seed of seeds) {
      const out = nextWindowTime(utc('2026-12-04T12:00:00Z'), night, 'UTC', { seed }).getTime();
      expect(
        out >= utc('2026-12-04T22:00:00Z').getTime() && out < utc('2026-12-05T02:00:00Z').getTime(),
      ).toBe(true);
    }
    // 8 Mar 2026, New York: 01:00–04:00 local lasts two hours (02:00 does not exist).
    const spring = { days: [7], start: '01:00', end: '04:00' };
    for (const seed of seeds) {
      const out = nextWindowTime(utc('2026-03-08T00:00:00Z'), spring, 'America/New_York', { seed });
      const ms = out.getTime() - utc('2026-03-08T06:00:00Z').getTime();
      expect(ms >= 0 && ms < 2 * 3_600_000, String(ms)).toBe(true);
    }
  });
});

describe('addWait and the local-time helpers against luxon', () => {
  // The reading the workers used before the fast path: luxon, one local day at a time.
  const luxonAddWait = (from: Date, days: number, tz: string, country: string | null) => {
    let local = DateTime.fromJSDate(from, { zone: tz });
    let remaining = days;
    while (remaining > 0) {
      local = local.plus({ days: 1 });
      if (local.weekday <= 5 && !isPublicHoliday(country, local)) remaining -= 1;
    }
    return local.toJSDate();
  };
  const zones = [
    'Europe/Paris',
    'America/New_York',
    'Australia/Lord_Howe',
    'Asia/Kathmandu',
    'UTC',
    'America/Santiago',
  ];
  const instant = fc
    .integer({ min: Date.UTC(2024, 0, 1), max: Date.UTC(2030, 0, 1) })
    .map((ms) => new Date(ms));

  it('a business-day wait lands where luxon puts it, across DST changes and holidays', () => {
    fc.assert(
      fc.property(
        instant,
        fc.integer({ min: 0, max: 30 }),
        fc.constantFrom(...zones),
        fc.constantFrom(null, 'FR', 'US', 'DE'),
        (from, days, tz, country) => {
          const got = addWait(from, { businessDays: true, days, seconds: 0 }, tz, country);
          expect(got.toISOString()).toBe(luxonAddWait(from, days, tz, country).toISOString());
        },
      ),
      { numRuns: 3_000 },
    );
  });

  it('localIso and localIsoDate write what luxon writes', () => {
    fc.assert(
      fc.property(instant, fc.constantFrom(...zones), (at, tz) => {
        // The zone the engine computes in (`zoneOf`): for `UTC` luxon then writes +00:00, not Z.
        const luxon = DateTime.fromJSDate(at, { zone: zoneOf(tz) });
        expect(localIso(at.getTime(), zoneOf(tz))).toBe(luxon.toISO());
        expect(localIsoDate(at.getTime(), zoneOf(tz))).toBe(luxon.toISODate());
      }),
      { numRuns: 3_000 },
    );
  });

  it('hits the days of a DST change on purpose', () => {
    // 02:30 local the day before Europe's spring change: the wait lands on a Monday at 02:30, or
    // where luxon moves a time that does not exist.
    for (const from of ['2027-03-27T01:30:00Z', '2027-03-26T01:30:00Z', '2027-10-29T23:30:00Z']) {
      for (const days of [1, 2, 3]) {
        const at = new Date(from);
        expect(
          addWait(at, { businessDays: true, days, seconds: 0 }, 'Europe/Paris', 'FR').toISOString(),
        ).toBe(luxonAddWait(at, days, 'Europe/Paris', 'FR').toISOString());
      }
    }
  });
});
