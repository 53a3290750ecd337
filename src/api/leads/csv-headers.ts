/** Pure helpers of the CSV importer: which delimiter a file uses and which lead field a header names. */

export type LeadField =
  | 'email'
  | 'linkedinUrl'
  | 'firstName'
  | 'lastName'
  | 'company'
  | 'title'
  | 'timezone'
  | 'country'
  | 'stage'
  | 'status';

export type ColumnTarget = { field: LeadField } | { custom: string };

/** Headers compared with case, spaces, `_`, `-` and `.` removed: `First Name` = `first_name` = `firstName`. */
const squash = (header: string) => header.toLowerCase().replace(/[\s_.-]+/g, '');

const aliases: Record<string, LeadField> = {
  email: 'email',
  emailaddress: 'email',
  mail: 'email',
  linkedinurl: 'linkedinUrl',
  linkedin: 'linkedinUrl',
  linkedinprofile: 'linkedinUrl',
  linkedinprofileurl: 'linkedinUrl',
  firstname: 'firstName',
  givenname: 'firstName',
  lastname: 'lastName',
  surname: 'lastName',
  familyname: 'lastName',
  company: 'company',
  companyname: 'company',
  organization: 'company',
  organisation: 'company',
  title: 'title',
  jobtitle: 'title',
  position: 'title',
  timezone: 'timezone',
  tz: 'timezone',
  country: 'country',
  countrycode: 'country',
  stage: 'stage',
  status: 'status',
};

/**
 * Custom field keys are camelCase, so templates can print them as `{{ industrySegment }}`:
 * `Industry Segment`, `industry_segment` and `industrySegment` all become `industrySegment`.
 */
export function customFieldKey(header: string): string {
  const words = header
    .trim()
    .split(/[\s_.-]+/)
    .filter(Boolean);
  return words
    .map((word, i) => {
      if (i === 0)
        return word === word.toUpperCase()
          ? word.toLowerCase()
          : (word[0] ?? '').toLowerCase() + word.slice(1);
      return (word[0]?.toUpperCase() ?? '') + word.slice(1);
    })
    .join('');
}

export function columnTarget(header: string): ColumnTarget | null {
  const cleaned = header.replace(/^\uFEFF/, '').trim();
  if (!cleaned) return null;
  const field = aliases[squash(cleaned)];
  return field ? { field } : { custom: customFieldKey(cleaned) };
}

/** `;` when the header line has more semicolons than commas outside quotes, else `,`. */
export function detectDelimiter(headerLine: string): ',' | ';' {
  let commas = 0;
  let semicolons = 0;
  let quoted = false;
  for (const ch of headerLine) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === ',') commas++;
    else if (!quoted && ch === ';') semicolons++;
  }
  return semicolons > commas ? ';' : ',';
}

export type HeaderMap = { columns: (ColumnTarget | null)[] } | { error: string };

/** Maps the header row; two columns naming the same field (or custom key) is an error, not a guess. */
export function mapHeader(headers: string[]): HeaderMap {
  const columns = headers.map(columnTarget);
  const seen = new Map<string, number>();
  for (const [i, target] of columns.entries()) {
    if (!target) continue;
    const name = 'field' in target ? target.field : `customFields.${target.custom}`;
    const earlier = seen.get(name);
    if (earlier !== undefined) return { error: `columns ${earlier + 1} and ${i + 1} both map to ${name}` };
    seen.set(name, i);
  }
  if (!columns.some((c) => c && 'field' in c && (c.field === 'email' || c.field === 'linkedinUrl'))) {
    return { error: 'the header row needs an email or a LinkedIn URL column' };
  }
  return { columns };
}

/** One CSV record as a lead input (blank cells are absent), or an error for a record too long. */
export function recordToLead(
  columns: (ColumnTarget | null)[],
  record: string[],
): { lead: Record<string, unknown> } | { error: string } {
  const extra = record.slice(columns.length).filter((v) => v.trim() !== '');
  if (extra.length > 0)
    return { error: `row has ${record.length} columns, the header has ${columns.length}` };
  const lead: Record<string, unknown> = {};
  const customFields: Record<string, string> = {};
  columns.forEach((target, i) => {
    const value = record[i];
    if (!target || value === undefined || value.trim() === '') return;
    if ('field' in target) lead[target.field] = value;
    else customFields[target.custom] = value.trim();
  });
  if (Object.keys(customFields).length > 0) lead.customFields = customFields;
  return { lead };
}
