import { createHash } from 'node:crypto';

/**
 * A number in [0, 1) derived from `seed`. Used where every worker (and every retry of one run) must
 * make the same "random" choice: the A/B variant of a run, the spacing jitter after a slot.
 */
export function hashFraction(seed: string): number {
  const digest = createHash('sha256').update(seed).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}
