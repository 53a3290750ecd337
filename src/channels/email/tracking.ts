import { eq } from 'drizzle-orm';
import type { Deps } from '../../context';
import { messages } from '../../db/schema/index';
import type { Secrets } from '../../lib/crypto';
import { recordEvent } from '../../timeline/events';
import { rewriteLinks, trackableLinks, withPixel } from './tracking-links';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Tokens name the message row and (for clicks) the link's position; the signature makes them unforgeable. */
const openToken = (secrets: Secrets, messageRowId: string) =>
  `${messageRowId}.${secrets.sign('track-open', messageRowId)}`;
const clickToken = (secrets: Secrets, messageRowId: string, index: number) =>
  `${messageRowId}.${index}.${secrets.sign('track-click', `${messageRowId}.${index}`)}`;

function readOpenToken(secrets: Secrets, token: string): string | null {
  const [id, sig, extra] = token.split('.');
  if (!id || !sig || extra !== undefined || !UUID.test(id)) return null;
  return secrets.verify('track-open', id, sig) ? id : null;
}

function readClickToken(secrets: Secrets, token: string): { id: string; index: number } | null {
  const [id, index, sig, extra] = token.split('.');
  if (!id || !index || !sig || extra !== undefined || !UUID.test(id) || !/^\d{1,4}$/.test(index)) return null;
  return secrets.verify('track-click', `${id}.${index}`, sig) ? { id, index: Number(index) } : null;
}

const base = (deps: Pick<Deps, 'config'>) => deps.config.PUBLIC_URL.replace(/\/+$/, '');

/**
 * The HTML that goes on the wire: links point at the click redirect and an open pixel is added, each
 * only when the sequence asked for it. The stored body stays the original, and the redirect reads its
 * targets from it, so a redirect can only ever lead to a link that was in the sent email.
 */
export function applyTracking(
  deps: Pick<Deps, 'config' | 'secrets'>,
  input: { messageRowId: string; html: string; opens: boolean; clicks: boolean },
): string {
  let html = input.html;
  if (input.clicks) {
    html = rewriteLinks(html, (i) => `${base(deps)}/t/c/${clickToken(deps.secrets, input.messageRowId, i)}`);
  }
  if (input.opens) html = withPixel(html, `${base(deps)}/t/o/${openToken(deps.secrets, input.messageRowId)}`);
  return html;
}

async function outboundMessage(deps: Pick<Deps, 'db'>, id: string) {
  const [row] = await deps.db.select().from(messages).where(eq(messages.id, id));
  return row && row.direction === 'outbound' ? row : null;
}

const eventFields = (row: NonNullable<Awaited<ReturnType<typeof outboundMessage>>>) => ({
  workspaceId: row.workspaceId,
  leadId: row.leadId,
  enrollmentId: row.enrollmentId,
  stepRunId: row.stepRunId,
});

/** Records `email.opened`; false when the token is not ours or the message is gone. */
export async function recordOpen(deps: Pick<Deps, 'db' | 'secrets'>, token: string): Promise<boolean> {
  const id = readOpenToken(deps.secrets, token);
  const row = id ? await outboundMessage(deps, id) : null;
  if (!row) return false;
  await recordEvent(deps.db, {
    ...eventFields(row),
    type: 'email.opened',
    data: { messageId: row.messageId },
  });
  return true;
}

/** Records `email.clicked` and returns the link's target, or null (unknown token, link or message). */
export async function resolveClick(
  deps: Pick<Deps, 'db' | 'secrets'>,
  token: string,
): Promise<string | null> {
  const ref = readClickToken(deps.secrets, token);
  const row = ref ? await outboundMessage(deps, ref.id) : null;
  const url = ref && row ? trackableLinks(row.bodyHtml ?? '')[ref.index] : undefined;
  if (!row || !url) return null;
  await recordEvent(deps.db, {
    ...eventFields(row),
    type: 'email.clicked',
    data: { messageId: row.messageId, url },
  });
  return url;
}
