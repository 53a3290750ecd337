import { describe, expect, it } from 'vitest';
import { Country, isPublicHoliday, publicHolidays } from '../../src/core/holidays';

describe('publicHolidays', () => {
  const cases: { country: string; year: number; has: string[]; hasNot: string[] }[] = [
    // Bastille Day and Ascension are public; Christmas Eve is not a French public holiday.
    { country: 'FR', year: 2026, has: ['2026-07-14', '2026-05-14', '2026-12-25'], hasNot: ['2026-12-24'] },
    // Good Friday, German Unity Day, Boxing Day; regional holidays (Corpus Christi) are not national.
    { country: 'DE', year: 2026, has: ['2026-04-03', '2026-10-03', '2026-12-26'], hasNot: ['2026-06-04'] },
    // Thanksgiving, and Independence Day's substitute Friday (the 4th is a Saturday).
    { country: 'US', year: 2026, has: ['2026-11-26', '2026-07-03', '2026-07-04'], hasNot: ['2026-11-27'] },
  ];
  for (const c of cases) {
    it(`${c.country} ${c.year}`, () => {
      const dates = publicHolidays(c.country, c.year);
      for (const d of c.has) expect(dates.has(d), d).toBe(true);
      for (const d of c.hasNot) expect(dates.has(d), d).toBe(false);
    });
  }

  it('computes a (country, year) once and keeps it', () => {
    expect(publicHolidays('FR', 2031)).toBe(publicHolidays('FR', 2031));
  });

  it('treats hostile or unknown input as a country without holidays, never throwing', () => {
    for (const country of [
      'XX',
      'ZZ',
      'fr',
      '',
      '__proto__',
      'constructor',
      'FR; drop table',
      'F'.repeat(10_000),
    ])
      expect(publicHolidays(country, 2026).size, country).toBe(0);
    // A real ISO code date-holidays has no rules for (Antarctica, Bouvet Island).
    expect(publicHolidays('AQ', 2026).size).toBe(0);
    expect(publicHolidays('BV', 2026).size).toBe(0);
    for (const year of [Number.NaN, -1, 1e9, 2026.5, Number.POSITIVE_INFINITY])
      expect(publicHolidays('FR', year).size, String(year)).toBe(0);
    expect(isPublicHoliday(null, { year: 2026, month: 7, day: 14 })).toBe(false);
    expect(isPublicHoliday('XX', { year: 2026, month: 7, day: 14 })).toBe(false);
    expect(isPublicHoliday('FR', { year: 2026, month: 7, day: 14 })).toBe(true);
  });
});

describe('Country', () => {
  it('normalises case and spaces, and accepts Kosovo', () => {
    expect(Country.parse(' fr ')).toBe('FR');
    expect(Country.parse('XK')).toBe('XK');
  });
  it('refuses anything that is not an ISO 3166-1 alpha-2 code', () => {
    for (const bad of ['FRA', 'France', 'XX', 'EU', 'F', '', '12', 'F R'])
      expect(Country.safeParse(bad).success, bad).toBe(false);
  });
});
