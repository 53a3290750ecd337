import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestWorkspace,
  startTestEngine,
  type TestEngine,
  type TestWorkspace,
  waitFor,
} from '../helpers/engine';
import { addMailbox } from '../helpers/mailboxes';
import { createActiveSequence, enrollLeads } from '../helpers/sequences';
import { type ReceivedMail, type SmtpSink, startSmtpSink } from '../helpers/smtp-sink';
import { detailPaths } from './support/error-shape';

/**
 * Addresses and names that end up in SMTP headers, sent through the API, the real engine and a real
 * SMTP server, whose received message is parsed.
 *
 * Decided: an internationalised domain (`jorg@bücher.example`) is accepted, kept as given, keyed
 * (dedup, suppressions, reply matching) by its punycode form, and sent in punycode, as nodemailer
 * does. A non-ASCII local part (`jörg@…`) is refused: it needs SMTPUTF8, which we do not negotiate.
 */
describe('email addresses and names that reach SMTP headers', () => {
  let engine: TestEngine;
  let sink: SmtpSink;
  beforeAll(async () => {
    sink = await startSmtpSink();
    engine = await startTestEngine({ workers: true, env: { MAINTENANCE_INTERVAL_SECONDS: '0.3' } });
  });
  afterAll(async () => {
    await engine.close();
    await sink.close();
  });

  const post = (ws: TestWorkspace, url: string, payload: object, method: 'POST' | 'PATCH' = 'POST') =>
    engine.app.inject({ method, url, headers: ws.auth, payload });

  /** Sends one email step to one lead through a sequence, and returns what the SMTP server got. */
  async function sendOne(ws: TestWorkspace, leadId: string, step: { subject: string; body: string }) {
    const sequenceId = await createActiveSequence(engine.app, ws, { steps: [{ type: 'email', ...step }] });
    // Tests in a file run one after another, so the next message the sink gets is this one.
    const count = sink.received.length;
    const { enrolled } = await enrollLeads(engine.app, ws, sequenceId, [leadId]);
    expect(enrolled).toHaveLength(1);
    const mail = await waitFor<ReceivedMail>(async () => sink.received[count], {
      timeoutMs: 30_000,
      what: 'the message at the SMTP sink',
    });
    expect(sink.received).toHaveLength(count + 1);
    return mail;
  }

  it('refuses a mailbox name or address that would add a header or a recipient, naming the field', async () => {
    const ws = await createTestWorkspace(engine.app);
    const base = {
      name: 'Sales',
      fromEmail: 'sales@sender.test',
      smtp: { host: sink.host, port: sink.port },
    };
    const cases: [object, string][] = [
      [{ fromName: 'Sam\r\nBcc: x@evil.test' }, 'body.fromName'],
      [{ fromName: 'Sam\nX-Injected: 1' }, 'body.fromName'],
      [{ fromEmail: 'sales@sender.test\r\nBcc: x@evil.test' }, 'body.fromEmail'],
      [{ fromEmail: 'sales@sender.test, x@evil.test' }, 'body.fromEmail'],
      [{ fromEmail: 'Sam <sales@sender.test>' }, 'body.fromEmail'],
      [{ fromEmail: 'sales@sender' }, 'body.fromEmail'],
      [{ fromEmail: 'jörg@sender.test' }, 'body.fromEmail'],
      [{ smtp: { host: 'smtp.test\r\nX: 1', port: 25 } }, 'body.smtp.host'],
      [{ smtp: { host: 'smtp.test', port: 25, user: 'u\r\nAUTH x' } }, 'body.smtp.user'],
    ];
    for (const [override, path] of cases) {
      const res = await post(ws, '/v1/mailboxes', { ...base, ...override });
      expect(res.statusCode, JSON.stringify(override)).toBe(400);
      expect(detailPaths(res.body)).toContain(path);
    }
    const mailbox = await addMailbox(engine, ws, sink);
    const patch = await post(
      ws,
      `/v1/mailboxes/${mailbox.id}`,
      { fromName: 'Sam\r\nBcc: x@evil.test' },
      'PATCH',
    );
    expect(patch.statusCode).toBe(400);
    expect(detailPaths(patch.body)).toEqual(['body.fromName']);
  });

  it('refuses invalid lead addresses with the path, and fails only that row in bulk', async () => {
    const ws = await createTestWorkspace(engine.app);
    const invalid = [
      'plainaddress',
      'a@b',
      '@example.test',
      'a@',
      'a b@example.test',
      'a..b@example.test',
      'a@exa mple.test',
      'a@b@example.test',
      'jörg@example.test',
      'x@evil.test\r\nBcc: y@evil.test',
      `${'a'.repeat(250)}@example.test`,
    ];
    for (const email of invalid) {
      const res = await post(ws, '/v1/leads', { email });
      expect(res.statusCode, email).toBe(400);
      expect(new Set(detailPaths(res.body)), email).toEqual(new Set(['body.email']));
    }
    const bulk = await post(ws, '/v1/leads/bulk', {
      leads: [{ email: 'good@example.test' }, ...invalid.map((email) => ({ email }))],
    });
    expect(bulk.statusCode).toBe(200);
    const result = bulk.json<{ created: number; failed: { index: number; error: string }[] }>();
    expect(result.created).toBe(1);
    expect(result.failed.map((f) => f.index)).toEqual(invalid.map((_, i) => i + 1));
  });

  it('accepts an IDN domain as one lead whichever way it is spelt, and sends to it in punycode', async () => {
    const ws = await createTestWorkspace(engine.app);
    await addMailbox(engine, ws, sink, { fromEmail: 'verkauf@bücher.example', fromName: 'Zoë Verkauf' });
    const created = await post(ws, '/v1/leads', { email: 'jorg@bücher.example', firstName: 'Jörg' });
    expect(created.statusCode).toBe(201);
    const lead = created.json<{ id: string; email: string }>();
    expect(lead.email).toBe('jorg@bücher.example');
    const again = await post(ws, '/v1/leads', { email: 'JORG@xn--bcher-kva.example', title: 'Buyer' });
    expect(again.statusCode).toBe(200);
    expect(again.json<{ id: string }>().id).toBe(lead.id);

    const mail = await sendOne(ws, lead.id, { subject: 'Hallo {{ firstName }}', body: 'Grüße' });
    const header = (name: string) =>
      mail.raw.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name}:`));
    // On the wire the addresses are ASCII (names are encoded words); the lead's latest spelling is used.
    expect(header('to')?.toLowerCase()).toMatch(/<jorg@xn--bcher-kva\.example>$/);
    expect(header('from')).toMatch(/<verkauf@xn--bcher-kva\.example>$/);
    // mailparser shows the domain decoded again.
    expect(mail.parsed.from?.value).toEqual([{ address: 'verkauf@bücher.example', name: 'Zoë Verkauf' }]);
    expect(mail.parsed.subject).toBe('Hallo Jörg');
  });

  it('never lets a name, a CSV cell or a subject template add a header or a recipient', async () => {
    const ws = await createTestWorkspace(engine.app);
    // No line break, so accepted: display-name tricks must stay a name.
    const fromName = 'Boss <boss@evil.test>, "Other" <other@evil.test>';
    const mailbox = await addMailbox(engine, ws, sink, { fromEmail: 'sales@sender.test', fromName });
    // Quoted CSV cells may hold line breaks; the lead's fields then reach the subject through Liquid.
    const csv =
      'email,first_name,company\r\neve@victim.test,"Eve\r\nBcc: x@evil.test","Acme\nCc: y@evil.test"\r\n';
    const imported = await engine.app.inject({
      method: 'POST',
      url: '/v1/leads/import',
      headers: { ...ws.auth, 'content-type': 'text/csv' },
      payload: csv,
    });
    expect(imported.statusCode).toBe(200);
    const [leadId] = imported.json<{ ids: string[] }>().ids;
    expect(leadId).toBeDefined();

    const mail = await sendOne(ws, leadId ?? '', {
      subject: 'Hello {{ firstName }} at {{ company }}\r\nX-Injected: 1',
      body: 'Hi {{ firstName }}',
    });
    expect(mail.envelopeTo).toEqual(['eve@victim.test']);
    for (const name of ['bcc', 'cc', 'x-injected']) expect(mail.parsed.headers.has(name), name).toBe(false);
    // The header block only: the body may say anything (it has the name, line break and all).
    const headerBlock = mail.raw.split('\r\n\r\n')[0] ?? '';
    expect(headerBlock).not.toMatch(/(^|\r\n)(Bcc|Cc|X-Injected):/i);
    expect(mail.parsed.from?.value).toEqual([{ address: mailbox.fromEmail, name: fromName }]);
    expect(mail.parsed.to).toMatchObject({ value: [{ address: 'eve@victim.test' }] });
    expect(mail.parsed.subject).toBe('Hello Eve Bcc: x@evil.test at Acme Cc: y@evil.test X-Injected: 1');
  });
});
