// Publishing what a call change did, after its commit: call.updated for /calls, message.created for the `call`
// message, call.missed and call.ended for notifications and history.
import type { EventBus } from '../../events/bus.js';
import type { MessagesService } from '../messages/messages.service.js';
import type { CallView } from './calls.schemas.js';
import type { Announcement, Change } from './calls.service.js';

export async function announceEnd(
  bus: EventBus,
  messages: Pick<MessagesService, 'viewForMembers'>,
  call: CallView,
  ended: NonNullable<Change['ended']>,
): Promise<void> {
  const message = await messages.viewForMembers(ended.messageId);
  if (message) bus.publish('message.created', { message });
  bus.publish('call.updated', {
    event: 'call_ended',
    call,
    user_ids: call.participants.map((p) => p.user_id),
    actor_id: null,
    reason: ended.reason,
  });
  if (ended.missed.length > 0) {
    bus.publish('call.missed', {
      call_id: call.id,
      conversation_id: call.conversation_id,
      caller_id: call.initiator_id,
      media: call.media,
      user_ids: ended.missed,
      started_at: call.started_at,
      message_id: ended.messageId,
      seq: ended.seq,
    });
  }
  bus.publish('call.ended', {
    call,
    reason: ended.reason,
    missed_user_ids: ended.missed,
    message_id: ended.messageId,
    seq: ended.seq,
  });
}

export function announce(bus: EventBus, call: CallView, announce: Announcement[]): void {
  const everyone = call.participants.map((p) => p.user_id);
  for (const a of announce) {
    if (a.kind === 'updated') {
      const { user_ids, ...rest } = a.payload;
      bus.publish('call.updated', {
        ...rest,
        call,
        user_ids: user_ids.length > 0 ? user_ids : everyone,
      });
    } else {
      bus.publish('call.missed', {
        call_id: call.id,
        conversation_id: call.conversation_id,
        caller_id: call.initiator_id,
        media: call.media,
        user_ids: a.user_ids,
        started_at: call.started_at,
        message_id: null,
        seq: null,
      });
    }
  }
}
