import type { Page } from 'playwright-core';
import {
  type ConnectionStatus,
  type DriverResult,
  type InboundLinkedInMessage,
  type InviteOutcome,
  type LayoutReport,
  type LinkedInDriver,
  type NoteQuotaFallback,
  ok,
  type PageCheck,
  problem,
  unrecognised,
} from './driver';
import type { Pacing } from './pacing';
import { ConnectionsPage } from './pages/connections-page';
import type { TopCardSignals } from './pages/in-page';
import { InviteDialog } from './pages/invite-dialog';
import { navigate, wall } from './pages/landing';
import { MessageComposer } from './pages/message-composer';
import { MessagingPage } from './pages/messaging-page';
import { ProfilePage } from './pages/profile-page';
import { paths } from './selectors';
import { profileSlug, siteUrl } from './urls';

export type PlaywrightDriverOptions = { baseUrl: string; pacing: Pacing; timeoutMs: number };

type Opened = { signals: TopCardSignals; status: ConnectionStatus };

/** The LinkedIn driver over one page of an account's browser context, built from page objects. */
export class PlaywrightLinkedInDriver implements LinkedInDriver {
  private readonly profile: ProfilePage;

  constructor(
    private readonly page: Page,
    private readonly opts: PlaywrightDriverOptions,
  ) {
    this.profile = new ProfilePage(page, opts.baseUrl, opts.pacing, opts.timeoutMs);
  }

  /** Opens the profile; its top card must show a relationship the driver knows. */
  private async openProfile(profileUrl: string): Promise<DriverResult<Opened>> {
    const slug = profileSlug(profileUrl);
    if (!slug) return problem('not_found', 'not a LinkedIn profile URL');
    const opened = await this.profile.open(slug);
    if (!opened.ok) return opened;
    // The lead is the account itself: no degree, no Connect, and nothing to do.
    if (opened.value.self) return problem('connect_unavailable', 'own_profile');
    const status = ProfilePage.status(opened.value);
    return status === null ? unrecognised('profile.degree') : ok({ signals: opened.value, status });
  }

  async visitProfile(profileUrl: string): Promise<DriverResult<{ connection: ConnectionStatus }>> {
    const opened = await this.openProfile(profileUrl);
    if (!opened.ok) return opened;
    await this.profile.readThrough();
    return ok({ connection: opened.value.status });
  }

  async connectionStatus(profileUrl: string): Promise<DriverResult<ConnectionStatus>> {
    const opened = await this.openProfile(profileUrl);
    return opened.ok ? ok(opened.value.status) : opened;
  }

  async sendInvite(
    profileUrl: string,
    note?: string,
    opts: { whenNoteQuotaExhausted?: NoteQuotaFallback } = {},
  ): Promise<DriverResult<InviteOutcome>> {
    const first = await this.invite(profileUrl, note);
    const fallback = opts.whenNoteQuotaExhausted ?? 'fail';
    if (first.ok || first.problem !== 'note_quota_exhausted' || fallback === 'fail') return first;
    const again = await this.invite(profileUrl, undefined);
    return again.ok && again.value === 'sent' ? ok('sent_without_note') : again;
  }

  private async invite(profileUrl: string, note: string | undefined): Promise<DriverResult<InviteOutcome>> {
    const opened = await this.openProfile(profileUrl);
    if (!opened.ok) return opened;
    if (opened.value.status === 'connected') return ok('already_connected');
    if (opened.value.status === 'pending') return ok('already_pending');
    const dialog = new InviteDialog(this.page, this.profile, this.opts.pacing, this.opts.timeoutMs);
    const stop = dialog.listen();
    try {
      const click = await this.profile.clickConnect();
      if (click === 'unavailable') return problem('connect_unavailable');
      if (click === 'unrecognised') return unrecognised('profile.connect');
      const outcome = await dialog.complete(note);
      if (outcome === 'weekly_limit') return problem('weekly_limit');
      if (outcome === 'email_required') return problem('email_required');
      if (outcome === 'note_quota') return problem('note_quota_exhausted');
      if (outcome === 'unrecognised') return unrecognised('invite.dialog');
    } finally {
      stop();
    }
    // LinkedIn shows no confirmation to rely on: the profile, opened again, shows Pending.
    const after = await this.openProfile(profileUrl);
    if (!after.ok) return after;
    return after.value.status === 'none' ? unrecognised('invite.confirmation') : ok('sent');
  }

  async sendMessage(profileUrl: string, text: string): Promise<DriverResult<void>> {
    const opened = await this.openProfile(profileUrl);
    if (!opened.ok) return opened;
    if (opened.value.status !== 'connected') return problem('not_connected');
    if (!(await this.profile.clickMessage())) return unrecognised('profile.message');
    const composer = new MessageComposer(this.page, this.profile, this.opts.pacing, this.opts.timeoutMs);
    if (!(await composer.waitOpen())) return unrecognised('composer');
    if (await composer.alreadySent(text)) return ok(undefined);
    return (await composer.send(text)) ? ok(undefined) : unrecognised('composer.confirmation');
  }

  async recentConnections(): Promise<DriverResult<string[]>> {
    const { baseUrl, pacing, timeoutMs } = this.opts;
    return new ConnectionsPage(this.page, baseUrl, pacing, timeoutMs).profileUrls();
  }

  /** Conversations are opened, never marked read: the account's browser blocks read receipts. */
  async fetchNewMessages(): Promise<DriverResult<InboundLinkedInMessage[]>> {
    const { baseUrl, pacing, timeoutMs } = this.opts;
    const inbox = new MessagingPage(this.page, baseUrl, pacing, timeoutMs);
    const rows = await inbox.open();
    return rows.ok ? inbox.readUnread(rows.value) : rows;
  }

  async checkLayout(): Promise<DriverResult<LayoutReport>> {
    const { baseUrl, pacing, timeoutMs } = this.opts;
    const landing = await navigate(this.page, siteUrl(baseUrl, paths.ownProfile), pacing);
    if (landing !== 'ok') return wall(landing);
    const own = await this.profile.recognise(null);
    const card = own.ok ? own.value : null;
    const pages: PageCheck[] = [
      {
        page: 'own_profile',
        path: new URL(this.page.url()).pathname,
        recognised: {
          'profile.top_card': !!card,
          'profile.name': !!card?.name,
          'profile.more': !!card?.more,
        },
      },
    ];
    const inbox = await new MessagingPage(this.page, baseUrl, pacing, timeoutMs).open();
    if (!inbox.ok && inbox.problem !== 'layout_unrecognized') return inbox;
    const missed = inbox.ok ? null : inbox.detail;
    pages.push({
      page: 'inbox',
      path: paths.messaging,
      recognised: {
        'messaging.conversation_list': missed !== 'messaging.conversation_list',
        'messaging.unread_label': missed === null,
      },
    });
    const missing = pages.flatMap((p) => Object.entries(p.recognised).flatMap(([k, v]) => (v ? [] : [k])));
    return ok({ recognised: missing.length === 0, unrecognised: missing, pages });
  }
}
