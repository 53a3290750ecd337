import { describe, expect, it } from 'vitest';
import { wellFormed } from '../../src/api/http/unicode-text';

// Bodies are parsed JSON, where "\ud800" is a valid escape that Postgres' jsonb refuses.
const parsed = (json: string): unknown => JSON.parse(json);

describe('wellFormed: request bodies Postgres can store', () => {
  it('replaces lone surrogates in nested strings, array items and keys with U+FFFD', () => {
    const body = parsed(
      '{"leads":[{"firstName":"Ana\\ud800","custom":{"k\\udc00":"v","ok":["\\ud83d", 2, null]}}]}',
    );
    expect(wellFormed(body)).toEqual({
      leads: [{ firstName: 'Ana\uFFFD', custom: { 'k\uFFFD': 'v', ok: ['\uFFFD', 2, null] } }],
    });
  });

  it('keeps surrogate pairs (emoji) and returns a clean body as it is, without copying it', () => {
    const body = parsed('{"leads":[{"firstName":"Zoë \\ud83d\\ude00","tags":["a","b"],"n":1}]}');
    const result = wellFormed(body);
    expect(result).toBe(body);
    expect(result).toEqual({ leads: [{ firstName: 'Zoë 😀', tags: ['a', 'b'], n: 1 }] });
  });

  it('fixes a body whose only lone surrogate is deep in its last row', () => {
    const rows = Array.from({ length: 1000 }, (_, i) => ({ email: `lead${i}@x.test` }));
    const body = { leads: [...rows, { email: 'last@x.test', note: 'broken \ud800 text' }] };
    const result = wellFormed(body) as { leads: { note?: string }[] };
    expect(result.leads).toHaveLength(1001);
    expect(result.leads[1000]?.note).toBe('broken \uFFFD text');
  });

  it('leaves parts deeper than 200 levels alone, for the schemas to refuse', () => {
    let deep: unknown = '\ud800';
    for (let i = 0; i < 250; i++) deep = [deep];
    const body = { deep };
    expect(wellFormed(body)).toBe(body);
  });
});
