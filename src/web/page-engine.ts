import { fileURLToPath } from 'node:url';
import { Liquid } from 'liquidjs';
import { filters } from './view-filters';

/**
 * Pages get their own Liquid: every output escaped, no access to prototypes, no includes outside the
 * views folder. It shares nothing with the tenants' template engine (src/core/liquid.ts), which
 * renders emails from tenant input; these templates are ours.
 */
function pageEngine(): Liquid {
  const engine = new Liquid({
    root: fileURLToPath(new URL('./views', import.meta.url)),
    extname: '.liquid',
    outputEscape: 'escape',
    ownPropertyOnly: true,
    strictFilters: true,
    cache: true,
  });
  for (const [name, fn] of Object.entries(filters)) engine.registerFilter(name, fn);
  return engine;
}

/**
 * The pages' one engine. Pages render synchronously (`renderFileSync`): the templates are parsed once
 * and cached, nothing in a page waits on I/O, and liquidjs's async renderer spends about as long
 * wrapping every tag in a promise as rendering it (the board renders in about 60 % of the time).
 * Never mix in its async calls: the cache would then hold promises the sync renderer cannot use.
 */
export const pages = pageEngine();
