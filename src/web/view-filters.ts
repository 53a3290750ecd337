/** Liquid filters for the pages: formatting only, each returns text that the engine then escapes. */

// A formatter per currency, made once: building an Intl.NumberFormat costs more than the page's card.
const formats = new Map<string, Intl.NumberFormat>();
const formatOf = (code: string | null) => {
  const key = code ?? '';
  let format = formats.get(key);
  if (!format) {
    format = code
      ? new Intl.NumberFormat('en-US', { style: 'currency', currency: code, maximumFractionDigits: 2 })
      : new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
    if (formats.size < 500) formats.set(key, format);
  }
  return format;
};

export const money = (value: unknown, currency: unknown) => {
  const amount = Number(value);
  if (!Number.isFinite(amount)) return '';
  const code = typeof currency === 'string' && /^[A-Z]{3}$/.test(currency) ? currency : null;
  return formatOf(code).format(amount);
};

export const date = (value: unknown) => {
  const d = value instanceof Date ? value : new Date(String(value));
  return Number.isNaN(d.getTime()) ? '' : d.toISOString().slice(0, 16).replace('T', ' ');
};

const percent = (value: unknown) => {
  const n = Number(value);
  return Number.isFinite(n) ? `${(n * 100).toFixed(1)}%` : '';
};

export const days = (value: unknown) => {
  const n = Number(value);
  if (!Number.isFinite(n)) return '';
  const d = Math.floor(n);
  return d === 1 ? '1 day' : `${d} days`;
};

export const filters: Record<string, (...args: unknown[]) => string> = {
  money: (value, currency) => money(value, currency),
  when: (value) => date(value),
  percent: (value) => percent(value),
  days: (value) => days(value),
};
