import { DateTime } from 'luxon';
import type { WarmupRamp } from '../../db/schema/index';
import { hashFraction } from '../../core/deterministic';
import { zoneOf } from '../../core/time-zone';

/** Spacing is `minIntervalSeconds` stretched by up to this fraction, so sends do not tick like a clock. */
export const SPACING_JITTER = 0.5;

/** The last day computed per time zone: every send asks, and the answer holds for the whole day. */
const knownDays = new Map<string, { start: Date; end: Date }>();

/** The calendar day a mailbox counts its sends in, in the workspace's time zone (DST-aware). */
export function dayBounds(now: Date, timeZone: string): { start: Date; end: Date } {
  const known = knownDays.get(timeZone);
  if (known && now >= known.start && now < known.end) return { ...known };
  const start = DateTime.fromJSDate(now, { zone: zoneOf(timeZone) }).startOf('day');
  const day = { start: start.toJSDate(), end: start.plus({ days: 1 }).toJSDate() };
  if (knownDays.size >= 1000) knownDays.clear();
  knownDays.set(timeZone, day);
  return { ...day };
}

/**
 * Today's limit. With a warm-up ramp it starts at `startLimit` on the ramp's first day and grows by
 * `increasePerDay` each calendar day, never above `dailyLimit`.
 */
export function effectiveDailyLimit(
  mailbox: { dailyLimit: number; warmup: WarmupRamp | null; createdAt: Date },
  now: Date,
  timeZone: string,
): number {
  const ramp = mailbox.warmup;
  if (!ramp) return mailbox.dailyLimit;
  const started = ramp.startedAt
    ? DateTime.fromISO(ramp.startedAt, { zone: zoneOf(timeZone) })
    : DateTime.fromJSDate(mailbox.createdAt, { zone: zoneOf(timeZone) });
  const today = DateTime.fromJSDate(now, { zone: zoneOf(timeZone) }).startOf('day');
  const days = Math.max(0, Math.round(today.diff(started.startOf('day'), 'days').days));
  return Math.min(mailbox.dailyLimit, ramp.startLimit + Math.floor(ramp.increasePerDay * days));
}

/**
 * The earliest time the next message may leave after the slot taken at `lastSlotAt`. The jitter is a
 * function of the slot itself, so every worker computes the same answer without storing it.
 */
export function nextSlotAt(lastSlotAt: Date | null, minIntervalSeconds: number, seed: string): Date | null {
  if (!lastSlotAt || minIntervalSeconds <= 0) return null;
  const stretch = 1 + SPACING_JITTER * hashFraction(`${seed}:${lastSlotAt.toISOString()}`);
  return new Date(lastSlotAt.getTime() + Math.ceil(minIntervalSeconds * 1000 * stretch));
}

export type CapacityDecision = { ok: true } | { ok: false; at: Date; why: 'daily_limit' | 'spacing' };

/** Whether one more message may leave now; if not, the earliest time it may. Pure. */
export function capacityDecision(input: {
  now: Date;
  sentToday: number;
  limit: number;
  nextSlot: Date | null;
  dayEnd: Date;
}): CapacityDecision {
  const { now, sentToday, limit, nextSlot, dayEnd } = input;
  if (sentToday >= limit) {
    const at = nextSlot && nextSlot > dayEnd ? nextSlot : dayEnd;
    return { ok: false, at, why: 'daily_limit' };
  }
  if (nextSlot && now < nextSlot) return { ok: false, at: nextSlot, why: 'spacing' };
  return { ok: true };
}

/**
 * Whether a mailbox, as read, may take a slot at `now`, with the day's limit it was judged by. The
 * day's count is `recount` when given, else the mailbox's counter (which is for `day`).
 */
export function judge(
  state: {
    mailbox: {
      id: string;
      dailyLimit: number;
      warmup: WarmupRamp | null;
      createdAt: Date;
      lastSlotAt: Date | null;
      minIntervalSeconds: number;
      daySlots: number;
    };
    recount: number | null;
  },
  at: { now: Date; day: { end: Date }; timeZone: string },
): ({ ok: true } | Extract<CapacityDecision, { ok: false }>) & { limit: number } {
  const { mailbox } = state;
  const limit = effectiveDailyLimit(mailbox, at.now, at.timeZone);
  const decision = capacityDecision({
    now: at.now,
    sentToday: state.recount ?? mailbox.daySlots,
    limit,
    nextSlot: nextSlotAt(mailbox.lastSlotAt, mailbox.minIntervalSeconds, mailbox.id),
    dayEnd: at.day.end,
  });
  return { ...decision, limit };
}
