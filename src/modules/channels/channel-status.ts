// The status machine queued -> sending -> sent -> delivered | failed | undelivered: each step is a row in
// channel_message_events and a `message_updated` of the chat message in its conversation (metadata.channel.status).
import { sql, type Transaction } from 'kysely';
import type { ChannelStatus, DB } from '../../db/schema.js';
import type { EventBus } from '../../events/bus.js';
import { appendConversationEvent } from '../conversations/conversation-events.js';
import type { MessagesService } from '../messages/messages.service.js';
import type { ChannelMessageRow, ChannelsRepository } from './channels.repository.js';
import type { ChannelMetrics } from './providers/provider-router.js';

/** Where each status may come from; callbacks may skip steps (delivered straight after sending). */
const FROM: Record<ChannelStatus, readonly ChannelStatus[]> = {
  queued: [],
  received: [],
  sending: ['queued', 'sending'],
  sent: ['queued', 'sending'],
  delivered: ['queued', 'sending', 'sent'],
  undelivered: ['queued', 'sending', 'sent'],
  failed: ['queued', 'sending', 'sent'],
};

export interface Transition {
  status: ChannelStatus;
  provider?: string | null;
  providerMessageId?: string;
  error?: { code: string | null; message: string | null };
  detail?: Record<string, unknown>;
  /** A send attempt begins (sending): counts it. */
  attempt?: boolean;
}

/** A committed transition: publish it with `publish` after the transaction. */
export interface Applied {
  row: ChannelMessageRow;
  seq: number | null;
}

export class ChannelStatusMachine {
  constructor(
    private readonly repo: ChannelsRepository,
    private readonly messages: MessagesService,
    private readonly bus: EventBus,
    private readonly metrics: ChannelMetrics,
  ) {}

  /** Applies the step inside `trx` when the current status allows it; undefined when it does not (stale or replayed). */
  async apply(trx: Transaction<DB>, row: ChannelMessageRow, step: Transition): Promise<Applied | undefined> {
    const updated = await this.repo.transition(trx, row.id, FROM[step.status], {
      status: step.status,
      ...(step.provider !== undefined ? { provider: step.provider } : {}),
      ...(step.providerMessageId !== undefined ? { provider_message_id: step.providerMessageId } : {}),
      ...(step.error ? { error_code: step.error.code, error_message: step.error.message } : {}),
      addAttempt: step.attempt,
    });
    if (!updated) return undefined;
    await this.repo.addEvent(trx, row.id, step.status, step.provider ?? updated.provider, {
      from: row.status,
      ...(step.error ? { error: step.error } : {}),
      ...step.detail,
    });
    // A repeated `sending` (a job retry) is recorded but changes nothing anyone sees.
    if (row.status === step.status || !updated.message_id) return { row: updated, seq: null };
    await sql`
      UPDATE messages
         SET metadata = jsonb_set(metadata, '{channel,status}', to_jsonb(${step.status}::text), true)
       WHERE id = ${updated.message_id} AND metadata ? 'channel'`.execute(trx);
    const seq = await appendConversationEvent(trx, {
      conversation_id: updated.conversation_id,
      type: 'message.updated',
      actor_id: null,
      message_id: updated.message_id,
      payload: { channel_status: step.status },
    });
    return { row: updated, seq };
  }

  /** After commit: counts the step and tells the conversation (message_updated). */
  async publish(applied: Applied | undefined): Promise<void> {
    if (!applied) return;
    const { row, seq } = applied;
    this.metrics.transitions.inc({ channel: row.channel, direction: row.direction, status: row.status });
    if (seq === null || !row.message_id) return;
    const message = await this.messages.viewForMembers(row.message_id);
    if (message) this.bus.publish('message.updated', { conversation_id: row.conversation_id, seq, message });
  }
}

/** Twilio MessageStatus -> ours (queued/accepted/scheduled say nothing new). */
export function fromTwilioStatus(status: string): ChannelStatus | undefined {
  switch (status) {
    case 'sending':
      return 'sending';
    case 'sent':
      return 'sent';
    case 'delivered':
    case 'read':
      return 'delivered';
    case 'undelivered':
      return 'undelivered';
    case 'failed':
    case 'canceled':
      return 'failed';
    default:
      return undefined;
  }
}

/** SendGrid event -> ours (open, click, deferred... say nothing about delivery). */
export function fromSendgridEvent(event: string): ChannelStatus | undefined {
  switch (event) {
    case 'processed':
      return 'sent';
    case 'delivered':
      return 'delivered';
    case 'bounce':
    case 'blocked':
      return 'undelivered';
    case 'dropped':
      return 'failed';
    default:
      return undefined;
  }
}
