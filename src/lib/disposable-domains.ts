import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let domains: ReadonlySet<string> | null = null;

/**
 * The throwaway-mail domains of the `disposable-email-domains` package (about 120,000 names, kept
 * up to date by its maintainers), read on first use so a process that never checks a list does
 * not hold them.
 */
export function disposableDomains(): ReadonlySet<string> {
  if (!domains) {
    const list: unknown = require('disposable-email-domains');
    domains = new Set(Array.isArray(list) ? list.filter((d): d is string => typeof d === 'string') : []);
  }
  return domains;
}
