// The call view of REST and /calls events, and the text of the `call` message ("Missed audio call", "Video call, 4:12").
import type { CallWithType, ParticipantRow } from './calls.repository.js';
import type { CallView, EndReason } from './calls.schemas.js';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function durationText(ms: number): string {
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** The `call` message's content for how the call ended. */
export function callMessageText(
  media: 'audio' | 'video',
  reason: EndReason,
  durationMs: number | null,
): string {
  const kind = media === 'video' ? 'video call' : 'audio call';
  const Kind = `${kind[0]?.toUpperCase()}${kind.slice(1)}`;
  return {
    completed: `${Kind}, ${durationText(durationMs ?? 0)}`,
    missed: `Missed ${kind}`,
    declined: `Declined ${kind}`,
    cancelled: `Cancelled ${kind}`,
    failed: durationMs !== null ? `${Kind}, ${durationText(durationMs)}` : `Failed ${kind}`,
  }[reason];
}

export function callView(call: CallWithType, parts: ParticipantRow[]): CallView {
  const duration =
    call.answered_at && call.ended_at ? call.ended_at.getTime() - call.answered_at.getTime() : null;
  return {
    id: call.id,
    conversation_id: call.conversation_id,
    conversation_type: call.conversation_type,
    initiator_id: call.initiator_id,
    media: call.media,
    status: call.status,
    end_reason: (call.end_reason as EndReason | null) ?? null,
    started_at: call.started_at.toISOString(),
    answered_at: iso(call.answered_at),
    ended_at: iso(call.ended_at),
    duration_ms: duration,
    message_id: call.message_id,
    participants: parts.map((p) => ({
      user_id: p.user_id,
      status: p.status,
      joined_at: iso(p.joined_at),
      left_at: iso(p.left_at),
    })),
  };
}

/**
 * A call as `call_start` writes it: ringing, the initiator joined on `device`, everyone else invited. The rows are
 * listed in the order the repository reads them back (invited together, so by user id): the view needs no reload.
 */
export function ringingCall(input: {
  id: string;
  conversationId: string;
  conversationType: string;
  initiatorId: string;
  media: 'audio' | 'video';
  device: string | null;
  invited: readonly string[];
}): { call: CallWithType; parts: ParticipantRow[] } {
  const now = new Date();
  const call: CallWithType = {
    id: input.id,
    conversation_id: input.conversationId,
    conversation_type: input.conversationType,
    initiator_id: input.initiatorId,
    message_id: null,
    media: input.media,
    status: 'ringing',
    started_at: now,
    answered_at: null,
    ended_at: null,
    end_reason: null,
  };
  const row = (userId: string, joined: boolean): ParticipantRow => ({
    call_id: input.id,
    user_id: userId,
    status: joined ? 'joined' : 'invited',
    invited_at: now,
    joined_at: joined ? now : null,
    left_at: null,
    last_seen_at: joined ? now : null,
    device_id: joined ? input.device : null,
  });
  const parts = [row(input.initiatorId, true), ...input.invited.map((id) => row(id, false))].sort((a, b) =>
    a.user_id < b.user_id ? -1 : a.user_id > b.user_id ? 1 : 0,
  );
  return { call, parts };
}
