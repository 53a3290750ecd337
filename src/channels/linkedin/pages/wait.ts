import { sleep } from '../pacing';

/**
 * Reads until `done` accepts what was read or `timeoutMs` has passed, 100 ms apart, and returns the
 * last reading: pages render progressively, and a deadline is how "never" is told from "not yet".
 */
export async function poll<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() >= deadline) return value;
    await sleep(Math.min(100, Math.max(0, deadline - Date.now())));
  }
}

/** A string for a CSS attribute selector in double quotes. */
export const cssString = (s: string) => s.replace(/["\\]/g, (c) => `\\${c}`);
