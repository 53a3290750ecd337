import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stepRuns } from '../../src/db/schema/index';
import { account, settle } from './support/ledger';
import type { VerdictFault } from './support/smtp-proxy';
import { report } from './support/summary';
import { type FaultWorld, startCadence, startFaultWorld } from './support/world';

const LEADS = 60;
/** The workers give up on a silent server after this; the late answer comes 2 s later still. */
const SMTP_TIMEOUT_SECONDS = 3;
/** What happens to each lead's first message, by lead index modulo 6 (4 and 5: nothing). */
const faults = ['drop after accept', 'answer past the timeout', '451 then ok', 'no answer'] as const;
type Fault = (typeof faults)[number];

describe('fault 4: the SMTP server drops connections and answers late', () => {
  let world: FaultWorld;
  beforeAll(async () => {
    world = await startFaultWorld({ SMTP_TIMEOUT_SECONDS: String(SMTP_TIMEOUT_SECONDS) });
  });
  afterAll(() => world?.close());

  it('a send the server may have taken is ambiguous, never repeated; a refused one is retried once', async (context) => {
    await world.startWorker();
    const faultOf = new Map<string, Fault>();
    const once = new Set<string>();
    // The first message to a faulted lead meets its fault; later ones (retries, next steps) pass.
    const first = (to: string): Fault | null => {
      const fault = faultOf.get(to);
      if (!fault || once.has(to)) return null;
      once.add(to);
      return fault;
    };
    world.proxy.setFault((to): VerdictFault => {
      const fault = faultOf.get(to);
      if (fault === 'drop after accept' && first(to)) return 'drop';
      if (fault === 'answer past the timeout' && first(to))
        return { delayMs: (SMTP_TIMEOUT_SECONDS + 2) * 1000 };
      return 'pass';
    });
    world.sink.setBehaviour(({ envelopeTo: [to = ''] }) => {
      const fault = faultOf.get(to);
      if (fault === '451 then ok' && first(to)) return { code: 451, message: 'try again later' };
      if (fault === 'no answer' && first(to)) return { dropConnection: true };
      return undefined;
    });
    const cadence = await startCadence(world, LEADS, { waitSeconds: 2, firstAfterSeconds: 2 });
    cadence.leads.forEach((lead, i) => {
      const fault = faults[i % 6];
      if (fault) faultOf.set(lead.email, fault);
    });
    await settle(world, cadence);

    const { row, problems } = await account(world, cadence, '4. SMTP drop/late/451/no answer, 60 leads');
    report(context, row);
    expect(problems).toEqual([]);
    expect(row.duplicates).toBe(0);
    expect(row.lost).toBe(0);
    // Every fault was met once (the proxy and the sink saw each lead's first message).
    expect(once.size).toBe(faultOf.size);
    const ambiguous = await world.engine.deps.db
      .select({ enrollmentId: stepRuns.enrollmentId })
      .from(stepRuns)
      .where(and(inArray(stepRuns.enrollmentId, cadence.enrollmentIds), eq(stepRuns.status, 'ambiguous')));
    const leadOf = new Map(cadence.leads.map((l) => [l.enrollmentId, l.email]));
    const ambiguousFaults = ambiguous.map((r) => faultOf.get(leadOf.get(r.enrollmentId) ?? '')).sort();
    // Ambiguous exactly where the server may have the message: dropped or late after the body, or silent.
    expect(ambiguousFaults).toEqual(
      [
        ...Array(10).fill('answer past the timeout'),
        ...Array(10).fill('drop after accept'),
        ...Array(10).fill('no answer'),
      ].sort(),
    );
    // The 451s were retried and then sent, with the clean leads: 30 leads × 3 emails.
    expect(row.sent).toBe(90);
    expect(row.held).toBe(60);
  });
});
