import type { Channel, ChannelResult, StepContext } from '../../src/engine/channel';
import { startTestEngine, type TestEngine } from './engine';

export type RecordedSend = {
  stepRunId: string;
  enrollmentId: string;
  leadId: string;
  stepId: string;
  stepType: string;
  dueAt: Date;
  runAt: Date;
  at: Date;
};

export type RecordingChannel = Channel & {
  sends: RecordedSend[];
  /** Decides each call's result; default: sent. */
  respond: (ctx: StepContext) => Promise<ChannelResult> | ChannelResult;
};

/**
 * The test-only `log` channel (issue 4 allows it in tests, never as a product default): it records
 * every call in memory and answers `sent`, or whatever `respond` says.
 */
export function recordingChannel(
  stepTypes: readonly string[] = ['email', 'linkedin_visit', 'linkedin_invite', 'linkedin_message'],
): RecordingChannel {
  const channel: RecordingChannel = {
    stepTypes,
    sends: [],
    respond: () => ({ kind: 'sent' }),
    async send(ctx) {
      channel.sends.push({
        stepRunId: ctx.run.id,
        enrollmentId: ctx.enrollment.id,
        leadId: ctx.lead.id,
        stepId: ctx.step.id,
        stepType: ctx.step.type,
        dueAt: ctx.run.dueAt,
        runAt: ctx.run.runAt,
        at: new Date(),
      });
      return channel.respond(ctx);
    },
  };
  return channel;
}

export const channelMap = (...channels: Channel[]) =>
  new Map(channels.flatMap((c) => c.stepTypes.map((t) => [t, c] as const)));

/**
 * A test engine with workers whose channels only record: the set-up the engine tests share. The
 * maintenance loop runs every half second, so a run brought due is picked up at once.
 */
export async function startRecordingEngine(): Promise<{ engine: TestEngine; channel: RecordingChannel }> {
  const channel = recordingChannel();
  const engine = await startTestEngine({
    workers: true,
    channels: channelMap(channel),
    env: { MAINTENANCE_INTERVAL_SECONDS: '0.5' },
  });
  return { engine, channel };
}
