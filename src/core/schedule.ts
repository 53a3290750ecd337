import { DateTime, IANAZone } from 'luxon';
import type { Schedule } from './sequences';

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

/**
 * Adds a wait to an instant. Calendar waits are exact durations; business-day waits move the local
 * date forward by N weekdays (Mon–Fri) in `tz`, keeping the local time of day (so a DST change in
 * between does not shift the hour).
 */
export function addWait(from: Date, wait: Wait, tz: string): Date {
  if (!wait.businessDays) return new Date(from.getTime() + wait.seconds * 1000);
  let local = DateTime.fromJSDate(from, { zone: tz });
  let remaining = Math.round(wait.days);
  while (remaining > 0) {
    local = local.plus({ days: 1 });
    if (local.weekday <= 5) remaining -= 1;
  }
  return local.toJSDate();
}

const parseHHMM = (v: string) => {
  const [h, m] = v.split(':').map(Number);
  return { hour: h ?? 0, minute: m ?? 0 };
};

/**
 * The earliest instant at or after `at` inside the sending window, in `tz`. A window whose end is not
 * after its start crosses midnight and belongs to the weekday it starts on (Fri 22:00–02:00 covers
 * Saturday 01:00). Local times that fall in a DST gap move forward, as luxon does; in an overlap the
 * earlier offset wins.
 */
export function nextWindowTime(at: Date, schedule: Schedule | undefined, tz: string): Date {
  if (!schedule) return at;
  const days = new Set(schedule.days);
  const start = parseHHMM(schedule.start);
  const end = parseHHMM(schedule.end);
  const crossesMidnight = end.hour * 60 + end.minute <= start.hour * 60 + start.minute;
  const local = DateTime.fromJSDate(at, { zone: tz });
  // Yesterday's window may still be open (cross-midnight); 8 days ahead always reaches an allowed day.
  for (let offset = -1; offset <= 8; offset++) {
    const day = local.startOf('day').plus({ days: offset });
    if (!days.has(day.weekday)) continue;
    const opens = DateTime.fromObject(
      { year: day.year, month: day.month, day: day.day, ...start },
      { zone: tz },
    );
    const closeDay = crossesMidnight ? day.plus({ days: 1 }) : day;
    const closes = DateTime.fromObject(
      { year: closeDay.year, month: closeDay.month, day: closeDay.day, ...end },
      { zone: tz },
    );
    if (closes <= opens) continue;
    if (local < opens) return opens.toJSDate();
    if (local < closes) return at;
  }
  return at;
}

/** When a step may run: `base` plus the waits before it, pushed into the sending window. */
export function computeRunAt(input: {
  base: Date;
  waits: Wait[];
  schedule?: Schedule;
  tz: string;
  applyWindow: boolean;
}): Date {
  let at = input.base;
  for (const wait of input.waits) at = addWait(at, wait, input.tz);
  return input.applyWindow ? nextWindowTime(at, input.schedule, input.tz) : at;
}
