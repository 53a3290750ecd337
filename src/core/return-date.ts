import * as chrono from 'chrono-node';

/** A day on the calendar, without a time zone: the reader decides when that day starts. */
export type CalendarDate = { year: number; month: number; day: number };

const monthNames: Record<string, number> = {};
const addMonths = (names: string[]) =>
  names.forEach((name, i) => {
    for (const n of name.split('|')) monthNames[n] = (i % 12) + 1;
  });
addMonths([
  'january|jan',
  'february|feb',
  'march|mar',
  'april|apr',
  'may',
  'june|jun',
  'july|jul',
  'august|aug',
  'september|sept|sep',
  'october|oct',
  'november|nov',
  'december|dec',
]);
addMonths([
  'janvier|janv',
  'février|fevrier|févr|fevr',
  'mars',
  'avril|avr',
  'mai',
  'juin',
  'juillet|juil',
  'août|aout',
  'septembre',
  'octobre',
  'novembre',
  'décembre|decembre|déc',
]);
addMonths([
  'januar|jänner',
  'februar',
  'märz|maerz',
  'april',
  'mai',
  'juni',
  'juli',
  'august',
  'september',
  'oktober|okt',
  'november',
  'dezember|dez',
]);
addMonths([
  'enero|ene',
  'febrero',
  'marzo',
  'abril|abr',
  'mayo',
  'junio',
  'julio',
  'agosto|ago',
  'septiembre|setiembre',
  'octubre',
  'noviembre',
  'diciembre|dic',
]);

/** ISO weekday (1 = Monday) per name in English, French, German and Spanish. */
const weekdayNames: Record<string, number> = {};
[
  'monday|lundi|montag|lunes',
  'tuesday|mardi|dienstag|martes',
  'wednesday|mercredi|mittwoch|miércoles|miercoles',
  'thursday|jeudi|donnerstag|jueves',
  'friday|vendredi|freitag|viernes',
  'saturday|samedi|samstag|sábado|sabado',
  'sunday|dimanche|sonntag|domingo',
].forEach((names, i) => {
  for (const n of names.split('|')) weekdayNames[n] = i + 1;
});

const alternation = (names: string[]) => [...names].sort((a, b) => b.length - a.length).join('|');
const MONTH = `(${alternation(Object.keys(monthNames))})\\.?(?![\\p{L}])`;
const WEEKDAY = `(?<![\\p{L}])(${alternation(Object.keys(weekdayNames))})(?![\\p{L}])`;

/**
 * Phrases after which a date names the return (`return`) or the last day away (`until`, so the
 * return is the next day). `reach` is how far after the phrase the date may start: short for
 * common little words ("au", "to"), so "au bureau … le 3" does not count.
 */
