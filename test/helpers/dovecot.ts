import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';

/**
 * A real Dovecot IMAP server (Debian `dovecot-imapd`) in a temporary directory on a free port, for
 * tests. `imap-login` refuses to run as root, so logins run as `dovenull` and mail belongs to
 * `dovecot`. INBOX, Sent (\Sent) and Junk (\Junk) exist for every user.
 */
export type Dovecot = {
  host: string;
  port: number;
  dir: string;
  /**
   * Adds an account. Dovecot looks at its passwd-file at most once a second, so a login in the
   * same second may not find it: await the result before logging in (the helper's own logins wait).
   */
  addUser(user: string, pass: string): Promise<void>;
  /** Puts a message in place with IMAP APPEND, as a real delivery (or Gmail's Sent copy) would. */
  append(user: string, pass: string, raw: string | Buffer, folder?: string, date?: Date): Promise<number>;
  appendMany(user: string, pass: string, raws: (string | Buffer)[], folder?: string): Promise<void>;
  /** Deletes the folder's UID list: the next session sees a new UIDVALIDITY and renumbered UIDs. */
  resetUidValidity(user: string, folder?: string): Promise<void>;
  /** Drops every IMAP session of the server at once (a crash of the server's side of them). */
  killSessions(): void;
  restart(): Promise<void>;
  stop(): Promise<void>;
};

export type DovecotOptions = {
  idle?: boolean;
  /**
   * Also take OAuth2 logins (XOAUTH2, OAUTHBEARER), each token checked with a POST to this
   * RFC 7662 introspection URL, which answers `{active: true, email: <user>}` for a good one.
   */
  oauth2IntrospectionUrl?: string;
};

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function config(dir: string, port: number, opts: DovecotOptions): string {
  return `protocols = imap
listen = 127.0.0.1
base_dir = ${dir}/run
state_dir = ${dir}/run
log_path = ${dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login${opts.oauth2IntrospectionUrl ? ' xoauth2 oauthbearer' : ''}
mail_location = maildir:${dir}/mail/%u
default_login_user = dovenull
default_internal_user = dovecot
default_internal_group = dovecot
${opts.idle === false ? 'imap_capability = IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE SORT UIDPLUS CONDSTORE NAMESPACE' : ''}
namespace inbox {
  inbox = yes
  separator = /
  mailbox Sent {
    special_use = \\Sent
    auto = create
  }
  mailbox Junk {
    special_use = \\Junk
    auto = create
  }
}
service imap-login {
  inet_listener imap {
    port = ${port}
  }
  chroot =
}
service anvil {
  chroot =
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/users
}
${
  opts.oauth2IntrospectionUrl
    ? `passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = ${dir}/oauth2.conf.ext
}`
    : ''
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=${dir}/mail/%u
}
first_valid_uid = 100
`;
}

async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`dovecot did not listen on ${port}`);
}

export async function startDovecot(opts: DovecotOptions = {}): Promise<Dovecot> {
  const dir = mkdtempSync(join(tmpdir(), 'dovecot-'));
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'mail'));
  chownSync(join(dir, 'mail'), uidOf('dovecot'), gidOf('dovecot'));
  writeFileSync(join(dir, 'users'), '');
  chmodSync(join(dir, 'users'), 0o644);
  const port = await freePort();
  const confPath = join(dir, 'dovecot.conf');
  writeFileSync(confPath, config(dir, port, opts));
  if (opts.oauth2IntrospectionUrl) {
    writeFileSync(
      join(dir, 'oauth2.conf.ext'),
      `introspection_mode = post\nintrospection_url = ${opts.oauth2IntrospectionUrl}\nusername_attribute = email\nactive_attribute = active\nactive_value = true\n`,
    );
  }
  const users = new Map<string, string>();

  const run = async () => {
    const child = spawn('dovecot', ['-c', confPath], { stdio: 'ignore', detached: true });
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`dovecot exited ${code}`))));
      child.once('error', reject);
    });
    await waitForPort(port);
  };
  const halt = () => {
    spawnSync('doveadm', ['-c', confPath, 'stop'], { stdio: 'ignore' });
  };
  await run();

  const writeUsers = () =>
    writeFileSync(
      join(dir, 'users'),
      `${[...users].map(([user, pass]) => `${user}:{PLAIN}${pass}`).join('\n')}\n`,
    );

  let usersReady = Promise.resolve();
  const client = async (user: string, pass: string) => {
    await usersReady;
    const c = new ImapFlow({ host: '127.0.0.1', port, secure: false, auth: { user, pass }, logger: false });
    await c.connect();
    return c;
  };

  return {
    host: '127.0.0.1',
    port,
    dir,
    addUser(user, pass) {
      users.set(user, pass);
      writeUsers();
      usersReady = new Promise((resolve) => setTimeout(resolve, 1_100));
      return usersReady;
    },
    async append(user, pass, raw, folder = 'INBOX', date) {
      const c = await client(user, pass);
      try {
        const result = await c.append(folder, raw, [], date);
        return result ? Number(result.uid ?? 0) : 0;
      } finally {
        await c.logout().catch(() => {});
      }
    },
    async appendMany(user, pass, raws, folder = 'INBOX') {
      const c = await client(user, pass);
      try {
        for (const raw of raws) await c.append(folder, raw, []);
      } finally {
        await c.logout().catch(() => {});
      }
    },
    async resetUidValidity(user, folder = 'INBOX') {
      halt();
      const base = join(dir, 'mail', user);
      const folderDir = folder === 'INBOX' ? base : join(base, `.${folder}`);
      for (const name of readdirSync(folderDir)) {
        if (name.startsWith('dovecot-uidlist') || name.startsWith('dovecot.index')) {
          rmSync(join(folderDir, name), { force: true });
        }
      }
      // A new UIDVALIDITY is the current time in seconds: make sure it differs from the old one.
      await new Promise((r) => setTimeout(r, 1100));
      await run();
    },
    killSessions() {
      // Only this server's sessions (its master's `imap` children): other tests may run a Dovecot too.
      const master = readFileSync(join(dir, 'run', 'master.pid'), 'utf8').trim();
      spawnSync('pkill', ['-KILL', '-P', master, '-x', 'imap'], { stdio: 'ignore' });
      spawnSync('doveadm', ['-c', confPath, 'kick', '*'], { stdio: 'ignore' });
    },
    async restart() {
      halt();
      await new Promise((r) => setTimeout(r, 200));
      await run();
    },
    async stop() {
      halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function uidOf(name: string): number {
  return Number(spawnSync('id', ['-u', name], { encoding: 'utf8' }).stdout.trim());
}
function gidOf(name: string): number {
  return Number(spawnSync('id', ['-g', name], { encoding: 'utf8' }).stdout.trim());
}
