import { spawn } from 'node:child_process';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollments, stepRuns } from '../../src/db/schema/index';
import { maintenancePass } from '../../src/engine/maintenance';
import { enqueueStepRuns } from '../../src/queue/queues';
import { freePort, repoRoot, startPrivateRedis, type PrivateRedis } from '../platform/support';
import { channelMap, recordingChannel } from '../helpers/channels';
import { createTestWorkspace, startTestEngine, waitFor } from '../helpers/engine';
import { insertLeads } from '../helpers/factories';
import { createActiveSequence, enrollLeads } from '../helpers/sequences';

describe('crash and Redis loss', () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await startPrivateRedis(await freePort());
  });
  afterAll(() => redis.stop());

  it('loses no step on FLUSHALL mid-run: the reconciler restores them and each runs exactly once', async () => {
    const channel = recordingChannel();
    const engine = await startTestEngine({
      workers: true,
      channels: channelMap(channel),
      env: { REDIS_URL: redis.url, MAINTENANCE_INTERVAL_SECONDS: '0.5' },
    });
    try {
      const ws = await createTestWorkspace(engine.app);
      const leads = await insertLeads(engine.deps.db, ws.id, 30);
      const sequenceId = await createActiveSequence(engine.app, ws, {
        steps: [
          { id: 'one', type: 'email', subject: 'a', body: 'a' },
          { type: 'wait', seconds: 3 },
          { id: 'two', type: 'email', subject: 'b', body: 'b' },
        ],
      });
      await enrollLeads(
        engine.app,
        ws,
        sequenceId,
        leads.map((l) => l.id),
      );
      await waitFor(async () => channel.sends.filter((s) => s.stepId === 'one').length === 30, {
        what: 'first steps',
      });
      // Every second step now sits in Redis as a delayed job; wipe them all.
      await engine.deps.redis.flushall();
      await waitFor(
        async () => {
          const rows = await engine.deps.db
            .select({ status: enrollments.status })
            .from(enrollments)
            .where(eq(enrollments.sequenceId, sequenceId));
          return rows.length === 30 && rows.every((r) => r.status === 'completed');
        },
        { timeoutMs: 40_000, what: 'all enrollments completed after FLUSHALL' },
      );
      const perStep = new Map<string, number>();
      for (const s of channel.sends)
        perStep.set(`${s.enrollmentId}:${s.stepId}`, (perStep.get(`${s.enrollmentId}:${s.stepId}`) ?? 0) + 1);
      expect(perStep.size).toBe(60);
      expect(Math.max(...perStep.values())).toBe(1);
    } finally {
      await engine.close();
    }
  });

  type Engine = Awaited<ReturnType<typeof startTestEngine>>;
  const sharedEnv = (engine: Engine) => ({
    DATABASE_URL: engine.config.DATABASE_URL,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: engine.config.QUEUE_PREFIX,
    ENCRYPTION_KEY: engine.config.ENCRYPTION_KEY ?? '',
    STEP_LEASE_SECONDS: '2',
  });

  /** A worker process (test/helpers/worker-child.ts) whose channel never answers, on `engine`'s database and queue. */
  async function startChild(engine: Engine, channel: 'hang' | 'before-handoff') {
    // node --import tsx, not npx: one process, so SIGKILL reaches the worker itself.
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/worker-child.ts'], {
      cwd: repoRoot,
      env: { ...process.env, ...sharedEnv(engine), CHILD_CHANNEL: channel, LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    const kill = async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    };
    try {
      await waitFor(async () => child.stdout?.read()?.toString().includes('ready'), {
        timeoutMs: 30_000,
        what: 'child ready',
      });
    } catch (err) {
      await kill();
      throw err;
    }
    return { kill };
  }

  /** One lead enrolled in a one-email sequence; resolves once a worker has claimed its run and reached `handoff`. */
  async function enrollOneAndAwaitClaim(engine: Engine, handoff: 'pending' | 'started') {
    const ws = await createTestWorkspace(engine.app);
    const [lead] = await insertLeads(engine.deps.db, ws.id, 1);
    if (!lead) throw new Error('no lead');
    const sequenceId = await createActiveSequence(engine.app, ws, {
      steps: [{ id: 'only', type: 'email', subject: 'a', body: 'a' }],
    });
    const enrolled = await enrollLeads(engine.app, ws, sequenceId, [lead.id]);
    const enrollmentId = enrolled.enrolled[0]?.enrollmentId ?? '';
    const claimed = await waitFor(
      async () => {
        const [run] = await engine.deps.db
          .select()
          .from(stepRuns)
          .where(eq(stepRuns.enrollmentId, enrollmentId));
        return run?.status === 'claimed' && run.handoff === handoff ? run : null;
      },
      { what: `the child to claim the run (hand-off ${handoff})` },
    );
    return { ws, enrollmentId, claimed };
  }

  /** A worker of the test's own with `channel`, sharing `engine`'s database and queue, and its reconciler. */
  const startSurvivor = (engine: Engine, channel: ReturnType<typeof recordingChannel>) =>
    startTestEngine({
      workers: true,
      channels: channelMap(channel),
      env: { ...sharedEnv(engine), MAINTENANCE_INTERVAL_SECONDS: '0.5' },
    });

  /** Resolves with the run once it has `status`. */
  const runReaches = (engine: Engine, id: string, status: string, what: string) =>
    waitFor(
      async () => {
        const [run] = await engine.deps.db.select().from(stepRuns).where(eq(stepRuns.id, id));
        return run?.status === status ? run : null;
      },
      { what },
    );

  it('leaves a run ambiguous, never sent twice, when its worker is SIGKILLed between claim and commit', async () => {
    const channel = recordingChannel();
    // This engine serves the API and, later, the reconciler; the child process does the sending.
    const engine = await startTestEngine({ env: { REDIS_URL: redis.url, STEP_LEASE_SECONDS: '2' } });
    let child: Awaited<ReturnType<typeof startChild>> | undefined;
    try {
      child = await startChild(engine, 'hang');
      // The engine recorded the hand-off before calling the channel, which then hangs.
      const { ws, enrollmentId, claimed } = await enrollOneAndAwaitClaim(engine, 'started');
      await child.kill();

      // A worker of our own with a real channel now, and the lease expiry seen by the reconciler.
      const survivor = await startSurvivor(engine, channel);
      try {
        const ambiguous = await runReaches(engine, claimed.id, 'ambiguous', 'ambiguous after lease expiry');
        expect(ambiguous.reason).toBe('lease_expired');
        // The stalled job comes back, and someone re-adds it by hand too: still nothing is sent.
        await enqueueStepRuns(survivor.deps.queues, [claimed]);
        await maintenancePass(survivor.deps);
        await new Promise((r) => setTimeout(r, 1500));
        expect(channel.sends).toHaveLength(0);
        const [after] = await engine.deps.db.select().from(stepRuns).where(eq(stepRuns.id, claimed.id));
        expect(after?.status).toBe('ambiguous');

        // The operator finds it and settles it; the sequence then moves on (here: completes).
        const listed = await survivor.app.inject({
          method: 'GET',
          url: '/v1/step-runs?status=ambiguous',
          headers: ws.auth,
        });
        expect(listed.json<{ data: { id: string }[] }>().data.map((r) => r.id)).toEqual([claimed.id]);
        const resolve = (outcome: string) =>
          survivor.app.inject({
            method: 'POST',
            url: `/v1/step-runs/${claimed.id}/resolve`,
            headers: ws.auth,
            payload: { outcome },
          });
        expect((await resolve('skipped')).statusCode).toBe(200);
        expect((await resolve('sent')).statusCode).toBe(409);
        const [enrollment] = await engine.deps.db
          .select()
          .from(enrollments)
          .where(eq(enrollments.id, enrollmentId));
        expect(enrollment?.status).toBe('completed');
        expect(channel.sends).toHaveLength(0);
      } finally {
        await survivor.close();
      }
    } finally {
      await child?.kill();
      await engine.close();
    }
  });

  it('runs a step again, once, when its worker is SIGKILLed before the hand-off', async () => {
    const channel = recordingChannel();
    const engine = await startTestEngine({ env: { REDIS_URL: redis.url, STEP_LEASE_SECONDS: '2' } });
    let child: Awaited<ReturnType<typeof startChild>> | undefined;
    try {
      child = await startChild(engine, 'before-handoff');
      const { claimed } = await enrollOneAndAwaitClaim(engine, 'pending');
      await child.kill();
      const survivor = await startSurvivor(engine, channel);
      try {
        const sent = await runReaches(
          engine,
          claimed.id,
          'sent',
          'the run to be run again after its lease ran out',
        );
        expect(channel.sends.map((s) => s.stepRunId)).toEqual([claimed.id]);
        // A new generation (the dead claim can record nothing), and the lost attempt not counted.
        expect(sent).toMatchObject({ generation: claimed.generation + 1, attempts: 1 });
      } finally {
        await survivor.close();
      }
    } finally {
      await child?.kill();
      await engine.close();
    }
  });
});
