import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyReply, type ReplyInput, stripQuoted } from '../../src/core/classify-reply';
import { htmlToText } from '../../src/core/reply-html';
import { WEBHOOK_BODY_LIMIT } from '../../src/api/inbound-webhooks/inbound-webhooks.routes';
import { createTestWorkspace, startTestEngine, type TestEngine, type TestWorkspace } from '../helpers/engine';
import { signedPost } from '../api/inbound-webhooks/support';

/**
 * Issue 16: any sender can write the reply we parse, and the mail provider signs it. Each hostile
 * shape found in the parsers' patterns is parsed at the webhook body limit and timed against the
 * same parser on ordinary text of that size, in the same run: a linear parser stays within a small
 * multiple of it, a quadratic one (the old attribution pattern: 22 s for 150 KB) far beyond.
 */
const MiB = 1024 * 1024;
/** Generous: the hostile inputs below take 0.1× to 5× ordinary text; a quadratic parser, 1000× and more. */
const MAX_RATIO = 50;

/** `unit` repeated after `prefix` (and before `suffix`) to `size` characters. */
const fill = (unit: string, prefix = '', suffix = '', size = MiB) =>
  prefix + unit.repeat(Math.floor((size - prefix.length - suffix.length) / unit.length)) + suffix;

/** Ordinary reply prose, lines of about 70 characters. */
const prose = (size = MiB) =>
  fill(
    'Thanks for reaching out, Tuesday at ten works for me; send the invite.\n' +
      'We looked at the proposal with the team and have a few questions left.\n',
    '',
    '',
    size,
  );
const proseHtml = fill('<p>Thanks for reaching out, <b>Tuesday</b> at ten works for me.</p>\n');

/** Milliseconds per call of `run`: the fastest of three rounds of `calls` calls. */
function msPerCall(run: () => unknown, calls: number): number {
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 3; round++) {
    const started = performance.now();
    for (let i = 0; i < calls; i++) run();
    best = Math.min(best, performance.now() - started);
  }
  return best / calls;
}

/** Lines of `text`, trimmed: the least any reply parser does, linear in the input. */
const trimmedLines = (text: string) => text.split(/\r\n?|\n/).map((line) => line.trim());

/**
 * Times `parse` on the hostile input against a linear baseline: the longer of `parse` on ordinary
 * text of the same size and a trimmed-lines pass over the hostile text itself (a million empty
 * lines cost more than 15,000 lines of prose, in any parser). Rounds last about 25 ms, so that one
 * preemption or garbage collection cannot decide a sub-millisecond comparison.
 */
function expectLinear<T>(parse: (input: T) => unknown, input: T, ordinary: T, text: string) {
  const baselines = [() => parse(ordinary), () => trimmedLines(text)];
  const calls = Math.ceil(25 / Math.max(...baselines.map((run) => msPerCall(run, 1))));
  const baseline = Math.max(...baselines.map((run) => msPerCall(run, calls)));
  const took = msPerCall(() => parse(input), calls);
  expect(took, `${took.toFixed(2)} ms against ${baseline.toFixed(2)} ms a call`).toBeLessThan(
    MAX_RATIO * baseline,
  );
}

describe('reply parsers take time linear in a hostile 1 MiB input', () => {
  const quoted: [string, string][] = [
    ['"on x wrote", 1 MiB of spaces, "x" (the reported email)', fill(' ', 'on x wrote', 'x')],
    ['"on x wrote" and 1 MiB of trailing spaces', fill(' ', 'on x wrote')],
    ['"On " and 1 MiB of "a"', fill('a', 'On ')],
    ['a Gmail-wrapped attribution: "on", then "wrote" and 1 MiB of spaces', fill(' ', 'on\nwrote', 'x')],
    ['attribution-like lines just under the length read', fill(`on x wrote${' '.repeat(380)}x\n`)],
    ['lines of many "wrote"s', fill(`on ${'wrote '.repeat(60)}\n`)],
    ['many lines of ">"', fill('>\n')],
    ['1 MiB of "-"', fill('-')],
    ['1 MiB of "_" and an "x"', fill('_', '', 'x')],
    ['repeated "From: " lines', fill('From: x\n')],
    ['repeated "From:" and "Sent:" lines with spaces', fill('From:  \nSent:  \n')],
    ['1 MiB of carriage returns', fill('\r')],
  ];
  it.each(quoted)('stripQuoted: %s', (_name, text) => {
    expectLinear(stripQuoted, text, prose(), text);
  });

  const html: [string, string][] = [
    ['unclosed "<a"', fill('<a')],
    ['unclosed "<a x"', fill('<a x')],
    ['200,000 nested <div>', fill('<div>')],
    ['nested <li><p> (passes mailparser’s depth check)', fill('<li><p>')],
    ['nested tables', fill('<table><tr><td>')],
    ['nested lists with text', fill('<ul><li>x')],
    ['nested <blockquote>', fill('<blockquote>')],
    ['nested <svg>', fill('<svg>')],
    ['deep <div>s, then end tags of nothing open', '<div>'.repeat(4_000) + fill('</span>')],
    ['an unclosed comment', fill('x', '<!--')],
    ['a 1 MiB attribute', fill('x', '<a href="', '">hi</a>')],
    ['an unclosed 1 MiB attribute', fill('x', '<a href="')],
    ['a tag with 250,000 attributes', fill(' x=1', '<a', '>hi</a>')],
    ['unclosed <script>s', fill('<script>')],
    ['1 MiB of "<"', fill('<')],
    ['1 MiB of "&#"', fill('&#')],
    ['1 MiB of <br>', fill('<br>')],
  ];
  it.each(html)('htmlToText: %s', (_name, body) => {
    expectLinear(htmlToText, body, proseHtml, body);
  });

  const received = new Date('2025-03-03T10:00:00Z');
  const classify = (input: ReplyInput) => classifyReply(input, received);
  const ooo = (text: string): ReplyInput => ({ subject: 'Out of office', text });
  const report = (text: string): ReplyInput => ({
    subject: 'Undelivered Mail Returned to Sender',
    headers: { 'content-type': 'multipart/report; report-type=delivery-status' },
    text,
  });
  const messages: [string, ReplyInput][] = [
    ['the reported email, signed', { subject: 'Re: hi', text: fill(' ', 'on x wrote', 'x') }],
    ['an out-of-office of "back back back…"', ooo(fill('back '))],
    ['an out-of-office of "to to to…"', ooo(fill('to '))],
    [
      'an out-of-office of "bis" and spaces (chrono’s German parser is quadratic in them)',
      ooo(fill(' ', 'bis', 'x')),
    ],
    ['an out-of-office of "de retour" and spaces', ooo(fill(' ', 'de retour', 'x'))],
    ['an out-of-office of "back 1/1/1/…"', ooo(fill('1/', 'back '))],
    ['an out-of-office of impossible dates', ooo(fill('back 31.02. '))],
    ['an out-of-office of 1 MiB of digits', ooo(fill('1', 'until '))],
    ['a report of "Action:" and spaces', report(fill(' ', 'Action:', '!'))],
    ['a report of "Status:" and spaces', report(fill(' ', 'Status:', '!'))],
    ['a report whose recipient has no end', report(fill('a', 'Final-Recipient: rfc822; '))],
    ['a report whose Message-ID has no end', report(fill('a', 'Message-ID: <'))],
    ['a 1 MiB subject of "re re re…"', { subject: fill('re '), text: 'hi' }],
    ['a 1 MiB subject of "stop" and spaces', { subject: fill(' ', 'stop', 'x'), text: 'hi' }],
    ['a 1 MiB From header', { headers: { from: fill(' ', 'mailer-daemon', 'x') }, subject: 'x' }],
  ];
  it.each(messages)('classifyReply: %s', (_name, input) => {
    expectLinear(classify, input, { subject: 'Re: hi', text: prose() }, input.text ?? '');
  });
});

