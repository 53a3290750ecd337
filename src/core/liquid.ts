import { Liquid, Tag, type FS } from 'liquidjs';

/**
 * The one Liquid configuration: templates are tenant input, so they see the lead's fields and
 * nothing of the host. Parsing (validation, on the main thread) and rendering (in the template
 * worker) both build their engine here.
 */

/** What one rendering may cost. A template over a limit fails its step with `template_error`. */
export const TEMPLATE_LIMITS = {
  /**
   * Wall-clock time, which liquidjs checks at every node; the pool's deadline catches the rest.
   * A five-line email body renders in about 27 µs here: a second leaves room for a thread that
   * a loaded machine does not schedule, so a busy host never fails a good template.
   */
  renderMs: 1000,
  /** liquidjs's unit: characters of strings and items of arrays it builds while rendering. */
  memoryUnits: 2_000_000,
  /** Characters of one rendered template: an email body is far below this. */
  outputChars: 512 * 1024,
  /** Characters of one template; the step schemas already refuse more. */
  parseChars: 100_000,
  /** Items of a literal range `(a..b)`: a loop over more is refused when the sequence is saved. */
  rangeItems: 1000,
} as const;

/** No file system at all: every lookup finds nothing, so no tag can read a file by any path. */
const noFileSystem: FS = {
  exists: async () => false,
  existsSync: () => false,
  readFile: async () => {
    throw new Error('templates cannot read files');
  },
  readFileSync: () => {
    throw new Error('templates cannot read files');
  },
  resolve: (_root, file) => file,
  sep: '/',
};

/** Tags that load other templates by name; without a file system they have nothing to load. */
const fileTags = ['include', 'render', 'layout'] as const;

class FileTagRefused extends Tag {
  constructor(...args: ConstructorParameters<typeof Tag>) {
    super(...args);
    throw new Error(`{% ${this.name} %} is not available: templates cannot load other files`);
  }
  render(): void {}
}

export function createLiquid(): Liquid {
  const liquid = new Liquid({
    cache: false,
    strictFilters: true,
    ownPropertyOnly: true,
    fs: noFileSystem,
    root: [],
    partials: [],
    layouts: [],
    relativeReference: false,
    parseLimit: TEMPLATE_LIMITS.parseChars,
    renderLimit: TEMPLATE_LIMITS.renderMs,
    memoryLimit: TEMPLATE_LIMITS.memoryUnits,
  });
  for (const name of fileTags) liquid.registerTag(name, FileTagRefused);
  return liquid;
}

/** `(1..6000)` with spaces allowed; linear (no two adjacent parts can match the same characters). */
const literalRange = /\(\s*(-?\d{1,12})\s*\.\.\s*(-?\d{1,12})\s*\)/g;

/**
 * What the static checks refuse beyond parsing: literal ranges longer than `rangeItems`, which is
 * how a two-line template asks for billions of iterations. Ranges over variables are bounded at
 * render time by the memory limit.
 */
export function staticLimitError(source: string): string | null {
  for (const match of source.matchAll(literalRange)) {
    const items = Math.abs(Number(match[2]) - Number(match[1])) + 1;
    if (items > TEMPLATE_LIMITS.rangeItems) {
      return `the range ${match[0]} has ${items} items; at most ${TEMPLATE_LIMITS.rangeItems} are allowed`;
    }
  }
  return null;
}