const keywords: { re: RegExp; kind: 'return' | 'until'; reach: number }[] = [
  {
    re: /(?<![\p{L}])(back|return(ing)?|returns|in the office|available( again)?|de retour|retour|à partir du|a partir du|zurück|zurueck|wieder|ab dem|de vuelta|regreso|regresaré|regresare|volveré|volvere|a partir del)(?![\p{L}])/giu,
    kind: 'return',
    reach: 30,
  },
  {
    re: /(?<![\p{L}])(until|till|through|thru|jusqu['’]au|jusqu['’]à|jusqu['’]a|bis( zum| einschließlich| einschliesslich)?|hasta( el)?)(?![\p{L}])/giu,
    kind: 'until',
    reach: 20,
  },
  { re: /(?<![\p{L}])(au|to|al)(?![\p{L}])/giu, kind: 'until', reach: 2 },
  { re: /(?<![\p{L}])ab(?![\p{L}])/giu, kind: 'return', reach: 2 },
];

type Found = { index: number; options: Partial<CalendarDate>[] };

const explicitDates: { re: RegExp; read(m: RegExpExecArray): Partial<CalendarDate>[] }[] = [
  {
    re: /(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)/u,
    read: (m) => [{ year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) }],
  },
  {
    // d.m(.y) is always day first; d/m/y and m/d/y are both tried and the nearer future date wins.
    re: /(?<![\d.])(\d{1,2})([./-])(\d{1,2})(?:\2(\d{4}|\d{2}))?(?![\d])/u,
    read: (m) => {
      const a = Number(m[1]);
      const b = Number(m[3]);
      const year = m[4] ? fullYear(Number(m[4])) : undefined;
      const dayFirst = { year, day: a, month: b };
      return m[2] === '.' ? [dayFirst] : [dayFirst, { year, day: b, month: a }];
    },
  },
  {
    re: new RegExp(
      `(?<!\\d)(\\d{1,2})(?:st|nd|rd|th|er|\\.|º)?\\s*(?:de\\s+)?${MONTH}(?:,?\\s*(?:de\\s+)?(\\d{4}))?`,
      'iu',
    ),
    read: (m) => [{ day: Number(m[1]), month: monthOf(m[2]), year: m[3] ? Number(m[3]) : undefined }],
  },
  {
    re: new RegExp(`(?<![\\p{L}])${MONTH}\\s+(\\d{1,2})(?:st|nd|rd|th)?(?!\\d)(?:,?\\s*(\\d{4}))?`, 'iu'),
    read: (m) => [{ month: monthOf(m[1]), day: Number(m[2]), year: m[3] ? Number(m[3]) : undefined }],
  },
];

const fullYear = (y: number) => (y < 100 ? 2000 + y : y);
const monthOf = (name: string | undefined) => (name ? monthNames[name.toLowerCase()] : undefined);

/** Only dates from the message day to this many days after it are believed. */
const HORIZON_DAYS = 180;
const DAY_MS = 86_400_000;

/**
 * Text searched, in characters: an out-of-office names its return in its first lines. The keywords
 * below are common words ("to", "au"), and each one found costs a few small parses.
 */
const MAX_RETURN_TEXT_CHARS = 8 * 1024;
/** Keywords tried, in text order: a real auto-reply has a handful, "to to to…" has thousands. */
const MAX_KEYWORD_HITS = 100;
/** Keywords whose window chrono-node reads (four parsers, about 40 µs each on a window). */
const MAX_RELATIVE_TRIES = 10;
/**
 * Days after an "until" date within which a "back on" date is believed instead: "until Friday the
 * 6th, back on Monday the 9th" returns on the 9th (a weekend and a public holiday fit in 3 days).
 */
const MAX_RETURN_GAP_DAYS = 3;

/**
 * Reads the return date from an out-of-office text ("back on 17 March", "de retour le 17/03",
 * "bis zum 14. März", "hasta el 14 de marzo", "back on Monday", "back tomorrow", "ab morgen"), in
 * English, French, German and Spanish. `received` anchors years and weekdays. The first date found
 * wins, except that "until Friday 6th … back Monday 9th" returns the 9th (MAX_RETURN_GAP_DAYS). Returns
 * null when no believable date is found. Reads the first MAX_RETURN_TEXT_CHARS only.
 */
export function findReturnDate(fullText: string, received: Date): CalendarDate | null {
  const text = fullText.slice(0, MAX_RETURN_TEXT_CHARS);
  const today = Date.UTC(received.getUTCFullYear(), received.getUTCMonth(), received.getUTCDate());
  const hits = keywords
    .flatMap(({ re, kind, reach }) =>
      [...text.matchAll(re)].map((m) => ({ at: (m.index ?? 0) + m[0].length, kind, reach })),
    )
    .sort((a, b) => a.at - b.at)
    .slice(0, MAX_KEYWORD_HITS);
  let relativeTries = MAX_RELATIVE_TRIES;
  // The day after the first "until" date: the answer unless a "back on" date just after it follows.
  let afterUntil: number | null = null;
  for (const hit of hits) {
    // A weekday before the date ("ab Montag, 2. Februar") does not count against the reach.
    const reach = hit.reach + (leadingWeekday.exec(text.slice(hit.at, hit.at + 40))?.[0].length ?? 0);
    const window = text.slice(hit.at, hit.at + reach + 40);
    const found = firstExplicitDate(window) ?? weekdayDate(window, today);
    let day: number | null = null;
    if (found) day = found.index <= reach ? nearestFuture(found.options, today) : null;
    else if (relativeTries-- > 0) day = relativeDate(window, reach, today);
    if (day === null) continue;
    if (afterUntil === null) {
      if (hit.kind === 'return') return toCalendar(day);
      afterUntil = day + DAY_MS;
    } else if (
      hit.kind === 'return' &&
      day >= afterUntil &&
      day <= afterUntil + MAX_RETURN_GAP_DAYS * DAY_MS
    ) {
      return toCalendar(day);
    }
  }
  return afterUntil === null ? null : toCalendar(afterUntil);
}

/** A weekday opening a keyword's window, with its article and comma: " on Monday, ", " el lunes ", " Montag, den ". */
const leadingWeekday = new RegExp(
  `^[\\s,]{0,4}(?:(?:on|le|am|el|the|den|dem)\\s{1,3})?${WEEKDAY}[,.]?\\s{0,3}(?:(?:the|den|dem|le|el)\\s{1,3})?`,
  'iu',
);

function firstExplicitDate(window: string): Found | null {
  let best: Found | null = null;
  for (const { re, read } of explicitDates) {
    const m = re.exec(window);
    if (m && (best === null || m.index < best.index)) best = { index: m.index, options: read(m) };
  }
  return best;
}

const weekday = new RegExp(WEEKDAY, 'iu');

/** "back on Monday": the next such weekday after the message day. */
function weekdayDate(window: string, today: number): Found | null {
  const m = weekday.exec(window);
  const iso = m?.[1] ? weekdayNames[m[1].toLowerCase()] : undefined;
  if (!m || iso === undefined) return null;
  const todayIso = ((new Date(today).getUTCDay() + 6) % 7) + 1;
  const ahead = (iso - todayIso + 7) % 7 || 7;
  return { index: m.index, options: [toCalendar(today + ahead * DAY_MS)] };
}

/**
 * chrono-node reads what the rules above do not: "tomorrow", "in two weeks", "demain", "ab morgen",
 * "mañana". Only on a keyword's window: its French and German parsers take time quadratic in a run
 * of spaces (64 KiB of them: 5 s and 23 s). Results without a certain day ("at 3pm") are dropped.
 */
const relativeParsers = [chrono.en.casual, chrono.fr.casual, chrono.de.casual, chrono.es.casual];

function relativeDate(window: string, reach: number, today: number): number | null {
  const reference = { instant: new Date(today), timezone: 0 };
  for (const parser of relativeParsers) {
    const [result] = parser.parse(window, reference, { forwardDate: true });
    if (!result || result.index > reach || !result.start.isCertain('day')) continue;
    const year = result.start.get('year');
    const month = result.start.get('month');
    const day = result.start.get('day');
    if (year === null || month === null || day === null) continue;
    const date = nearestFuture([{ year, month, day }], today);
    if (date !== null) return date;
  }
  return null;
}

/** The earliest option that is a real date within the horizon; a missing year means the next one. */
function nearestFuture(options: Partial<CalendarDate>[], today: number): number | null {
  const valid = options.flatMap((o) => {
    if (o.month === undefined || o.day === undefined) return [];
    const years =
      o.year !== undefined
        ? [o.year]
        : [new Date(today).getUTCFullYear(), new Date(today).getUTCFullYear() + 1];
    for (const year of years) {
      const t = realDate(year, o.month, o.day);
      if (t !== null && t >= today) return t <= today + HORIZON_DAYS * DAY_MS ? [t] : [];
    }
    return [];
  });
  return valid.length > 0 ? Math.min(...valid) : null;
}

function realDate(year: number, month: number, day: number): number | null {
  const t = Date.UTC(year, month - 1, day);
  const d = new Date(t);
  return d.getUTCMonth() === month - 1 && d.getUTCDate() === day ? t : null;
}

function toCalendar(t: number): CalendarDate {
  const d = new Date(t);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}