describe('a hostile reply through the signed webhooks of a running engine', () => {
  let engine: TestEngine;
  let ws: TestWorkspace;
  beforeAll(async () => {
    engine = await startTestEngine();
    ws = await createTestWorkspace(engine.app);
  });
  afterAll(() => engine.close());

  type Path = 'email' | 'email/raw' | 'linkedin';
  /** Bodies just under the 1 MiB limit, with room for the JSON or MIME around them. */
  const room = WEBHOOK_BODY_LIMIT - 4096;
  const email = (part: { text?: string; html?: string }) => ({
    from: 'Jane <jane@lead.test>',
    to: 'sales@sender.test',
    subject: 'Re: Quick question',
    ...part,
  });
  const mime = (html: string) =>
    [
      'From: <jane@lead.test>',
      'To: sales@sender.test',
      'Subject: Re: Quick question',
      'Content-Type: text/html; charset=utf-8',
      '',
      html,
      '',
    ].join('\r\n');
  const linkedin = (text: string) => ({
    type: 'reply',
    linkedinUrl: 'https://www.linkedin.com/in/jane-lead',
    text,
  });

  /** Posts `body`, timing it; a /health request sent meanwhile must not wait on the parse. */
  async function timedPost(path: Path, body: unknown) {
    const started = performance.now();
    const answer = signedPost(engine, ws, path, body);
    const health = engine.app
      .inject({ method: 'GET', url: '/health' })
      .then((res) => ({ status: res.statusCode, ms: performance.now() - started }));
    const res = await answer;
    return { res, ms: performance.now() - started, health: await health };
  }

  const cases: [string, Path, unknown, unknown, string][] = [
    [
      'the reported email: "on x wrote", spaces, "x"',
      'email',
      email({ text: fill(' ', 'on x wrote', 'x', room) }),
      email({ text: prose(room) }),
      'human',
    ],
    [
      'an HTML body of unclosed tags after the answer',
      'email',
      email({ html: fill('<a', 'Please remove me from your list.<br>', '', room) }),
      email({ html: fill('<p>Thanks, Tuesday at ten works for me.</p>\n', '', '', room) }),
      'unsubscribe',
    ],
    [
      'a raw MIME HTML body of nested <li><p> after the answer',
      'email/raw',
      mime(fill('<li><p>', '<div>Please remove me from your list.</div>', '', room)),
      mime(fill('<p>Thanks, Tuesday at ten works for me.</p>\n', '', '', room)),
      'unsubscribe',
    ],
    [
      'a LinkedIn reply of "on x wrote", spaces, "x" (its 100,000-character limit)',
      'linkedin',
      linkedin(fill(' ', 'on x wrote', 'x', 100_000)),
      linkedin(prose(100_000)),
      'human',
    ],
  ];

  it.each(cases)('%s is answered in time and classified', async (_name, path, hostile, ordinary, kind) => {
    await timedPost(path, ordinary); // warms up the route, the parsers and the pool
    const baseline = await timedPost(path, ordinary);
    const result = await timedPost(path, hostile);
    expect(result.res.statusCode).toBe(200);
    expect(result.res.json<{ classification: string }>().classification).toBe(kind);
    const budget = MAX_RATIO * baseline.ms;
    expect(result.ms, `${result.ms.toFixed(0)} ms against ${baseline.ms.toFixed(0)} ms`).toBeLessThan(budget);
    expect(result.health.status).toBe(200);
    expect(result.health.ms).toBeLessThan(budget);
  });
});
