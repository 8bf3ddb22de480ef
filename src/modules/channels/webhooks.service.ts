// Provider webhooks: inbound SMS/MMS and e-mail threaded into the inbox's conversation, Twilio status callbacks
// and SendGrid events mapped onto the status machine, STOP/START opt-outs, replays applied once.
import { type Kysely, sql } from 'kysely';
import type { Logger } from 'pino';
import { newId } from '../../db/ids.js';
import type { ChannelKind, ChannelStatus, DB } from '../../db/schema.js';
import type { EventBus } from '../../events/bus.js';
import type { JobQueue } from '../../jobs/job-queue.js';
import { appendMessage } from '../messages/append-message.js';
import type { MessagesService } from '../messages/messages.service.js';
import { isE164, isEmail } from './addresses.js';
import type { ChannelStatusMachine } from './channel-status.js';
import { channelMetadata } from './channel-views.js';
import type { ChannelsRepository } from './channels.repository.js';

export const MEDIA_QUEUE = 'channel-inbound-media';
export interface InboundMediaJob {
  channel_message_id: string;
  /** MMS: URLs to fetch (SSRF-safe); e-mail attachments are stored before the job exists. */
  urls: string[];
}

const STOP_WORDS = new Set(['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'OPTOUT']);
const START_WORDS = new Set(['START', 'UNSTOP', 'YES', 'OPTIN']);

export interface Inbound {
  channel: ChannelKind;
  provider: string;
  providerMessageId: string | null;
  from: string;
  /** Candidate inbox addresses (an e-mail may be addressed to several). */
  to: string[];
  body: string;
  subject: string | null;
  mediaUrls: string[];
}

export type InboundOutcome = 'stored' | 'replayed' | 'no_inbox' | 'invalid';

export interface WebhooksDeps {
  db: Kysely<DB>;
  bus: EventBus;
  jobs: JobQueue;
  logger: Logger;
  repo: ChannelsRepository;
  messages: MessagesService;
  status: ChannelStatusMachine;
}

export class ChannelWebhooks {
  constructor(private readonly deps: WebhooksDeps) {}

  /** Records a delivery id; false when it was seen before (a replay). */
  async firstDelivery(id: string, source: string): Promise<boolean> {
    const result = await sql`
      INSERT INTO webhook_receipts (id, source) VALUES (${id.slice(0, 500)}, ${source})
      ON CONFLICT (id) DO NOTHING RETURNING id`.execute(this.deps.db);
    return result.rows.length > 0;
  }

  async inbound(message: Inbound): Promise<{ outcome: InboundOutcome; channelMessageId?: string }> {
    const family = message.channel === 'email' ? 'email' : 'sms';
    const from = family === 'email' ? message.from.toLowerCase() : message.from;
    if (family === 'sms' ? !isE164(from) : !isEmail(from)) return { outcome: 'invalid' };
    let inbox: Awaited<ReturnType<ChannelsRepository['inboxByAddress']>>;
    for (const to of message.to) {
      inbox = await this.deps.repo.inboxByAddress(family, family === 'email' ? to.toLowerCase() : to);
      if (inbox) break;
    }
    if (!inbox) return { outcome: 'no_inbox' };
    const found = inbox;
    const keyword = message.body.trim().toUpperCase();
    const stored = await this.deps.db.transaction().execute(async (trx) => {
      const { thread, created, memberIds } = await this.deps.repo.getOrCreateThread(trx, found, from);
      if (family === 'sms' && STOP_WORDS.has(keyword))
        await this.deps.repo.setOptOut(trx, found.id, from, true);
      if (family === 'sms' && START_WORDS.has(keyword))
        await this.deps.repo.setOptOut(trx, found.id, from, false);
      const row = await trx
        .insertInto('channel_messages')
        .values({
          id: newId(),
          conversation_id: thread.conversation_id,
          inbox_id: found.id,
          direction: 'inbound',
          channel: message.channel,
          from_address: from,
          to_address: found.address,
          subject: message.subject,
          body: message.body,
          segments: 1,
          status: 'received',
          provider: message.provider,
          provider_message_id: message.providerMessageId,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const content =
        message.body.trim() || message.subject?.trim() || (message.mediaUrls.length ? '(media)' : '(empty)');
      const chat = await appendMessage(trx, {
        conversation_id: thread.conversation_id,
        sender_id: null,
        type: 'text',
        content: content.slice(0, 10_000),
        metadata: channelMetadata(row),
        client_id: null,
      });
      await this.deps.repo.setChatMessage(trx, row.id, chat.id);
      await this.deps.repo.addEvent(trx, row.id, 'received', message.provider, {
        media: message.mediaUrls.length,
        ...(STOP_WORDS.has(keyword) && family === 'sms' ? { opt_out: true } : {}),
        ...(START_WORDS.has(keyword) && family === 'sms' ? { opt_in: true } : {}),
      });
      if (message.mediaUrls.length > 0) {
        await this.deps.jobs.enqueue<InboundMediaJob>(trx, MEDIA_QUEUE, {
          channel_message_id: row.id,
          urls: message.mediaUrls,
        });
      }
      return { row, chatId: chat.id, created, memberIds, conversationId: thread.conversation_id };
    });
    if (message.mediaUrls.length > 0) this.deps.jobs.kick(MEDIA_QUEUE);
    if (stored.created && stored.memberIds.length > 0) {
      this.deps.bus.publish('conversation.created', {
        conversation_id: stored.conversationId,
        member_ids: stored.memberIds,
        actor_id: stored.memberIds[0] as string,
      });
    }
    const view = await this.deps.messages.viewForMembers(stored.chatId);
    if (view) this.deps.bus.publish('message.created', { message: view });
    return { outcome: 'stored', channelMessageId: stored.row.id };
  }

  /** A provider status for a message we sent; 'unknown' when no message has that provider id. */
  async status(
    lookup: { providerMessageId?: string; channelMessageId?: string },
    status: ChannelStatus,
    provider: string,
    error: { code: string | null; message: string | null } | undefined,
  ): Promise<'applied' | 'unchanged' | 'unknown'> {
    const { repo } = this.deps;
    let row = lookup.channelMessageId ? await repo.byId(lookup.channelMessageId) : undefined;
    if (!row && lookup.providerMessageId) row = await repo.byProviderId(lookup.providerMessageId);
    if (row?.direction !== 'outbound') return 'unknown';
    const current = row;
    const applied = await this.deps.db.transaction().execute((trx) =>
      this.deps.status.apply(trx, current, {
        status,
        provider,
        ...(error && (status === 'failed' || status === 'undelivered') ? { error } : {}),
        detail: { source: 'webhook' },
      }),
    );
    await this.deps.status.publish(applied);
    return applied ? 'applied' : 'unchanged';
  }
}
