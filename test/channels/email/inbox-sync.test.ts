import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openImap } from '../../../src/channels/email/inbox/imap-connect';
import { syncFolder } from '../../../src/channels/email/inbox/sync';
import { mailboxes } from '../../../src/db/schema/index';
import { type Dovecot, startDovecot } from '../../helpers/dovecot';
import { createTestWorkspace, startTestEngine, type TestEngine } from '../../helpers/engine';

const PASS = 'sync-password-1';
const DAY = 86_400_000;
const message = (id: string) =>
  `From: someone@example.test\r\nTo: box@ourco.example\r\nSubject: ${id}\r\nMessage-ID: <${id}@example.test>\r\n\r\nhello\r\n`;

/**
 * What one folder read fetches: the engine's own sync against a real Dovecot, driven step by step
 * (no worker runs here), so each read's counts can be checked.
 */
describe('reading a folder', () => {
  let engine: TestEngine;
  let dovecot: Dovecot;
  beforeAll(async () => {
    [engine, dovecot] = await Promise.all([startTestEngine(), startDovecot()]);
  });
  afterAll(async () => {
    await engine?.close();
    await dovecot?.stop();
  });

  async function mailboxFor(user: string) {
    await dovecot.addUser(user, PASS);
    const ws = await createTestWorkspace(engine.app);
    const res = await engine.app.inject({
      method: 'POST',
      url: '/v1/mailboxes',
      headers: ws.auth,
      payload: {
        name: 'Box',
        fromEmail: user,
        smtp: { host: '127.0.0.1', port: 2525, tls: 'none' },
        imap: { host: dovecot.host, port: dovecot.port, secure: false, tls: 'none', user, pass: PASS },
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    const [row] = await engine.deps.db.select().from(mailboxes).where(eq(mailboxes.id, res.json().id));
    if (!row) throw new Error('no mailbox');
    return row;
  }

  it('never downloads the years of mail before the mailbox was added, even after a first read that found nothing', async () => {
    const user = 'history@ourco.example';
    const mailbox = await mailboxFor(user);
    const old = new Date(Date.now() - 400 * DAY);
    for (let i = 0; i < 30; i++) await dovecot.append(user, PASS, message(`old-${i}`), 'INBOX', old);
    const client = await openImap(engine.deps, mailbox);
    try {
      const first = await syncFolder(engine.deps, client, mailbox, 'INBOX');
      expect(first).toMatchObject({ fetched: 0, ingested: 0 });
      await dovecot.append(user, PASS, message('new-1'));
      const second = await syncFolder(engine.deps, client, mailbox, 'INBOX');
      // Only the new message crossed the wire: the cursor started above the old ones.
      expect(second).toMatchObject({ fetched: 1, ingested: 1, old: 0 });
    } finally {
      await client.logout();
    }
  });

  it('after a UIDVALIDITY change reads the folder again by date: nothing missed, nothing acted on twice', async () => {
    const user = 'renumbered@ourco.example';
    const mailbox = await mailboxFor(user);
    for (let i = 0; i < 5; i++) await dovecot.append(user, PASS, message(`before-${i}`));
    let client = await openImap(engine.deps, mailbox);
    expect(await syncFolder(engine.deps, client, mailbox, 'INBOX')).toMatchObject({
      fetched: 5,
      ingested: 5,
    });
    await client.logout();
    await dovecot.resetUidValidity(user);
    await dovecot.append(user, PASS, message('after-1'));
    client = await openImap(engine.deps, mailbox);
    try {
      const resync = await syncFolder(engine.deps, client, mailbox, 'INBOX');
      expect(resync).toMatchObject({ resynced: true, fetched: 6, ingested: 1, duplicates: 5 });
      expect(await syncFolder(engine.deps, client, mailbox, 'INBOX')).toMatchObject({ fetched: 0 });
    } finally {
      await client.logout();
    }
  });
});
