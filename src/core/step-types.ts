/**
 * The one list of step types that run on a channel: which channel runs each, the event a sent step
 * leaves on the timeline, and whether a reply after it is credited to it (reply rates per step).
 * The engine, the plan, the stats and the channels all read it; a new channel adds its step types
 * here and its code under src/channels/<name>/ (docs/architecture.md, "Adding a channel").
 */
export const channelSteps = {
  email: { channel: 'email', sentEvent: 'message.sent', repliedTo: true },
  linkedin_visit: { channel: 'linkedin', sentEvent: 'linkedin.profile_visited', repliedTo: false },
  linkedin_invite: { channel: 'linkedin', sentEvent: 'linkedin.invite_sent', repliedTo: true },
  linkedin_message: { channel: 'linkedin', sentEvent: 'message.sent', repliedTo: true },
} as const satisfies Record<string, { channel: string; sentEvent: string; repliedTo: boolean }>;

export type ChannelStepType = keyof typeof channelSteps;
type ChannelName = (typeof channelSteps)[ChannelStepType]['channel'];

const entries = Object.entries(channelSteps) as [ChannelStepType, (typeof channelSteps)[ChannelStepType]][];

/** Step types that reach the lead through a channel: the sending window applies to them. */
export const channelStepTypes: ReadonlySet<string> = new Set(entries.map(([type]) => type));

/** The step types one channel runs. */
export const stepTypesOf = (channel: ChannelName): ChannelStepType[] =>
  entries.filter(([, spec]) => spec.channel === channel).map(([type]) => type);

/** The event a sent step of this type records; `step.completed` for a type not listed. */
export const sentEventOf = (stepType: string): string =>
  (channelSteps as Record<string, { sentEvent: string }>)[stepType]?.sentEvent ?? 'step.completed';

/** Step types a reply is credited to. */
export const repliedToStepTypes: readonly string[] = entries
  .filter(([, spec]) => spec.repliedTo)
  .map(([type]) => type);

/**
 * Events that prove the lead is connected to the sender on LinkedIn (an accepted invitation, or a
 * profile seen as a 1st-degree connection): the `linkedinConnected` branch condition reads them.
 */
export const connectedEventTypes = ['linkedin.invite_accepted', 'linkedin.connected'] as const;
