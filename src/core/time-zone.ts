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
