import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { ImapFlow } from 'imapflow';
import type { Deps } from '../../../context';
import type { MailboxRow } from '../../../db/schema/index';
import { imapErrorText, isAuthFailure, OAuth2TokenUnavailable, openImap } from './imap-connect';
import { acquireInboxes, INBOX_LEASE_SECONDS, releaseInbox, renewInbox } from './lease';
import { settleAmbiguousSends } from './settle';
import { markInboxFailed, markInboxSynced } from './status';
import { type FolderSync, syncFolder } from './sync';

export type InboxReaderOptions = {
  /** This reader's name in the lease column; unique per process by default. */
  owner?: string;
  /** Inboxes one process reads at once (one IMAP connection each). */
  maxInboxes?: number;
  /** How often free inboxes are looked for. */
  scanMs?: number;
  /** Called after each folder sync (tests and the bench watch progress with it). */
  onSync?: (mailboxId: string, sync: FolderSync) => void;
};

export type InboxReader = {
  /** Inboxes this process holds a session for. */
  reading(): string[];
  stop(): Promise<void>;
};

type Session = { stop(): Promise<void> };

/**
 * Reads the inboxes of every mailbox that has one: replies, bounces and out-of-office answers go
 * through the same ingestion as the inbound webhook. Each inbox is held by one reader at a time
 * across processes (a lease on the mailbox row, renewed while the session lives), and each has its
 * own session, so a slow or broken server only delays its own mailbox.
 */
export function startInboxReader(deps: Deps, opts: InboxReaderOptions = {}): InboxReader {
  const owner = opts.owner ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const maxInboxes = opts.maxInboxes ?? 200;
  const sessions = new Map<string, Session>();
  let stopped = false;

  const scan = async () => {
    if (stopped) return;
    const rows = await acquireInboxes(deps, owner, maxInboxes - sessions.size);
    for (const row of rows) {
      if (stopped || sessions.has(row.id)) continue;
      sessions.set(
        row.id,
        startSession(deps, owner, row, opts, () => sessions.delete(row.id)),
      );
    }
  };
  let scanning: Promise<void> = Promise.resolve();
  const tick = () => {
    if (stopped) return;
    scanning = scanning.then(scan).catch((err: unknown) => deps.log.warn({ err }, 'inbox scan failed'));
  };
  tick();
  const timer = setInterval(tick, opts.scanMs ?? 2_000);
  timer.unref();

  return {
    reading: () => [...sessions.keys()],
    async stop() {
      stopped = true;
      clearInterval(timer);
      await scanning;
      await Promise.all([...sessions.values()].map((s) => s.stop()));
    },
  };
}

/** Folders read for inbound mail: the configured ones, else INBOX and the junk folder when there is one. */
async function foldersOf(client: ImapFlow, mailbox: MailboxRow): Promise<string[]> {
  const list = await client.list();
  if (mailbox.imapFolders && mailbox.imapFolders.length > 0) {
    const paths = new Set(list.map((f) => f.path));
    const missing = mailbox.imapFolders.filter((f) => f !== 'INBOX' && !paths.has(f));
    if (missing.length > 0) throw new Error(`no such folder on the server: ${missing.join(', ')}`);
    return mailbox.imapFolders;
  }
  const junk = list.find((f) => f.specialUse === '\\Junk')?.path;
  return junk ? ['INBOX', junk] : ['INBOX'];
}

function startSession(
  deps: Deps,
  owner: string,
  mailbox: MailboxRow,
  opts: InboxReaderOptions,
  onEnd: () => void,
): Session {
  let stopping = false;
  let client: ImapFlow | null = null;
  let wake: (() => void) | null = null;
  // Set by news that arrives while a sync runs (when nobody waits to be woken): kept, not lost.
  let dirty = false;
  const poke = () => {
    dirty = true;
    wake?.();
  };
  const pollMs = deps.config.INBOX_POLL_SECONDS * 1000;
  // The lease is renewed at least three times per lease period.
  const renewMs = (INBOX_LEASE_SECONDS * 1000) / 3;

  const done = (async () => {
    let failed = false;
    try {
      client = await openImap(deps, mailbox);
      const session = client;
      let closed = false;
      session.on('exists', (event: { path: string }) => {
        if (event.path === 'INBOX') poke();
      });
      session.on('close', () => {
        closed = true;
        poke();
      });
      const idle = session.capabilities.has('IDLE');
      const folders = await foldersOf(session, mailbox);
      let lastSync = 0;
      let pending = true;
      while (!stopping && !closed) {
        if (pending || dirty || Date.now() - lastSync >= pollMs) {
          pending = false;
          dirty = false;
          let inboxNext: number | null = null;
          for (const folder of folders) {
            // Not inside `opts.onSync?.(…)`: without a callback its arguments would not run at all.
            const sync = await syncFolder(deps, session, mailbox, folder);
            if (folder === 'INBOX') inboxNext = sync.uidNext;
            opts.onSync?.(mailbox.id, sync);
          }
          await settleAmbiguousSends(deps, session, mailbox);
          await markInboxSynced(deps, mailbox.id, idle ? 'connected' : 'idle');
          lastSync = Date.now();
          // INBOX stays selected, read-only: with IDLE the server tells of new mail at once. Mail
          // that arrived while another folder was selected told nobody: read again at once.
          if (idle && !closed) {
            const box = await session.mailboxOpen('INBOX', { readOnly: true });
            if (inboxNext !== null && (box.uidNext ?? 0) > inboxNext) dirty = true;
          }
        }
        const woken =
          dirty ||
          (await new Promise<boolean>((resolve) => {
            const timer = setTimeout(
              () => resolve(false),
              Math.min(renewMs, Math.max(0, pollMs - (Date.now() - lastSync))),
            );
            wake = () => {
              clearTimeout(timer);
              resolve(true);
            };
          }));
        wake = null;
        if (woken) pending = true;
        if (stopping || closed) break;
        const current = await renewInbox(deps, owner, mailbox.id);
        // Lost the lease, or the settings changed: the next scan starts over with the new row.
        if (!current || current.updatedAt.getTime() !== mailbox.updatedAt.getTime()) return;
      }
      if (closed && !stopping) throw new Error('the server closed the connection');
    } catch (err) {
      if (stopping) return;
      failed = true;
      const error = imapErrorText(err);
      deps.log.warn({ mailboxId: mailbox.id, error }, 'inbox session failed');
      // The OAuth2 module recorded its own refusals and failures, with their backoff.
      if (err instanceof OAuth2TokenUnavailable) return;
      await markInboxFailed(deps, mailbox, {
        status: isAuthFailure(err) ? 'auth_failed' : 'error',
        error,
      }).catch((e: unknown) => deps.log.error({ err: e }, 'could not record the inbox failure'));
    } finally {
      const open = client as ImapFlow | null;
      if (open) {
        if (!failed && !stopping) await open.logout().catch(() => {});
        open.close();
      }
      await releaseInbox(deps, owner, mailbox.id).catch(() => {});
      onEnd();
    }
  })();

  return {
    async stop() {
      stopping = true;
      poke();
      // A fetch in flight ends with the connection; its committed batches stay committed. A
      // connection still being opened cannot be interrupted: it is not waited for past a few
      // seconds, and its lease then lapses by itself.
      (client as ImapFlow | null)?.close();
      await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    },
  };
}
