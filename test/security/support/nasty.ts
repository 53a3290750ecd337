import fc from 'fast-check';

/**
 * JSON text that `JSON.stringify` cannot produce: number literals beyond double precision or range,
 * and nesting deeper than a recursive serialiser would survive. `toJsonText` writes it verbatim.
 */
export class RawJson {
  constructor(readonly text: string) {}
}

/** Serialises a generated value, writing `RawJson` leaves as they are. */
export function toJsonText(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${toJsonText(v)}`);
    return `{${entries.join(',')}}`;
  }
  // NaN and ±Infinity are literals no JSON parser accepts: the request must fail as bad JSON.
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (typeof value === 'number' && Object.is(value, -0)) return '-0';
  return JSON.stringify(value) ?? 'null';
}

const nestedArrays = (depth: number) => new RawJson(`${'['.repeat(depth)}${']'.repeat(depth)}`);
const nestedObjects = (depth: number) => new RawJson(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);

/** Numbers that break naive code: out of range, imprecise, signed zero, 32-bit edges. */
export const nastyNumber = fc.constantFrom<unknown>(
  Number.NaN,
  Number.POSITIVE_INFINITY,
  new RawJson('1e309'),
  new RawJson('-1e309'),
  -0,
  new RawJson('9007199254740993'),
  new RawJson('1e-400'),
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  2 ** 31,
  2 ** 31 - 1,
  -(2 ** 31) - 1,
  2 ** 53,
  -1,
  0,
  1.5,
  new RawJson('1.0e+2'),
);

/** Strings aimed at encodings, headers, templates, SQL and paths; the generators add random ones. */
const nastyStringConstants = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\uD800',
  'x\uDFFFy',
  '\uDBFF\uDBFF',
  '\u202Eevil.exe',
  '\u200F\u05E9\u05DC\u05D5\u05DD',
  '👩‍👩‍👧‍👦🏳️‍🌈',
  'Z̴̡̟̈́a̸̧̛l̴g̷o̵',
  '\uFEFF',
  '\r\nBcc: x@evil.test',
  'Subject\nX-Injected: 1',
  "'; drop table leads; --",
  '{{ 7 | times: 7 }}{% raw %}',
  '{% for i in (1..100000000) %}x{% endfor %}',
  '../../etc/passwd',
  '%00%ED%A0%80',
  '<script>alert(1)</script>',
  '__proto__',
  'constructor',
  'null',
  'NaN',
  '-0',
  '1e309',
  'a@b',
  'x'.repeat(300),
];

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
/** Characters that break storage, headers, templates or rendering, mixed into ordinary ones. */
const hostileChar = fc.constantFrom(
  '\u0000',
  '\uD800',
  '\uDFFF',
  '\r',
  '\n',
  '\u2028',
  '\u202E',
  '\u0301',
  '\uFEFF',
  '😀',
  '"',
  '\\',
  '%',
  '{{',
  '<',
);
const hostileUnit = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: hostileChar },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: loneSurrogate },
);

export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...nastyStringConstants) },
  { weight: 6, arbitrary: fc.string({ unit: hostileUnit, minLength: 1, maxLength: 24 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(10_000, 100_000, 600_000), fc.constantFrom('a', 'é', '😀', '\u0000', ' '))
      .map(([n, c]) => c.repeat(n)),
  },
);

/** A value of any wrong shape: strings, numbers, null, arrays for objects, deep nesting, big arrays. */
export const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: nastyString },
  { weight: 3, arbitrary: nastyNumber },
  { weight: 2, arbitrary: fc.constantFrom<unknown>(null, true, false, [], {}, [null], { '': null }) },
  { weight: 1, arbitrary: fc.constantFrom(nestedArrays(300_000), nestedObjects(5_000), nestedArrays(100)) },
  { weight: 1, arbitrary: fc.constantFrom(Array.from({ length: 20_000 }, (_, i) => i)) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.array(nastyString, { maxLength: 5 }) },
  { weight: 1, arbitrary: fc.dictionary(nastyString, nastyString, { maxKeys: 4 }) },
);

/** Request bodies that are not JSON at all, or not quite. */
export const brokenJsonText = fc.constantFrom(
  '',
  '{',
  '{"a":1,}',
  "{'a':1}",
  'NaN',
  '{"a":NaN}',
  '{"a":undefined}',
  '\uFEFF{}',
  '{"__proto__":{"admin":true}}',
  '{"constructor":{"prototype":{"admin":true}}}',
  '[1,2',
  '"\\uD800"',
  '{"a":"\\u0000"}',
  'null',
  '0',
  '\u0000',
);
