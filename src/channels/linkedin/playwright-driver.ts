import type { Page } from 'playwright-core';
import {
  type ConnectionStatus,
  type DriverResult,
  type InboundLinkedInMessage,
  type InviteOutcome,
  type LinkedInDriver,
  ok,
  problem,
} from './driver';
import type { Pacing } from './pacing';
import { ConnectionsPage } from './pages/connections-page';
import { InviteDialog } from './pages/invite-dialog';
import type { Landing } from './pages/landing';
import { MessageComposer } from './pages/message-composer';
import { MessagingPage } from './pages/messaging-page';
import { ProfilePage } from './pages/profile-page';
import { profileSlug } from './urls';

export type PlaywrightDriverOptions = { baseUrl: string; pacing: Pacing; timeoutMs: number };

function wall<T>(landing: Exclude<Landing, 'ok'> | 'unexpected'): DriverResult<T> {
  return landing === 'unexpected'
    ? problem('unexpected_page', 'profile top card not found')
    : problem(landing);
}

/** The LinkedIn driver over one page of an account's browser context, built from page objects. */
export class PlaywrightLinkedInDriver implements LinkedInDriver {
  private readonly profile: ProfilePage;

  constructor(
    private readonly page: Page,
    private readonly opts: PlaywrightDriverOptions,
  ) {
    this.profile = new ProfilePage(page, opts.baseUrl, opts.pacing, opts.timeoutMs);
  }

  private async openProfile(profileUrl: string): Promise<DriverResult<void>> {
    const slug = profileSlug(profileUrl);
    if (!slug) return problem('not_found', 'not a LinkedIn profile URL');
    const landing = await this.profile.open(slug);
    return landing === 'ok' ? ok(undefined) : wall(landing);
  }

  async visitProfile(profileUrl: string): Promise<DriverResult<{ connection: ConnectionStatus }>> {
    const opened = await this.openProfile(profileUrl);
    if (!opened.ok) return opened;
    if (!(await this.profile.readThrough()))
      return problem('unexpected_page', 'profile sections never loaded');
    return ok({ connection: await this.profile.connection() });
  }

  async connectionStatus(profileUrl: string): Promise<DriverResult<ConnectionStatus>> {
    const opened = await this.openProfile(profileUrl);
    if (!opened.ok) return opened;
    return ok(await this.profile.connection());
  }

  async sendInvite(profileUrl: string, note?: string): Promise<DriverResult<InviteOutcome>> {
    const opened = await this.openProfile(profileUrl);
    if (!opened.ok) return opened;
    const before = await this.profile.connection();
    if (before === 'connected') return ok('already_connected');
    if (before === 'pending') return ok('already_pending');
    if (!(await this.profile.clickConnect())) return problem('unexpected_page', 'no Connect button');
    const dialog = new InviteDialog(this.page, this.profile, this.opts.pacing, this.opts.timeoutMs);
    const state = await dialog.waitOpen();
    if (state === 'weekly_limit') return problem('weekly_limit');
    if (state === 'unexpected') return problem('unexpected_page', 'invitation dialog did not open');
    const sent = await dialog.send(note);
    if (sent === 'weekly_limit') return problem('weekly_limit');
    if (sent === 'unexpected') return problem('unexpected_page', 'invitation not confirmed');
    return ok('sent');
  }

  async sendMessage(profileUrl: string, text: string): Promise<DriverResult<void>> {
    const opened = await this.openProfile(profileUrl);
    if (!opened.ok) return opened;
    if ((await this.profile.connection()) !== 'connected') return problem('not_connected');
    if (!(await this.profile.openComposer())) return problem('unexpected_page', 'no Message button');
    const composer = new MessageComposer(this.page, this.profile, this.opts.pacing, this.opts.timeoutMs);
    if (await composer.alreadySent(text)) return ok(undefined);
    return (await composer.send(text)) ? ok(undefined) : problem('unexpected_page', 'message not confirmed');
  }

  async recentConnections(): Promise<DriverResult<string[]>> {
    const connections = new ConnectionsPage(this.page, this.opts.baseUrl, this.opts.pacing);
    const landing = await connections.open();
    if (landing !== 'ok') return wall(landing);
    return ok(await connections.profileUrls());
  }

  async fetchNewMessages(): Promise<DriverResult<InboundLinkedInMessage[]>> {
    const inbox = new MessagingPage(this.page, this.opts.baseUrl, this.opts.pacing);
    const landing = await inbox.open();
    if (landing !== 'ok') return wall(landing);
    const found: InboundLinkedInMessage[] = [];
    for (const thread of await inbox.unreadThreads()) {
      const read = await inbox.readThread(thread);
      // A wall halfway through: keep what was read (those threads are now marked read).
      if (typeof read === 'string') return found.length > 0 ? ok(found) : wall(read);
      found.push(...read);
    }
    return ok(found);
  }
}
