import type { Deps } from '../../context';
import { resolveTimezone } from '../../core/schedule';
import pLimit, { type LimitFunction } from 'p-limit';
import { AccountQueue, withAccountAdvisoryLock } from './account-lock';
import { BrowserPool } from './browser-pool';
import type { LinkedInDriver } from './driver';
import { defaultPacing, type Pacing, pause } from './pacing';
import { PlaywrightLinkedInDriver } from './playwright-driver';
import { StoredSession } from './session';

export type LinkedInRuntimeOptions = {
  /** Pause before each page action and after each account action. */
  pacing: Pacing;
  /** How long a selector may take to appear before the page counts as unexpected. */
  timeoutMs: number;
  /** How long to wait for another process to release an account before answering `busy`. */
  lockWaitMs: number;
  /** Browser contexts unused this long are closed; the browser too once none is left. */
  idleMs: number;
  headless: boolean;
};

const defaults: LinkedInRuntimeOptions = {
  pacing: defaultPacing,
  timeoutMs: 15_000,
  lockWaitMs: 10_000,
  idleMs: 10 * 60_000,
  headless: true,
};

type RuntimeDeps = Pick<Deps, 'config' | 'pool' | 'secrets' | 'log'>;
/** What the runtime needs of an account: its session, and the language and zone its browser presents. */
type AccountRef = {
  id: string;
  sessionEnc: string;
  locale?: string | null;
  workingHours?: { timezone?: string } | null;
};

const timezoneOf = (account: AccountRef) => {
  const tz = account.workingHours?.timezone;
  return tz && resolveTimezone(tz) === tz ? tz : null;
};

/**
 * The per-process LinkedIn machinery shared by the channel and the sync loops: the browser pool, the
 * per-account queue and the options. One per `deps`, so every caller in a process drives an account
 * through the same context and the same lock.
 */
export class LinkedInRuntime {
  readonly options: LinkedInRuntimeOptions;
  private readonly browsers: BrowserPool;
  private readonly queue = new AccountQueue();
  /**
   * Accounts driven at once in this process. Each holds a pool connection for its advisory lock
   * through the whole browser action and needs another for the hand-off check: capped at the pool
   * less 10, so account locks can never take every connection and leave the checks waiting for ever.
   */
  private readonly sessions: LimitFunction;
  private inflight = 0;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly deps: RuntimeDeps,
    options: Partial<LinkedInRuntimeOptions> = {},
  ) {
    this.options = { ...defaults, ...options };
    this.sessions = pLimit(Math.max(1, (deps.pool.options.max ?? 10) - 10));
    this.browsers = new BrowserPool({
      chromiumPath: deps.config.CHROMIUM_PATH,
      baseUrl: deps.config.LINKEDIN_BASE_URL,
      headless: this.options.headless,
    });
    this.sweeper = setInterval(() => {
      if (this.inflight === 0) void this.browsers.closeIdle(this.options.idleMs, () => false);
    }, 60_000);
    this.sweeper.unref();
  }

  /**
   * Runs `fn` with a driver for the account, holding its in-process queue slot and its Postgres
   * advisory lock, then pauses before releasing so consecutive actions on one account are spaced.
   */
  async withDriver<T>(
    account: AccountRef,
    fn: (driver: LinkedInDriver) => Promise<T>,
  ): Promise<{ kind: 'done'; value: T } | { kind: 'busy' }> {
    this.inflight += 1;
    try {
      return await this.queue.run(account.id, () => this.sessions(() => this.driveLocked(account, fn)));
    } finally {
      this.inflight -= 1;
    }
  }

  private driveLocked<T>(
    account: AccountRef,
    fn: (driver: LinkedInDriver) => Promise<T>,
  ): Promise<{ kind: 'done'; value: T } | { kind: 'busy' }> {
    return withAccountAdvisoryLock(this.deps.pool, account.id, this.options.lockWaitMs, async () => {
      const session = StoredSession.parse(JSON.parse(this.deps.secrets.decrypt(account.sessionEnc)));
      const page = await this.browsers.page(account.id, session, {
        locale: account.locale ?? null,
        timezoneId: timezoneOf(account),
      });
      const driver = new PlaywrightLinkedInDriver(page, {
        baseUrl: this.deps.config.LINKEDIN_BASE_URL,
        pacing: this.options.pacing,
        timeoutMs: this.options.timeoutMs,
      });
      try {
        return await fn(driver);
      } finally {
        await pause(this.options.pacing);
      }
    });
  }

  /** Forgets the account's browser state (after a challenge or a driver crash). */
  discard(accountId: string): Promise<void> {
    return this.browsers.discard(accountId);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await this.browsers.close();
  }
}

const runtimes = new WeakMap<object, LinkedInRuntime>();

/** The runtime of this process (per `deps`), created on first use. */
export function runtimeFor(deps: RuntimeDeps): LinkedInRuntime {
  let runtime = runtimes.get(deps);
  if (!runtime) {
    runtime = new LinkedInRuntime(deps);
    runtimes.set(deps, runtime);
  }
  return runtime;
}

/**
 * Replaces the runtime's options (tests shorten the pacing this way). Call before the first LinkedIn
 * action, or the running runtime is closed and replaced.
 */
export async function configureLinkedInRuntime(
  deps: RuntimeDeps,
  options: Partial<LinkedInRuntimeOptions>,
): Promise<LinkedInRuntime> {
  await runtimes.get(deps)?.close();
  const runtime = new LinkedInRuntime(deps, options);
  runtimes.set(deps, runtime);
  return runtime;
}

/** Closes the browser of this process, if one was started. */
export async function closeLinkedInRuntime(deps: RuntimeDeps): Promise<void> {
  const runtime = runtimes.get(deps);
  runtimes.delete(deps);
  await runtime?.close();
}
