import { IANAZone } from 'luxon';
import { z } from 'zod';

/** IANA time zone, checked against the runtime's database. */
export const TimeZone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'must be an IANA time zone such as Europe/Paris');

const HOUR_MS = 3_600_000;

/**
 * An IANA zone that knows its offset per hour: luxon asks the zone's offset several times for
 * each date it builds or shifts, and each answer is an `Intl` formatting, the slowest part of
 * scheduling a step. An hour whose first and last millisecond have the same offset has it
 * throughout (no zone changes its offset twice within an hour); an hour with a change in it is
 * answered exactly, every time.
 */
class HourlyZone extends IANAZone {
  private readonly hours = new Map<number, number>();

  override offset(ts: number): number {
    const hour = Math.floor(ts / HOUR_MS);
    let known = this.hours.get(hour);
    if (known === undefined) {
      const first = super.offset(hour * HOUR_MS);
      known = first === super.offset(hour * HOUR_MS + HOUR_MS - 1) ? first : Number.NaN;
      if (this.hours.size >= 100_000) this.hours.clear();
      this.hours.set(hour, known);
    }
    return Number.isNaN(known) ? super.offset(ts) : known;
  }
}

const zones = new Map<string, IANAZone>();

/** The zone luxon computes in for an IANA name (one instance per name, offsets kept per hour). */
export function zoneOf(name: string): IANAZone {
  let zone = zones.get(name);
  if (!zone) {
    zone = new HourlyZone(name);
    if (zones.size >= 10_000) zones.clear();
    zones.set(name, zone);
  }
  return zone;
}

/** The wall-clock fields of `ms` in `zone`, read from its offset (as luxon reads them). */
export function localFields(
  ms: number,
  zone: IANAZone,
): { year: number; month: number; day: number; weekday: number; offset: number } {
  const offset = zone.offset(ms);
  const local = new Date(ms + offset * 60_000);
  const weekday = local.getUTCDay();
  return {
    year: local.getUTCFullYear(),
    month: local.getUTCMonth() + 1,
    day: local.getUTCDate(),
    weekday: weekday === 0 ? 7 : weekday,
    offset,
  };
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** `YYYY-MM-DD` of `ms` in `zone`: luxon's `toISODate()` without building a DateTime. */
export function localIsoDate(ms: number, zone: IANAZone): string {
  return new Date(ms + zone.offset(ms) * 60_000).toISOString().slice(0, 10);
}

/**
 * `ms` in `zone` as ISO 8601 with milliseconds and the offset (`2027-03-25T10:00:00.000+01:00`),
 * the text luxon's `toISO()` gives for the same instant and zone, without building a DateTime.
 */
export function localIso(ms: number, zone: IANAZone): string {
  const offset = zone.offset(ms);
  const wall = new Date(ms + offset * 60_000).toISOString();
  if (!wall.endsWith('Z') || wall.length !== 24) return wall; // years outside 0000–9999: luxon's own text differs
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return `${wall.slice(0, 23)}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}
