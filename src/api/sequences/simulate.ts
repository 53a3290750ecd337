import { DateTime } from 'luxon';
import { effectiveLimits, actionWindows, type ActionKind, slotFreeAt } from '../../channels/linkedin/limits';
import { leastBusyFirst, type LinkedInAccountRow } from '../../channels/linkedin/accounts';
import { dayBounds, effectiveDailyLimit, judge } from '../../channels/email/capacity';
import {
  chooseMailboxes,
  leastRecentlyUsedFirst,
  type MailboxRow,
} from '../../channels/email/mailbox-choice';
import { hashFraction } from '../../core/deterministic';
import { nextWindowTime, resolveTimezone, spreadSeed } from '../../core/schedule';
import type { SequenceDefinition } from '../../core/sequences';
import type { ResolvedStep } from '../../core/steps';
import { localIso, localIsoDate, zoneOf } from '../../core/time-zone';
import { leadTimezone, planNextRun, windowed } from '../../engine/advance';
import type { LeadRow } from '../../engine/channel';
import { FREE_MAIL } from '../../engine/inbound/effects';
import { internalStepTypes } from '../../engine/internal-steps';
import { stepIndexById } from '../../core/plan';

/**
 * A cadence run on a virtual clock: the same functions the workers call to place a step (waits,
 * window, holidays, spreading), to pick a mailbox and judge its capacity (daily limit, warm-up,
 * spacing), and to pick a LinkedIn account and judge its rolling limits and working hours. Each
 * run executes at its scheduled instant, which is what the next step's time is computed from; runs
 * due at the same instant go in lead id order. Nothing is written and nothing is sent.
 */

export type Assume = { replyRate: number; connectRate: number; bounceRate: number; openRate: number };

export type SimMailbox = Pick<
  MailboxRow,
  'id' | 'dailyLimit' | 'warmup' | 'createdAt' | 'lastSlotAt' | 'minIntervalSeconds' | 'status'
> & {
  /** Slots already taken on the start's day (sending or sent), as the worker would recount them. */
  bookedToday: number;
};

export type SimAccount = Pick<
  LinkedInAccountRow,
  'id' | 'status' | 'limits' | 'workingHours' | 'createdAt'
> & {
  /** Actions already taken, inside their rolling windows at the start. */
  actions: { kind: ActionKind; at: Date }[];
};

export type SimLead = Pick<
  LeadRow,
  'id' | 'timezone' | 'country' | 'email' | 'linkedinUrl' | 'stage' | 'companyDomain'
>;

export type SimInput = {
  definition: SequenceDefinition;
  leads: SimLead[];
  start: Date;
  seed: string;
  assume: Assume;
  workspaceTimezone: string;
  workspaceCountry: string | null;
  mailboxes: SimMailbox[];
  accounts: SimAccount[];
  /** Email runs other enrollments already have scheduled: they take their slots first. */
  booked: { at: Date; mailboxId: string | null }[];
};

export type SimStep = {
  stepId: string;
  type: string;
  index: number;
  at: string;
  localAt: string;
  outcome: 'sent' | 'failed' | 'done';
  reason?: string;
  mailboxId?: string;
  accountId?: string;
  branch?: 'then' | 'else';
  /** Times the step was put off (capacity, spacing, limits, working hours) before it ran. */
  deferrals?: number;
};

export type SimLeadResult = {
  leadId: string;
  timezone: string;
  /** `stopped`: a colleague on the same company domain replied (`stopCompanyOnReply`). */
  status: 'completed' | 'replied' | 'bounced' | 'blocked' | 'stopped' | 'unfinished';
  reason?: string;
  finishedAt: string | null;
  steps: SimStep[];
};

export type Bottleneck = {
  date: string;
  mailboxId?: string;
  accountId?: string;
  limit:
    | 'daily_cap'
    | 'warmup'
    | 'spacing'
    | 'linkedin_invitations'
    | 'linkedin_messages'
    | 'linkedin_visits';
  cut: number;
};

export type SimDay = {
  date: string;
  planned: number;
  mailboxes: { mailboxId: string; planned: number; booked: number; cap: number }[];
  accounts: { accountId: string; visits: number; invites: number; messages: number }[];
};

export type SimResult = {
  leads: SimLeadResult[];
  days: SimDay[];
  finishesAt: string | null;
  bottlenecks: Bottleneck[];
  summary: string;
};

/** How far past the start the simulation looks; a lead still going then is `unfinished`. */
export const HORIZON_DAYS = 366;
const NO_ACCOUNT = 'no_linkedin_account';

