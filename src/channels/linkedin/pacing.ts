/** Bounds of the human-like pause taken before each page action, in milliseconds. */
export type Pacing = { minMs: number; maxMs: number };

/** Production default: a few seconds between clicks, like someone reading the page. */
export const defaultPacing: Pacing = { minMs: 1500, maxMs: 4500 };

/**
 * A pause length drawn from a triangular distribution over [minMs, maxMs]: most pauses sit near the
 * middle, as human reaction times do, instead of the flat spread a uniform draw gives.
 */
export function jitteredDelay(pacing: Pacing, random: () => number = Math.random): number {
  const span = Math.max(0, pacing.maxMs - pacing.minMs);
  return Math.round(pacing.minMs + span * ((random() + random()) / 2));
}

/** Delay between keystrokes when typing a note or message: a fraction of the pause, capped. */
export function keystrokeDelay(pacing: Pacing, random: () => number = Math.random): number {
  return Math.round(Math.min(120, pacing.maxMs / 40) * (0.5 + random()));
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Sleeps for one jittered pause. */
export const pause = (pacing: Pacing) => sleep(jitteredDelay(pacing));
