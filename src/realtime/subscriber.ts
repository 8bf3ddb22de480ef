// Maps domain events (published by services after commit) to rooms and server events; services never touch sockets.
import type { EventBus } from '../events/bus.js';
import type { Fanout } from './fanout.js';
import type { RealtimeMetrics } from './metrics.js';
import { rooms } from './protocol.js';

export interface SubscriberDeps {
  bus: EventBus;
  fanout: Fanout;
  metrics: RealtimeMetrics;
  /** Contacts of a user (co-members and friends, never across a block: access.contactIds), for user-level events. */
  contactIds(userId: string): Promise<string[]>;
}

/** Subscribes to every domain event the realtime layer forwards; returns the unsubscribe function. */
export function subscribeDomainEvents({ bus, fanout, metrics, contactIds }: SubscriberDeps): () => void {
  const conv = rooms.conversation;
  const offs = [
    bus.subscribe('message.created', ({ message }) => {
      fanout.emit(conv(message.conversation_id), 'new_message', message);
      const stored = Date.parse(message.created_at);
      if (Number.isFinite(stored)) metrics.sendToEmit.observe(Math.max(0, Date.now() - stored) / 1000);
    }),
    bus.subscribe('message.updated', ({ conversation_id, seq, message }) =>
      fanout.emit(conv(conversation_id), 'message_updated', { ...message, event_seq: seq }),
    ),
    bus.subscribe('message.deleted', (e) => fanout.emit(conv(e.conversation_id), 'message_deleted', e)),
    bus.subscribe('reaction.added', (e) => fanout.emit(conv(e.conversation_id), 'reaction_added', e)),
    bus.subscribe('reaction.removed', (e) => fanout.emit(conv(e.conversation_id), 'reaction_removed', e)),
    bus.subscribe('message.pinned', (e) => fanout.emit(conv(e.conversation_id), 'message_pinned', e)),
    bus.subscribe('poll.updated', (e) => fanout.emit(conv(e.conversation_id), 'poll_updated', e)),
    bus.subscribe('receipt.updated', (e) => {
      const status = {
        conversation_id: e.conversation_id,
        user_id: e.user_id,
        delivered_seq: e.delivered_seq,
        read_seq: e.read_seq,
      };
      if (e.read_visible) {
        fanout.emit(conv(e.conversation_id), 'message_status', status);
        return;
      }
      // Hidden read receipts: the member's own devices see the watermark, everyone else only delivery.
      fanout.emit(rooms.user(e.user_id), 'message_status', status);
      fanout.emit(
        conv(e.conversation_id),
        'message_status',
        { ...status, read_seq: null },
        rooms.user(e.user_id),
      );
    }),
    bus.subscribe('conversation.updated', (e) =>
      fanout.emit(conv(e.conversation_id), 'conversation_updated', e),
    ),
    bus.subscribe('conversation.created', (e) => {
      const userRooms = e.member_ids.map(rooms.user);
      fanout.join(userRooms, [conv(e.conversation_id)]);
      fanout.emit(userRooms, 'conversation_created', e);
    }),
    bus.subscribe('member.added', (e) => {
      fanout.join(e.user_ids.map(rooms.user), [conv(e.conversation_id)]);
      fanout.emit(conv(e.conversation_id), 'member_added', e);
    }),
    bus.subscribe('member.removed', (e) => {
      // The removed member hears about it through their own room, then stops hearing anything else.
      fanout.emit([conv(e.conversation_id), rooms.user(e.user_id)], 'member_removed', e);
      fanout.leave([rooms.user(e.user_id)], [conv(e.conversation_id), rooms.view(e.conversation_id)]);
    }),
    bus.subscribe('member.updated', (e) => fanout.emit(conv(e.conversation_id), 'member_updated', e)),
    bus.subscribe('member.muted', (e) => fanout.emit(rooms.user(e.user_id), 'member_muted', e)),
    bus.subscribe('user.updated', async ({ user_id }) => {
      const contacts = await contactIds(user_id);
      fanout.emit([user_id, ...contacts].map(rooms.user), 'user_updated', { user_id });
    }),
    bus.subscribe('friendship.updated', (e) => {
      const pair = [e.requester_id, e.receiver_id] as const;
      if (e.status === 'removed') {
        for (const [self, other] of [pair, [pair[1], pair[0]]]) {
          if (e.previous_status === 'pending') {
            fanout.emit(rooms.user(self), 'friend_request_cancelled', {
              id: e.friendship_id,
              user_id: other,
            });
          } else fanout.emit(rooms.user(self), 'friend_removed', { user_id: other });
        }
        return;
      }
      const event = e.status === 'pending' ? 'friend_request' : 'friend_request_updated';
      for (const userId of pair) {
        const view = e.views?.[userId];
        if (view) fanout.emit(rooms.user(userId), event, view);
      }
    }),
    bus.subscribe('user.deactivated', ({ user_id }) =>
      fanout.endSessions(rooms.user(user_id), 'user_deactivated'),
    ),
    bus.subscribe('session.revoked', ({ session_id }) =>
      fanout.endSessions(rooms.session(session_id), 'session_revoked'),
    ),
  ];
  return () => {
    for (const off of offs) off();
  };
}