type Event = {
  at: number;
  order: number;
  lead: LeadState | null;
  index: number;
  deferrals: number;
  /** Another enrollment's email: the mailbox its thread is pinned to. */
  pin?: string | null;
};

type LeadState = {
  lead: SimLead;
  order: number;
  result: SimLeadResult;
  mailboxId: string | null;
  accountId: string | null;
  stage: string;
  opened: boolean;
  connected: boolean | null;
  runs: number;
};

/** A binary heap of events, earliest first, ties by lead order. */
class Agenda {
  private items: Event[] = [];
  get size() {
    return this.items.length;
  }
  private less(a: Event, b: Event) {
    return a.at !== b.at ? a.at < b.at : a.order < b.order;
  }
  push(e: Event) {
    const h = this.items;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p] as Event;
      if (!this.less(e, parent)) break;
      h[i] = parent;
      i = p;
    }
    h[i] = e;
  }
  pop(): Event | undefined {
    const h = this.items;
    const top = h[0];
    const last = h.pop();
    if (h.length === 0 || !last) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && this.less(h[r] as Event, h[l] as Event) ? r : l;
      if (!this.less(h[c] as Event, last)) break;
      h[i] = h[c] as Event;
      i = c;
    }
    h[i] = last;
    return top;
  }
}

const kindOf: Record<string, ActionKind> = {
  linkedin_visit: 'visit',
  linkedin_invite: 'invite',
  linkedin_message: 'message',
};
const limitNames: Record<ActionKind, Bottleneck['limit']> = {
  visit: 'linkedin_visits',
  invite: 'linkedin_invitations',
  message: 'linkedin_messages',
};

/** Events one simulation may process: past it the request is refused rather than run for minutes. */
export const MAX_SIMULATED_EVENTS = 2_000_000;
/** Events between two yields to the event loop, so a long simulation never stalls the process. */
const EVENTS_PER_SLICE = 5_000;

/** The simulation needed more than MAX_SIMULATED_EVENTS: fewer leads, or fewer booked runs, fit. */
export class SimulationTooLarge extends Error {}

