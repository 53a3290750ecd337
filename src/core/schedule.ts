import { DateTime, IANAZone } from 'luxon';
import { hashFraction } from './deterministic';
import { isPublicHoliday } from './holidays';
import type { Schedule } from './sequences';
import { localFields, zoneOf } from './time-zone';

/** The first valid IANA zone among the candidates (lead, sequence, workspace), else UTC. */
export function resolveTimezone(...candidates: (string | null | undefined)[]): string {
  for (const tz of candidates) if (tz && isValidZone(tz)) return tz;
  return 'UTC';
}

/** luxon builds an `Intl.DateTimeFormat` to check a zone; the answer never changes, so keep it. */
const validZones = new Map<string, boolean>();
function isValidZone(tz: string): boolean {
  let valid = validZones.get(tz);
  if (valid === undefined) {
    valid = IANAZone.isValidZone(tz);
    if (validZones.size >= 10_000) validZones.clear();
    validZones.set(tz, valid);
  }
  return valid;
}

export type Wait = { seconds: number; businessDays: boolean; days: number };

/** The sending window's shape, as sequences and LinkedIn working hours both give it. */
export type Window = Pick<Schedule, 'days' | 'start' | 'end' | 'timezone' | 'skipHolidays' | 'spread'>;

/**
 * Adds a wait to an instant. Calendar waits are exact durations; business-day waits move the local
 * date forward by N weekdays (Mon–Fri) in `tz` that are not public holidays of `country`, keeping the
 * local time of day (so a DST change in between does not shift the hour).
 */
