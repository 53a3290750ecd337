import { createEmailChannel } from '../channels/email/email.channel';
import { createLinkedInChannel } from '../channels/linkedin/linkedin-channel';
import type { Deps } from '../context';
import type { Channel } from './channel';
import type { Channels } from './step-runner';

/** The product's channels, by step type. One line per channel. */
export function createChannels(deps: Deps): Channels {
  const channels: Channel[] = [createEmailChannel(deps), createLinkedInChannel(deps)];
  return new Map(channels.flatMap((c) => c.stepTypes.map((t) => [t, c] as const)));
}