export async function simulate(input: SimInput): Promise<SimResult> {
  const { definition, assume, seed, workspaceTimezone: wsTz } = input;
  const horizon = input.start.getTime() + HORIZON_DAYS * 86_400_000;
  /** Whether an outcome of probability `rate` happens; a rate of 0 or 1 needs no draw. */
  const happens = (rate: number, what: string, leadId: string, stepId: string) =>
    rate <= 0
      ? false
      : rate >= 1
        ? true
        : hashFraction(`simulate:${seed}:${what}:${leadId}:${stepId}`) < rate;

  // Mailbox state as the worker reads it: last slot, and slots per workspace day.
  // Kept in the worker's round-robin order (`leastRecentlyUsedFirst`): a mailbox that takes a slot
  // moves to its new place, rather than sorting them all for every send.
  const mailboxes = input.mailboxes
    .map((m) => ({ mailbox: { ...m, daySlots: 0, dayStart: Number.NaN, dayKey: '' }, recount: null }))
    .sort(leastRecentlyUsedFirst);
  const tookSlot = (row: (typeof mailboxes)[number], at: Date) => {
    mailboxes.splice(mailboxes.indexOf(row), 1);
    row.mailbox.lastSlotAt = at;
    let i = mailboxes.length;
    while (i > 0 && leastRecentlyUsedFirst(mailboxes[i - 1] as typeof row, row) > 0) i -= 1;
    mailboxes.splice(i, 0, row);
  };
  const slots = new Map<string, number>(); // `${mailboxId}|${dayStartIso}` → slots taken
  const startDay = dayBounds(input.start, wsTz).start.toISOString();
  for (const m of input.mailboxes) slots.set(`${m.id}|${startDay}`, m.bookedToday);
  const planned = new Map<string, number>(); // same key → slots this simulation's leads take
  const accounts = input.accounts.map((a) => ({ account: a, actions: [...a.actions] }));
  const accountDays = new Map<string, { visits: number; invites: number; messages: number }>();
  const cuts = new Map<string, Bottleneck>();
  const wsZone = zoneOf(wsTz);
  const dateOf = (t: Date) => localIsoDate(t.getTime(), wsZone);

  const cut = (date: string, who: { mailboxId?: string; accountId?: string }, limit: Bottleneck['limit']) => {
    const key = `${date}|${who.mailboxId ?? who.accountId}|${limit}`;
    const known = cuts.get(key);
    if (known) known.cut += 1;
    else cuts.set(key, { date, ...who, limit, cut: 1 });
  };

  const agenda = new Agenda();
  const states: LeadState[] = [...input.leads]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((lead, order) => ({
      lead,
      order: order + 1,
      result: {
        leadId: lead.id,
        timezone: leadTimezone(lead, definition, wsTz),
        status: 'unfinished',
        finishedAt: null,
        steps: [],
      },
      mailboxId: null,
      accountId: null,
      stage: lead.stage,
      opened: false,
      connected: null,
      runs: 0,
    }));
  // Who a reply stops with `stopCompanyOnReply`: the other leads of its company domain, as the
  // reply's effects do (free-mail domains are no company).
  const companies = new Map<string, LeadState[]>();
  if (definition.settings.stopCompanyOnReply)
    for (const s of states) {
      const domain = s.lead.companyDomain;
      if (!domain || FREE_MAIL.has(domain)) continue;
      const known = companies.get(domain);
      if (known) known.push(s);
      else companies.set(domain, [s]);
    }
  // An overdue run goes as soon as the clock starts.
  for (const b of input.booked)
    agenda.push({
      at: Math.max(b.at.getTime(), input.start.getTime()),
      order: 0,
      lead: null,
      index: -1,
      deferrals: 0,
      pin: b.mailboxId,
    });

  const calendar = { definition, workspaceTimezone: wsTz, workspaceCountry: input.workspaceCountry };
  const schedule = (s: LeadState, fromIndex: number, base: Date) => {
    const next = planNextRun({ ...calendar, lead: s.lead, fromIndex, base });
    if (!next) {
      s.result.status = 'completed';
      s.result.finishedAt = base.toISOString();
      return;
    }
    agenda.push({
      at: next.runAt.getTime(),
      order: s.order,
      lead: s,
      index: next.planned.index,
      deferrals: 0,
    });
  };
  for (const s of states) schedule(s, 0, input.start);

  /** The slots `row` has taken on the day starting at `dayStart` (its count, kept on the row). */
  const slotsOn = (row: (typeof mailboxes)[number], dayStart: Date) => {
    const t = dayStart.getTime();
    if (row.mailbox.dayStart !== t) {
      row.mailbox.dayStart = t;
      row.mailbox.dayKey = `${row.mailbox.id}|${dayStart.toISOString()}`;
      row.mailbox.daySlots = slots.get(row.mailbox.dayKey) ?? 0;
    }
    return row.mailbox.daySlots;
  };
  type SlotAnswer =
    | { ok: true; mailboxId: string; dayKey: string }
    | { ok: false; at: Date; mailboxId?: string; limit?: Bottleneck['limit'] }
    | { ok: false; blocked: string };
  // Once every mailbox a request may use is at its daily cap (or ramp), the answer holds until the
  // day ends: nothing frees a slot within the day. Kept per day and pin.
  let fullDay = -1;
  const fullAnswers = new Map<string, SlotAnswer>();

  /** Takes an email slot at `now`, as the email channel does; else when to look again and why. */
  function takeEmailSlot(
    now: Date,
    pins: { enrollmentMailboxId: string | null; stepMailboxId: string | undefined },
  ): SlotAnswer {
    const day = dayBounds(now, wsTz);
    const pinKey = `${pins.enrollmentMailboxId ?? ''}|${pins.stepMailboxId ?? ''}`;
    if (fullDay === day.start.getTime()) {
      const known = fullAnswers.get(pinKey);
      if (known) return known;
    } else {
      fullDay = day.start.getTime();
      fullAnswers.clear();
    }
    const choice = chooseMailboxes(mailboxes, pins);
    if (choice.kind === 'none') return { ok: false, blocked: 'no_mailbox' };
    if (choice.kind === 'paused') return { ok: false, blocked: 'mailbox_paused' };
    let earliest: { at: Date; mailboxId: string; limit: Bottleneck['limit'] } | null = null;
    let allCapped = true;
    for (const row of choice.mailboxes) {
      const recount = slotsOn(row, day.start);
      const decision = judge({ mailbox: row.mailbox, recount }, { now, day, timeZone: wsTz });
      if (decision.ok) {
        row.mailbox.daySlots = recount + 1;
        slots.set(row.mailbox.dayKey, recount + 1);
        tookSlot(row, now);
        return { ok: true, mailboxId: row.mailbox.id, dayKey: row.mailbox.dayKey };
      }
      if (decision.why === 'spacing') allCapped = false;
      const limit =
        decision.why === 'spacing'
          ? 'spacing'
          : decision.limit < row.mailbox.dailyLimit
            ? 'warmup'
            : 'daily_cap';
      if (!earliest || decision.at < earliest.at)
        earliest = { at: decision.at, mailboxId: row.mailbox.id, limit };
    }
    const answer: SlotAnswer = earliest ? { ok: false, ...earliest } : { ok: false, blocked: 'no_mailbox' };
    if (allCapped) fullAnswers.set(pinKey, answer);
    return answer;
  }

  const record = (s: LeadState, ev: Event, at: Date, step: ResolvedStep, extra: Partial<SimStep>) => {
    s.result.steps.push({
      stepId: step.id,
      type: step.type,
      index: ev.index,
      at: at.toISOString(),
      localAt: localIso(at.getTime(), zoneOf(s.result.timezone)),
      outcome: 'sent',
      ...(ev.deferrals > 0 ? { deferrals: ev.deferrals } : {}),
      ...extra,
    });
  };
  const stop = (s: LeadState, status: SimLeadResult['status'], at: Date, reason?: string) => {
    s.result.status = status;
    s.result.finishedAt = at.toISOString();
    if (reason) s.result.reason = reason;
    if (status !== 'replied' || !s.lead.companyDomain) return;
    for (const colleague of companies.get(s.lead.companyDomain) ?? [])
      if (colleague !== s && colleague.result.status === 'unfinished')
        stop(colleague, 'stopped', at, 'company_replied');
  };
  const defer = (s: LeadState, ev: Event, step: ResolvedStep, at: Date) => {
    const runAt = windowed(at, { ...calendar, lead: s.lead, step });
    agenda.push({ ...ev, at: runAt.getTime(), deferrals: ev.deferrals + 1 });
  };

  let events = 0;
  for (let ev = agenda.pop(); ev; ev = agenda.pop()) {
    events += 1;
    if (events > MAX_SIMULATED_EVENTS) throw new SimulationTooLarge();
    if (events % EVENTS_PER_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
    const now = new Date(ev.at);
    const s = ev.lead;
    if (!s) {
      // Another enrollment's email: it takes a slot (or waits for one) and is not reported.
      if (ev.at > horizon) continue;
      const taken = takeEmailSlot(now, { enrollmentMailboxId: ev.pin ?? null, stepMailboxId: undefined });
      if (!taken.ok && 'at' in taken) agenda.push({ ...ev, at: taken.at.getTime() });
      continue;
    }
    if (ev.at > horizon) continue; // stays `unfinished`
    if (s.result.status !== 'unfinished') continue; // stopped meanwhile: its colleague replied
    const step = definition.steps[ev.index];
    if (!step) continue;
    // Sequences only jump forward, so no step runs twice: one that would is a cycle.
    if (ev.deferrals === 0 && ++s.runs > definition.steps.length) {
      stop(s, 'blocked', now, 'cycle');
      continue;
    }
    if (internalStepTypes.has(step.type)) {
      const following = ev.index + 1;
      let nextIndex = following;
      let branch: 'then' | 'else' | undefined;
      if (step.type === 'branch') {
        const c = step.if;
        const taken =
          'opened' in c
            ? s.opened
            : 'clicked' in c
              ? s.opened && happens(assume.openRate, 'click', s.lead.id, step.id)
              : 'linkedinConnected' in c
                ? s.connected === true
                : 'hasEmail' in c
                  ? Boolean(s.lead.email)
                  : 'hasLinkedin' in c
                    ? Boolean(s.lead.linkedinUrl)
                    : c.stageIn.includes(s.stage);
        branch = taken ? 'then' : 'else';
        const target = taken ? step.then : step.else;
        nextIndex = target ? stepIndexById(definition, target) : following;
      } else if (step.type === 'end') nextIndex = definition.steps.length;
      else if (step.type === 'goto') nextIndex = stepIndexById(definition, step.to);
      else if (step.type === 'stage') s.stage = step.stage;
      record(s, ev, now, step, { outcome: 'done', ...(branch ? { branch } : {}) });
      schedule(s, nextIndex, now);
      continue;
    }
    if (step.type === 'email') {
      if (!s.lead.email) {
        record(s, ev, now, step, { outcome: 'failed', reason: 'no_email' });
        schedule(s, ev.index + 1, now);
        continue;
      }
      const taken = takeEmailSlot(now, { enrollmentMailboxId: s.mailboxId, stepMailboxId: step.mailboxId });
      if (!taken.ok) {
        if ('blocked' in taken) {
          stop(s, 'blocked', now, taken.blocked);
          continue;
        }
        if (taken.mailboxId && taken.limit) {
          // A spacing wait only cuts the day's volume when it pushes the send into another day.
          const pushedOver = dateOf(windowed(taken.at, { ...calendar, lead: s.lead, step })) !== dateOf(now);
          if (taken.limit !== 'spacing' || pushedOver)
            cut(dateOf(now), { mailboxId: taken.mailboxId }, taken.limit);
        }
        defer(s, ev, step, taken.at);
        continue;
      }
      planned.set(taken.dayKey, (planned.get(taken.dayKey) ?? 0) + 1);
      s.mailboxId = taken.mailboxId;
      record(s, ev, now, step, { mailboxId: taken.mailboxId });
      if (happens(assume.bounceRate, 'bounce', s.lead.id, step.id)) {
        stop(s, 'bounced', now);
        continue;
      }
      if (happens(assume.openRate, 'open', s.lead.id, step.id)) s.opened = true;
      if (definition.settings.stopOnReply && happens(assume.replyRate, 'reply', s.lead.id, step.id)) {
        stop(s, 'replied', now);
        continue;
      }
      schedule(s, ev.index + 1, now);
      continue;
    }
    const kind = kindOf[step.type];
    if (!kind) {
      record(s, ev, now, step, { outcome: 'failed', reason: `unsupported_step:${step.type}` });
      schedule(s, ev.index + 1, now);
      continue;
    }
    if (!s.lead.linkedinUrl) {
      record(s, ev, now, step, { outcome: 'failed', reason: 'no_linkedin_url' });
      schedule(s, ev.index + 1, now);
      continue;
    }
    // The enrollment's account, else the least busy active one (as the LinkedIn channel picks).
    const dayAgo = ev.at - 86_400_000;
    const own = accounts.find((a) => a.account.id === s.accountId);
    const account =
      own ??
      accounts
        .filter((a) => a.account.status === 'active')
        .map((a) => ({ ...a, recent: a.actions.filter((x) => x.at.getTime() > dayAgo).length }))
        .sort(leastBusyFirst)[0];
    if (account?.account.status !== 'active') {
      stop(s, 'blocked', now, account ? `account_${account.account.status}` : NO_ACCOUNT);
      continue;
    }
    const hours = account.account.workingHours;
    if (hours) {
      const tz = resolveTimezone(hours.timezone);
      const seedOf = spreadSeed(s.lead.id, step.id);
      const opens = nextWindowTime(now, { ...hours, timezone: tz }, tz, { seed: seedOf });
      if (opens.getTime() > now.getTime()) {
        defer(s, ev, step, opens);
        continue;
      }
    }
    const rule = actionWindows[kind];
    const free = slotFreeAt(
      account.actions.filter((a) => a.kind === kind).map((a) => a.at),
      rule.limit(effectiveLimits(account.account.limits)),
      rule.windowMs,
      now,
    );
    if (free) {
      cut(dateOf(now), { accountId: account.account.id }, limitNames[kind]);
      defer(s, ev, step, free);
      continue;
    }
    s.accountId = account.account.id;
    if (kind === 'message' && s.connected === false) {
      record(s, ev, now, step, { outcome: 'failed', reason: 'not_connected', accountId: account.account.id });
      schedule(s, ev.index + 1, now);
      continue;
    }
    account.actions.push({ kind, at: now });
    const dayKey = `${account.account.id}|${dateOf(now)}`;
    const usage = accountDays.get(dayKey) ?? { visits: 0, invites: 0, messages: 0 };
    usage[`${kind}s`] += 1;
    accountDays.set(dayKey, usage);
    if (kind === 'invite') {
      s.connected = happens(assume.connectRate, 'connect', s.lead.id, step.id);
    }
    record(s, ev, now, step, { accountId: account.account.id });
    if (
      kind === 'message' &&
      definition.settings.stopOnReply &&
      happens(assume.replyRate, 'reply', s.lead.id, step.id)
    ) {
      stop(s, 'replied', now);
      continue;
    }
    schedule(s, ev.index + 1, now);
  }

  return summarise(input, states, { slots, planned, accountDays, cuts });
}

function summarise(
  input: SimInput,
  states: LeadState[],
  tally: {
    slots: Map<string, number>;
    planned: Map<string, number>;
    accountDays: Map<string, { visits: number; invites: number; messages: number }>;
    cuts: Map<string, Bottleneck>;
  },
): SimResult {
  const wsTz = input.workspaceTimezone;
  const days = new Map<string, SimDay>();
  const dayOf = (date: string) => {
    let d = days.get(date);
    if (!d) {
      d = { date, planned: 0, mailboxes: [], accounts: [] };
      days.set(date, d);
    }
    return d;
  };
  const byId = new Map(input.mailboxes.map((m) => [m.id, m]));
  for (const [key, total] of tally.slots) {
    const [mailboxId = '', dayStart = ''] = key.split('|');
    const mailbox = byId.get(mailboxId);
    const mine = tally.planned.get(key) ?? 0;
    if (!mailbox || total === 0) continue;
    const start = new Date(dayStart);
    const date = DateTime.fromJSDate(start, { zone: zoneOf(wsTz) }).toISODate() ?? '';
    const day = dayOf(date);
    day.planned += mine;
    day.mailboxes.push({
      mailboxId,
      planned: mine,
      booked: total - mine,
      cap: effectiveDailyLimit(mailbox, start, wsTz),
    });
  }
  for (const [key, usage] of tally.accountDays) {
    const [accountId = '', date = ''] = key.split('|');
    const day = dayOf(date);
    day.planned += usage.visits + usage.invites + usage.messages;
    day.accounts.push({ accountId, ...usage });
  }
  const sortedDays = [...days.values()].sort((a, b) => (a.date < b.date ? -1 : 1));
  for (const d of sortedDays) d.mailboxes.sort((a, b) => (a.mailboxId < b.mailboxId ? -1 : 1));
  const bottlenecks = [...tally.cuts.values()].sort((a, b) =>
    a.date !== b.date ? (a.date < b.date ? -1 : 1) : b.cut - a.cut,
  );
  const leads = states.map((s) => s.result);
  const done = leads.filter((l) => l.status !== 'unfinished' && l.finishedAt);
  const finishesAt =
    done.length === leads.length && done.length > 0
      ? (done
          .map((l) => l.finishedAt ?? '')
          .sort()
          .at(-1) ?? null)
      : null;
  return {
    leads,
    days: sortedDays,
    finishesAt,
    bottlenecks,
    summary: sentence(leads, finishesAt, bottlenecks),
  };
}

const limitWords: Record<Bottleneck['limit'], string> = {
  daily_cap: 'daily cap',
  warmup: 'warm-up ramp',
  spacing: 'spacing between sends',
  linkedin_invitations: 'weekly LinkedIn invitation limit',
  linkedin_messages: 'daily LinkedIn message limit',
  linkedin_visits: 'daily LinkedIn visit limit',
};

/** One sentence a person reads first: when it ends, and what holds it back most. */
function sentence(leads: SimLeadResult[], finishesAt: string | null, bottlenecks: Bottleneck[]): string {
  const unfinished = leads.filter((l) => l.status === 'unfinished').length;
  const blocked = leads.filter((l) => l.status === 'blocked').length;
  const parts: string[] = [];
  if (leads.length === 0) return 'No lead to simulate.';
  parts.push(
    finishesAt
      ? `${leads.length} lead(s) finish by ${finishesAt}.`
      : `${unfinished} of ${leads.length} lead(s) are still going after ${HORIZON_DAYS} days.`,
  );
  if (blocked > 0) parts.push(`${blocked} lead(s) cannot proceed (no mailbox or account to send with).`);
  if (bottlenecks.length > 0) {
    const totals = new Map<string, { b: Bottleneck; cut: number; days: number }>();
    for (const b of bottlenecks) {
      const key = `${b.mailboxId ?? b.accountId}|${b.limit}`;
      const t = totals.get(key) ?? { b, cut: 0, days: 0 };
      t.cut += b.cut;
      t.days += 1;
      totals.set(key, t);
    }
    const worst = [...totals.values()].sort((a, b) => b.cut - a.cut)[0];
    if (worst) {
      const who = worst.b.mailboxId
        ? `mailbox ${worst.b.mailboxId}`
        : `LinkedIn account ${worst.b.accountId}`;
      parts.push(
        `The main bottleneck is the ${limitWords[worst.b.limit]} of ${who}: ${worst.cut} send(s) put off over ${worst.days} day(s), first on ${worst.b.date}.`,
      );
    }
  } else parts.push('No limit cuts any day’s volume.');
  return parts.join(' ');
}
