import { createEmailChannel } from '../src/channels/email/email.channel';
import { createLinkedInChannel } from '../src/channels/linkedin/linkedin.channel';
import type { Deps } from '../src/context';
import type { Channel } from '../src/engine/channel';
import type { Channels } from '../src/engine/step-runner';

/** The product's channels, by step type. One line per channel. */
export function createChannels(deps: Deps): Channels {
  const channels: Channel[] = [createEmailChannel(deps), createLinkedInChannel(deps)];
  return new Map(channels.flatMap((c) => c.stepTypes.map((t) => [t, c] as const)));
}
