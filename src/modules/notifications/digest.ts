// E-mail digests (DESIGN.md section 16): a sweep every minute finds users offline longer than EMAIL_DIGEST_AFTER with
// unread messages and queues one digest job each; the job checks again just before sending (read meanwhile, came
// online: no mail), claims the EMAIL_DIGEST_INTERVAL slot, then mails plain text + HTML with a signed unsubscribe
// link that works without logging in.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { DB } from '../../db/schema.js';
import { ValidationError } from '../../errors.js';
import type { JobQueue } from '../../jobs/job-queue.js';
import type { UsersRepository } from '../users/users.repository.js';
import { userSettings } from '../users/users.schemas.js';
import type { DigestConversation, DigestMessage, DigestRepository } from './digest.repository.js';
import type { NotificationMetrics } from './notifications.metrics.js';
import type { Mail, SmtpMailer } from './providers/smtp.js';

export const DIGEST_SWEEP_QUEUE = 'notification-digest-sweep';
export const DIGEST_QUEUE = 'notification-digest';
const SWEEP_BATCH = 500;

export interface DigestDeps {
  db: Kysely<DB>;
  jobs: JobQueue;
  logger: Logger;
  repo: DigestRepository;
  users: UsersRepository;
  metrics: NotificationMetrics;
  mailer: SmtpMailer | undefined;
  secret: string;
  afterSeconds: number;
  intervalSeconds: number;
  /** Where links point: PUBLIC_URL, else http://HOST:PORT. */
  baseUrl: string;
  /** Which of these users have a live connection (presence). */
  online: (userIds: readonly string[]) => Promise<Set<string>>;
}

export class DigestService {
  constructor(private readonly deps: DigestDeps) {}

  /** Queues one digest job per due user (singleton per user); answers their ids. */
  async sweep(now = new Date()): Promise<string[]> {
    if (!this.deps.mailer) return [];
    const due = await this.deps.repo.due(now, this.deps.afterSeconds, this.deps.intervalSeconds, SWEEP_BATCH);
    const online = await this.online(due.map((u) => u.id));
    const ids = due.filter((u) => !online.has(u.id)).map((u) => u.id);
    for (const id of ids) {
      await this.deps.jobs.send(
        DIGEST_QUEUE,
        { user_id: id, at: now.toISOString() },
        { singletonKey: `digest:${id}` },
      );
    }
    return ids;
  }

  /** Re-checks, claims the interval and sends; true when a mail went out. */
  async deliver(userId: string, now = new Date()): Promise<boolean> {
    const { repo, mailer, metrics } = this.deps;
    if (!mailer) return false;
    const [user] = await repo.due(now, this.deps.afterSeconds, this.deps.intervalSeconds, 1, userId);
    if (!user || (await this.online([userId])).has(userId)) {
      metrics.count('email', 'skipped');
      return false;
    }
    const conversations = await repo.unreadConversations(userId, now);
    if (conversations.length === 0) return false;
    const [messages, calls] = await Promise.all([
      repo.latestUnread(
        userId,
        conversations.map((c) => c.conversation_id),
      ),
      repo.missedCalls(userId, user.last_digest_at),
    ]);
    if (!(await repo.claim(userId, now, this.deps.intervalSeconds))) return false;
    const preview = userSettings(user).notifications.preview;
    const mail = composeDigest({
      to: user.email,
      conversations,
      messages,
      missedCalls: calls.map((c) => (c.payload as { title?: string }).title ?? 'Someone'),
      preview,
      unsubscribeUrl: `${this.deps.baseUrl}/api/v1/notifications/unsubscribe?token=${this.unsubscribeToken(userId)}`,
    });
    try {
      await mailer.send(mail);
      metrics.count('email', 'sent');
      return true;
    } catch (err) {
      // The slot is spent: at most one digest per interval, even when SMTP failed.
      metrics.count('email', 'failed');
      this.deps.logger.warn({ err, user_id: userId }, 'digest: SMTP refused the mail');
      return false;
    }
  }

  unsubscribeToken(userId: string): string {
    return `${userId}.${this.sign(userId)}`;
  }

  /** The link of the mail: turns digests off for its user, no login needed. */
  async unsubscribe(token: string): Promise<void> {
    const [userId, signature] = token.split('.');
    const expected = userId ? this.sign(userId) : '';
    const given = Buffer.from(signature ?? '');
    if (!userId || given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected))) {
      throw new ValidationError('The unsubscribe link is not valid', { field: 'token' });
    }
    await this.deps.users.updateProfileAndSettings(userId, {}, { notifications: { email_digest: false } });
  }

  private sign(userId: string): string {
    return createHmac('sha256', this.deps.secret).update(`digest-unsubscribe:${userId}`).digest('base64url');
  }

  private async online(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    try {
      return await this.deps.online(ids);
    } catch (err) {
      this.deps.logger.warn({ err }, 'digest: presence unavailable; treating everyone as offline');
      return new Set();
    }
  }
}

const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

export function composeDigest(input: {
  to: string;
  conversations: DigestConversation[];
  messages: DigestMessage[];
  missedCalls: string[];
  preview: boolean;
  unsubscribeUrl: string;
}): Mail {
  const total = input.conversations.reduce((n, c) => n + c.unread, 0);
  const subject = `${total} unread message${total === 1 ? '' : 's'}${input.missedCalls.length > 0 ? ` and ${input.missedCalls.length} missed call${input.missedCalls.length === 1 ? '' : 's'}` : ''}`;
  const text: string[] = [`You have ${subject}.`, ''];
  const html: string[] = [`<p>You have ${escapeHtml(subject)}.</p>`];
  for (const c of input.conversations) {
    const name = c.name ?? (c.type === 'dm' ? 'Direct message' : 'Group');
    text.push(`${name}: ${c.unread} unread`);
    html.push(`<h3>${escapeHtml(name)} (${c.unread} unread)</h3><ul>`);
    for (const m of input.messages.filter((x) => x.conversation_id === c.conversation_id)) {
      const line = input.preview
        ? `${m.sender_name ?? 'Someone'}: ${(m.content ?? `[${m.type}]`).slice(0, 200)}`
        : `${m.sender_name ?? 'Someone'} wrote`;
      text.push(`  ${line}`);
      html.push(`<li>${escapeHtml(line)}</li>`);
    }
    html.push('</ul>');
  }
  if (input.missedCalls.length > 0) {
    text.push('', 'Missed calls:');
    html.push('<h3>Missed calls</h3><ul>');
    for (const from of input.missedCalls) {
      text.push(`  ${from}`);
      html.push(`<li>${escapeHtml(from)}</li>`);
    }
    html.push('</ul>');
  }
  text.push('', `Stop these e-mails: ${input.unsubscribeUrl}`);
  html.push(`<p><a href="${escapeHtml(input.unsubscribeUrl)}">Stop these e-mails</a></p>`);
  return {
    to: input.to,
    subject,
    text: text.join('\n'),
    html: html.join('\n'),
    unsubscribeUrl: input.unsubscribeUrl,
  };
}
