import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { z } from 'zod';
import { hostKey } from '../../lib/allowed-targets';
import {
  BLOCKED_TARGET,
  BlockedTargetError,
  isBlockedTarget,
  isPrivateAddress,
  type OutboundTargets,
} from '../../lib/outbound-targets';

const REQUEST_TIMEOUT_MS = 15_000;
const MAX_ANSWER_BYTES = 64 * 1024;
const MAX_REASON_CHARS = 500;
/** When a provider leaves out `expires_in`: the lifetime Google and Microsoft both issue. */
const DEFAULT_LIFETIME_S = 3600;

/**
 * What a token endpoint said: a token, a refusal (a 4xx: revoked grant, wrong client, or a token
 * URL that cannot be used), a failure worth trying again later (5xx, 429, 408, network, timeout), or
 * an address the outbound guard refused. A reason is one line of at most 500 characters, in the
 * provider's words where it gave some, and never contains a secret that was sent.
 */
export type TokenAnswer =
  | { kind: 'token'; accessToken: string; expiresInS: number; refreshToken: string | null }
  | { kind: 'refused' | 'unavailable' | 'blocked'; reason: string };

/** A refresh-token grant (RFC 6749 §6) posted to `url`; `secrets` are scrubbed from every reason. */
export async function requestToken(
  targets: OutboundTargets,
  url: string,
  form: URLSearchParams,
  secrets: string[],
): Promise<TokenAnswer> {
  const scrub = (text: string) => scrubbed(text, secrets);
  let reply: { status: number; body: string };
  try {
    reply = await post(targets, url, form.toString());
  } catch (err) {
    if (isBlockedTarget(err)) return { kind: 'blocked', reason: BLOCKED_TARGET };
    if (err instanceof TokenUrlError) return { kind: 'refused', reason: err.message };
    return { kind: 'unavailable', reason: scrub(err instanceof Error ? err.message : String(err)) };
  }
  return judgeAnswer(reply, scrub);
}

function judgeAnswer(reply: { status: number; body: string }, scrub: (text: string) => string): TokenAnswer {
  const json = parseObject(reply.body);
  const said = json && typeof json.error === 'string' ? scrub(describe(json)) : null;
  const { status } = reply;
  if (status >= 200 && status < 300) {
    const accessToken = json?.access_token;
    if (typeof accessToken === 'string' && accessToken.length > 0) {
      // Some providers send the lifetime as a string.
      const lifetime = Number(json?.expires_in);
      const refreshToken = json?.refresh_token;
      return {
        kind: 'token',
        accessToken,
        expiresInS: Number.isFinite(lifetime) && lifetime > 0 ? lifetime : DEFAULT_LIFETIME_S,
        refreshToken: typeof refreshToken === 'string' && refreshToken.length > 0 ? refreshToken : null,
      };
    }
    return said
      ? { kind: 'refused', reason: said }
      : { kind: 'unavailable', reason: 'answer without access_token' };
  }
  const reason = said ? `${said} (HTTP ${status})` : `HTTP ${status}`;
  // Rate limits and request timeouts are 4xx that say "later", not "no".
  if (status >= 500 || status === 429 || status === 408) return { kind: 'unavailable', reason };
  return { kind: 'refused', reason };
}

/** A token URL that cannot be used as written (not a URL, plain http to a public host). */
class TokenUrlError extends Error {}

/**
 * One POST through the outbound guard, as webhook delivery does it: an address literal is checked
 * here, a host name by the guard's lookup on the connection itself. Plain http only reaches a private
 * address the operator allowed (a provider run in-house, the tests' endpoint); anything else must be
 * https. No redirects, 15 s, at most 64 KiB of answer.
 */
function post(
  targets: OutboundTargets,
  raw: string,
  body: string,
): Promise<{ status: number; body: string }> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return Promise.reject(new TokenUrlError('the token URL is not a valid URL'));
  }
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  const target = { host: hostKey(url.hostname), port };
  if (!targets.allowsStatically(target)) return Promise.reject(new BlockedTargetError());
  // allowsStatically has just permitted a private literal or a localhost name, or it is a public name.
  const local = net.isIP(target.host) ? isPrivateAddress(target.host) : /(^|\.)localhost$/.test(target.host);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local))
    return Promise.reject(new TokenUrlError('the token URL must use https'));
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? https : http).request(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': String(Buffer.byteLength(body)),
          accept: 'application/json',
          'user-agent': 'outreach-engine-oauth2/1',
        },
        agent: false,
        lookup: targets.lookupFor(port),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) res.destroy(new Error('token endpoint answer over 64 KiB'));
          else chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const JsonObject = z.record(z.string(), z.unknown());

/** A JSON object, or null for anything else (HTML error pages, truncated bodies, arrays). */
export function parseObject(text: string): Record<string, unknown> | null {
  try {
    const parsed = JsonObject.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** The provider's own words: `error: error_description`. */
function describe(json: Record<string, unknown>): string {
  const description = typeof json.error_description === 'string' ? json.error_description : '';
  return description ? `${String(json.error)}: ${description}` : String(json.error);
}

/** One line, no secret the provider might echo back, at most 500 characters. */
function scrubbed(text: string, secrets: string[]): string {
  let clean = text;
  for (const secret of secrets) if (secret.length >= 4) clean = clean.split(secret).join('[redacted]');
  clean = clean.replace(/\p{Cc}+/gu, ' ').trim();
  return clean.length > MAX_REASON_CHARS ? `${clean.slice(0, MAX_REASON_CHARS - 3)}...` : clean;
}
