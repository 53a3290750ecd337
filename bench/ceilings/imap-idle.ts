import { ImapFlow } from 'imapflow';
import { percentile } from '../report';

/**
 * Ceiling for detection with IDLE: how soon a bare imapflow session in IDLE on an INBOX hears of a
 * message another session APPENDs there (the clock starts as the APPEND is sent, as the reader's
 * does). No reader can learn of a reply sooner than the server says it arrived.
 */
export async function imapIdleCeiling(opts: {
  host: string;
  port: number;
  user: string;
  pass: string;
  samples: number;
}): Promise<{ samples: number; p50Ms: number; p95Ms: number; maxMs: number }> {
  const connect = async () => {
    const client = new ImapFlow({
      host: opts.host,
      port: opts.port,
      secure: false,
      auth: { user: opts.user, pass: opts.pass },
      logger: false,
      disableAutoIdle: true,
    });
    client.on('error', () => {});
    await client.connect().catch((err: unknown) => {
      throw failure('connect for the IDLE probe', err);
    });
    return client;
  };
  const [watcher, appender] = await Promise.all([connect(), connect()]);
  try {
    await watcher.mailboxOpen('INBOX', { readOnly: true }).catch((err: unknown) => {
      throw failure('EXAMINE INBOX for the IDLE probe', err);
    });
    let heard: (() => void) | null = null;
    watcher.on('exists', () => heard?.());
    const idling = watcher.idle().catch(() => {});
    const latencies: number[] = [];
    for (let i = 0; i < opts.samples; i++) {
      const raw = `From: <probe@elsewhere.example>\r\nSubject: probe ${i}\r\nMessage-ID: <probe-${i}@elsewhere.example>\r\n\r\nprobe\r\n`;
      const arrived = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error('IDLE did not report an APPEND within 60 s')),
          60_000,
        );
        heard = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      const sent = performance.now();
      await appender.append('INBOX', raw).catch((err: unknown) => {
        throw failure(`APPEND of IDLE probe ${i}`, err);
      });
      await arrived;
      latencies.push(performance.now() - sent);
      heard = null;
      await new Promise((r) => setTimeout(r, 100));
    }
    await watcher.logout().catch(() => {});
    await idling;
    const sorted = latencies.sort((a, b) => a - b);
    const round = (v: number) => Number(v.toFixed(1));
    return {
      samples: sorted.length,
      p50Ms: round(percentile(sorted, 0.5)),
      p95Ms: round(percentile(sorted, 0.95)),
      maxMs: round(sorted.at(-1) ?? 0),
    };
  } finally {
    watcher.close();
    await appender.logout().catch(() => {});
  }
}

const failure = (what: string, err: unknown) =>
  new Error(
    `${what}: ${err instanceof Error && 'responseText' in err ? String(err.responseText) : String(err)}`,
    {
      cause: err,
    },
  );
