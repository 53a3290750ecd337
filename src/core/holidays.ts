import Holidays from 'date-holidays';
import { z } from 'zod';

/**
 * ISO 3166-1 alpha-2 codes (the 249 assigned ones), plus XK (Kosovo): user-assigned, but what
 * everyone uses for it, date-holidays included.
 */
const countryCodes = new Set(
  `AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT
  BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER
  ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID
  IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV
  LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR
  NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL
  SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC
  VE VG VI VN VU WF WS XK YE YT ZA ZM ZW`.split(/\s+/),
);

export const isCountryCode = (value: string): boolean => countryCodes.has(value);

/** A country as tenants give it: `fr` and ` FR ` are France; anything not ISO 3166-1 alpha-2 is refused. */
export const Country = z
  .string()
  .trim()
  .toUpperCase()
  .refine(isCountryCode, 'must be an ISO 3166-1 alpha-2 country code such as FR');

/** A calendar date as the holiday table keys it. */
export type LocalDate = { year: number; month: number; day: number };

const dateKey = (d: LocalDate) =>
  `${d.year}-${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`;

const DAY_MS = 86_400_000;
// A calendar lasts for ever; the bound only stops hostile years from growing the cache without end.
const MAX_CACHED_YEARS = 5_000;
const calendars = new Map<string, Holidays | null>();
const holidaySets = new Map<string, ReadonlySet<string>>();
const none: ReadonlySet<string> = new Set();

/** date-holidays parses its rules for a country when it is built: once per country, then kept. */
function calendarOf(country: string): Holidays | null {
  let calendar = calendars.get(country);
  if (calendar === undefined) {
    try {
      // A country it has no rules for (AQ, BV…) gets a calendar without holidays, not an error.
      calendar = new Holidays(country, { types: ['public'] });
    } catch {
      calendar = null;
    }
    calendars.set(country, calendar);
  }
  return calendar;
}

/**
 * The local dates (`YYYY-MM-DD`) of the public holidays of `country` in `year`, computed once per
 * (country, year). Only `public` holidays count (not bank, school, optional or observance days);
 * substitute days are public too. A code date-holidays does not know has none.
 */
export function publicHolidays(country: string, year: number): ReadonlySet<string> {
  if (!isCountryCode(country) || !Number.isInteger(year) || year < 1900 || year > 2999) return none;
  const key = `${country}:${year}`;
  let dates = holidaySets.get(key);
  if (dates) return dates;
  const found = new Set<string>();
  try {
    for (const holiday of calendarOf(country)?.getHolidays(year) ?? []) {
      if (holiday.type !== 'public') continue;
      // A holiday may last longer than a day; one that starts in the afternoon still takes its date.
      const days = Math.max(1, Math.round((holiday.end.getTime() - holiday.start.getTime()) / DAY_MS));
      const [y, m, d] = holiday.date.slice(0, 10).split('-').map(Number);
      for (let i = 0; i < days; i++) {
        const date = new Date(Date.UTC(y ?? year, (m ?? 1) - 1, (d ?? 1) + i));
        found.add(date.toISOString().slice(0, 10));
      }
    }
  } catch {
    // The library's rules are data; a rule it cannot evaluate must not stop a cadence.
  }
  dates = found;
  if (holidaySets.size >= MAX_CACHED_YEARS) holidaySets.clear();
  holidaySets.set(key, dates);
  return dates;
}

/** Whether `date` is a public holiday of `country`; no country (or an unknown one) means never. */
export function isPublicHoliday(country: string | null | undefined, date: LocalDate): boolean {
  if (!country) return false;
  return publicHolidays(country, date.year).has(dateKey(date));
}
