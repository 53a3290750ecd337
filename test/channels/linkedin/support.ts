import { createLinkedInChannel } from '../../../src/channels/linkedin/linkedin.channel';
import { configureLinkedInRuntime } from '../../../src/channels/linkedin/runtime';
import type { Channel } from '../../../src/engine/channel';
import { startTestEngine, type TestEngine, type TestWorkspace } from '../../helpers/engine';
import { type LinkedInSite, startLinkedInSite } from '../../fixtures/linkedin-site/site';

/** Short pauses and waits: the fixture answers at once, and tests should not sleep for realism. */
export const fastRuntime = (engine: TestEngine) =>
  configureLinkedInRuntime(engine.deps, {
    pacing: { minMs: 0, maxMs: 15 },
    timeoutMs: 5_000,
    lockWaitMs: 1_000,
  });

export type LinkedInChannelTest = {
  site: LinkedInSite;
  engine: TestEngine;
  channel: Channel;
  close(): Promise<void>;
};

/** The fixture site, an engine without workers pointed at it, and the real LinkedIn channel. */
export async function startLinkedInChannelTest(): Promise<LinkedInChannelTest> {
  const site = await startLinkedInSite();
  const engine = await startTestEngine({ env: { LINKEDIN_BASE_URL: site.url } });
  await fastRuntime(engine);
  const channel = createLinkedInChannel(engine.deps);
  return {
    site,
    engine,
    channel,
    async close() {
      await channel.close?.();
      await engine.close();
      await site.close();
    },
  };
}

/** Adds an account through the API with the fixture's session cookie (or another one). */
export async function addAccount(
  engine: TestEngine,
  ws: TestWorkspace,
  site: LinkedInSite,
  body: Record<string, unknown> = {},
): Promise<{ id: string }> {
  const res = await engine.app.inject({
    method: 'POST',
    url: '/v1/linkedin-accounts',
    headers: ws.auth,
    payload: { name: 'Sales', liAt: site.liAt, ...body },
  });
  if (res.statusCode !== 201) throw new Error(`account create failed: ${res.statusCode} ${res.body}`);
  return res.json<{ id: string }>();
}
