import { describe, expect, it } from 'vitest';
import {
  columnTarget,
  customFieldKey,
  detectDelimiter,
  mapHeader,
  recordToLead,
} from '../../../src/api/leads/csv-headers';

describe('CSV header mapping', () => {
  it.each([
    ['firstName', 'firstName'],
    ['first_name', 'firstName'],
    ['First Name', 'firstName'],
    ['FIRST-NAME', 'firstName'],
    ['\uFEFFEmail', 'email'],
    [' e-mail address ', 'email'],
    ['Phone', null],
    ['Email Address', 'email'],
    ['LinkedIn URL', 'linkedinUrl'],
    ['linkedin_url', 'linkedinUrl'],
    ['Job Title', 'title'],
    ['time zone', 'timezone'],
  ])('%j → %s', (header, field) => {
    const target = columnTarget(header);
    if (field === null) expect(target).not.toHaveProperty('field');
    else expect(target).toEqual({ field });
  });

  it.each([
    ['Industry', 'industry'],
    ['Favorite Color', 'favoriteColor'],
    ['favorite_color', 'favoriteColor'],
    ['favoriteColor', 'favoriteColor'],
    ['NPS score', 'npsScore'],
    ['Budget ($)', 'budget($)'],
  ])('unknown column %j becomes custom field %j', (header, key) => {
    expect(customFieldKey(header)).toBe(key);
    expect(columnTarget(header)).toEqual({ custom: key });
  });

  it.each([
    ['email,name', ','],
    ['email;name;company', ';'],
    ['"a;b",c', ','],
    ['"a,b";c;d', ';'],
    ['email', ','],
    ['', ','],
  ])('detects the delimiter of %j', (line, delimiter) => {
    expect(detectDelimiter(line)).toBe(delimiter);
  });

  it('refuses two columns for one field and a header without an identity column', () => {
    expect(mapHeader(['email', 'E-Mail', 'x'])).toEqual({
      error: expect.stringMatching(/both map to email/),
    });
    expect(mapHeader(['email', 'Industry', 'industry'])).toEqual({
      error: expect.stringMatching(/customFields/),
    });
    expect(mapHeader(['name', 'company'])).toEqual({ error: expect.stringMatching(/LinkedIn/) });
    expect(mapHeader(['linkedin', 'company'])).toHaveProperty('columns');
  });

  it('turns a record into a lead: blank cells absent, extra non-blank cells an error', () => {
    const header = mapHeader(['email', 'first name', 'Industry', '']);
    if (!('columns' in header)) throw new Error(header.error);
    expect(recordToLead(header.columns, ['a@x.com', '', ' Retail ', 'ignored'])).toEqual({
      lead: { email: 'a@x.com', customFields: { industry: 'Retail' } },
    });
    expect(recordToLead(header.columns, ['a@x.com'])).toEqual({ lead: { email: 'a@x.com' } });
    expect(recordToLead(header.columns, ['a@x.com', '', '', '', ' '])).toHaveProperty('lead');
    expect(recordToLead(header.columns, ['a@x.com', '', '', '', 'surplus'])).toHaveProperty('error');
  });
});