export function addWait(from: Date, wait: Wait, tz: string, country?: string | null): Date {
  if (!wait.businessDays) return new Date(from.getTime() + wait.seconds * 1000);
  // Count the weekdays on the local calendar; the same local time N days on is N × 24 h later
  // unless the zone's offset changed in between, which luxon then settles (DST moves the hour).
  const zone = zoneOf(tz);
  const fromMs = from.getTime();
  const local = localFields(fromMs, zone);
  let remaining = Math.round(wait.days);
  let days = 0;
  while (remaining > 0) {
    days += 1;
    const d = new Date(Date.UTC(local.year, local.month - 1, local.day + days));
    const weekday = d.getUTCDay();
    const date = { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
    if (weekday >= 1 && weekday <= 5 && !isPublicHoliday(country, date)) remaining -= 1;
  }
  const same = fromMs + days * DAY_MS;
  if (zone.offset(same) === local.offset) return new Date(same);
  let shifted = DateTime.fromJSDate(from, { zone });
  for (let i = 0; i < days; i++) shifted = shifted.plus({ days: 1 });
  return shifted.toJSDate();
}

const DAY_MS = 86_400_000;

const parseHHMM = (v: string) => {
  const [h, m] = v.split(':').map(Number);
  return { hour: h ?? 0, minute: m ?? 0 };
};

/** Where spreading may place a step: this far (ms) after the opening, at most. */
function spreadSpan(spread: Window['spread'], windowMs: number): number {
  if (spread === 'none') return 0;
  if (typeof spread === 'number') return Math.min(spread * 60_000, windowMs);
  return windowMs;
}

// Consecutive closed days (weekends, a week of holidays, a window open one day a week) end well
// within this; past it the window can never open and the instant is left as it is.
const MAX_DAYS_AHEAD = 400;

/**
 * The earliest instant at or after `at` inside the sending window, in `tz`. A window whose end is not
 * after its start crosses midnight and belongs to the weekday it starts on (Fri 22:00–02:00 covers
 * Saturday 01:00). Local times that fall in a DST gap move forward, as luxon does; in an overlap the
 * earlier offset wins. A day that is a public holiday of `country` does not open (unless the
 * schedule says `skipHolidays: false`). An instant pushed to an opening lands `spread` into the
 * window at a point fixed by `seed` (the lead and step), so leads are not all due at its first
 * second and every re-computation lands on the same instant; without a seed, at the opening.
 */
export function nextWindowTime(
  at: Date,
  schedule: Window | undefined,
  tz: string,
  options: { country?: string | null; seed?: string } = {},
): Date {
  if (!schedule) return at;
  const country = schedule.skipHolidays === false ? null : options.country;
  const atMs = at.getTime();
  // The local calendar date of `at` (as luxon would read it), then day after day from yesterday.
  const local = new Date(atMs + zoneOf(tz).offset(atMs) * 60_000);
  const year = local.getUTCFullYear();
  const month = local.getUTCMonth();
  const date = local.getUTCDate();
  // Yesterday's window may still be open (cross-midnight).
  for (let offset = -1; offset <= MAX_DAYS_AHEAD; offset++) {
    const day = new Date(Date.UTC(year, month, date + offset));
    const window = dayWindow(schedule, tz, country, day);
    if (!window) continue;
    if (atMs < window.opens) {
      const span = options.seed ? spreadSpan(schedule.spread, window.closes - window.opens) : 0;
      const into = span > 0 ? Math.floor(hashFraction(`spread:${options.seed}`) * span) : 0;
      return new Date(window.opens + into);
    }
    if (atMs < window.closes) return at;
  }
  return at;
}

type DayWindow = { opens: number; closes: number } | null;
/**
 * Each day's window, once computed: every step of every lead of a window asks for the same days.
 * Kept per schedule object, then per zone and country, then per day, so a lookup builds no long key.
 */
const dayWindows = new WeakMap<Window, Map<string, Map<number, DayWindow>>>();
const MAX_KEPT_DAYS = 100_000;

/**
 * When the window of the local date `day` (its UTC fields) opens and closes, or null when it does
 * not open that day (not one of its weekdays, a public holiday of `country`, or no time between).
 */
function dayWindow(schedule: Window, tz: string, country: string | null | undefined, day: Date): DayWindow {
  let places = dayWindows.get(schedule);
  if (!places) {
    places = new Map();
    dayWindows.set(schedule, places);
  }
  const place = `${tz}|${country ?? ''}`;
  let days = places.get(place);
  if (!days) {
    if (places.size >= 10_000) places.clear();
    days = new Map();
    places.set(place, days);
  }
  const known = days.get(day.getTime());
  if (known !== undefined) return known;
  const found = computeDayWindow(schedule, tz, country, {
    year: day.getUTCFullYear(),
    month: day.getUTCMonth() + 1,
    day: day.getUTCDate(),
    weekday: day.getUTCDay() === 0 ? 7 : day.getUTCDay(),
  });
  if (days.size >= MAX_KEPT_DAYS) days.clear();
  days.set(day.getTime(), found);
  return found;
}

function computeDayWindow(
  schedule: Window,
  tz: string,
  country: string | null | undefined,
  day: { year: number; month: number; day: number; weekday: number },
): DayWindow {
  if (!schedule.days.includes(day.weekday) || isPublicHoliday(country, day)) return null;
  const start = parseHHMM(schedule.start);
  const end = parseHHMM(schedule.end);
  const crossesMidnight = end.hour * 60 + end.minute <= start.hour * 60 + start.minute;
  const zone = zoneOf(tz);
  const date = { year: day.year, month: day.month, day: day.day };
  const opens = DateTime.fromObject({ ...date, ...start }, { zone });
  const closeDay = crossesMidnight ? DateTime.fromObject(date, { zone }).plus({ days: 1 }) : date;
  const closes = DateTime.fromObject(
    { year: closeDay.year, month: closeDay.month, day: closeDay.day, ...end },
    { zone },
  );
  if (closes <= opens) return null;
  return { opens: opens.toMillis(), closes: closes.toMillis() };
}

/**
 * When a step may run: `base` plus the waits before it, pushed into the sending window. `country`
 * (the lead's, else the workspace's) adds its public holidays to the weekend; `seed` spreads the
 * step over the window (see `nextWindowTime`).
 */
export function computeRunAt(input: {
  base: Date;
  waits: Wait[];
  schedule?: Schedule;
  tz: string;
  applyWindow: boolean;
  country?: string | null;
  seed?: string;
}): Date {
  const country = input.schedule?.skipHolidays === false ? null : input.country;
  let at = input.base;
  for (const wait of input.waits) at = addWait(at, wait, input.tz, country);
  return input.applyWindow ? nextWindowTime(at, input.schedule, input.tz, { country, seed: input.seed }) : at;
}

/** The seed that fixes where in the window a lead's step lands: the same for every re-computation. */
export const spreadSeed = (leadId: string, stepId: string) => `${leadId}:${stepId}`;
