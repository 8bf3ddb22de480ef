// Call payloads: socket events of /calls (DESIGN.md section 15), the call view, history query and ICE servers.
import { type Static, Type } from 'typebox';
import { LimitQuery } from '../../http/envelope.js';
import { Nullable } from '../messages/messages.schemas.js';

const Uuid = Type.String({ format: 'uuid' });

/** A `call_signal` payload above this (serialised) is refused with 413 payload_too_large. */
export const MAX_SIGNAL_BYTES = 64 * 1024;

export const CallStartPayload = Type.Object(
  {
    conversation_id: Uuid,
    media: Type.Union([Type.Literal('audio'), Type.Literal('video')]),
  },
  { additionalProperties: false },
);
export type CallStartPayload = Static<typeof CallStartPayload>;

export const CallRefPayload = Type.Object({ call_id: Uuid }, { additionalProperties: false });
export type CallRefPayload = Static<typeof CallRefPayload>;

export const SignalSchema = Type.Object(
  {
    type: Type.Union([
      Type.Literal('offer'),
      Type.Literal('answer'),
      Type.Literal('candidate'),
      Type.Literal('renegotiate'),
    ]),
    sdp: Type.Optional(Type.String({ maxLength: MAX_SIGNAL_BYTES })),
    // An RTCIceCandidateInit ({candidate, sdpMid, sdpMLineIndex, usernameFragment}); null ends the candidates.
    candidate: Type.Optional(
      Nullable(Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.String()])),
    ),
  },
  { additionalProperties: false },
);
export type Signal = Static<typeof SignalSchema>;

export const CallSignalPayload = Type.Object(
  { call_id: Uuid, to_user_id: Uuid, signal: SignalSchema },
  { additionalProperties: false },
);
export type CallSignalPayload = Static<typeof CallSignalPayload>;

export const CallStatus = Type.Union([
  Type.Literal('ringing'),
  Type.Literal('active'),
  Type.Literal('ended'),
  Type.Literal('missed'),
  Type.Literal('declined'),
]);
export const EndReason = Type.Union([
  Type.Literal('completed'),
  Type.Literal('missed'),
  Type.Literal('declined'),
  Type.Literal('cancelled'),
  Type.Literal('failed'),
]);
export type EndReason = Static<typeof EndReason>;

export const ParticipantStatus = Type.Union([
  Type.Literal('invited'),
  Type.Literal('joined'),
  Type.Literal('left'),
  Type.Literal('declined'),
  Type.Literal('missed'),
]);

export const CallParticipantView = Type.Object(
  {
    user_id: Uuid,
    status: ParticipantStatus,
    joined_at: Nullable(Type.String({ format: 'date-time' })),
    left_at: Nullable(Type.String({ format: 'date-time' })),
  },
  { $id: 'CallParticipant' },
);
export type CallParticipantView = Static<typeof CallParticipantView>;

export const CallView = Type.Object(
  {
    id: Uuid,
    conversation_id: Uuid,
    conversation_type: Type.String({ description: 'dm or group' }),
    initiator_id: Nullable(Uuid),
    media: Type.Union([Type.Literal('audio'), Type.Literal('video')]),
    status: CallStatus,
    end_reason: Nullable(EndReason),
    started_at: Type.String({ format: 'date-time' }),
    answered_at: Nullable(Type.String({ format: 'date-time' })),
    ended_at: Nullable(Type.String({ format: 'date-time' })),
    /** From the first answer to the end; null until it ended after being answered. */
    duration_ms: Nullable(Type.Integer()),
    /** The `call` message written when the call ended. */
    message_id: Nullable(Uuid),
    participants: Type.Array(CallParticipantView),
  },
  { $id: 'Call' },
);
export type CallView = Static<typeof CallView>;

export const IceServer = Type.Object(
  {
    urls: Type.Array(Type.String()),
    username: Type.Optional(Type.String()),
    credential: Type.Optional(Type.String()),
  },
  { $id: 'IceServer' },
);
export const IceServers = Type.Object(
  {
    ice_servers: Type.Array(IceServer),
    /** When the TURN credentials stop working; null without TURN. */
    expires_at: Nullable(Type.String({ format: 'date-time' })),
  },
  { $id: 'IceServers' },
);
export type IceServers = Static<typeof IceServers>;

export const CallsQuery = Type.Object(
  {
    conversation_id: Type.Optional(Uuid),
    limit: LimitQuery,
    cursor: Type.Optional(Type.String({ maxLength: 512 })),
  },
  { additionalProperties: false },
);
export type CallsQuery = Static<typeof CallsQuery>;

export const CallStarted = Type.Object({ call: CallView, ice_servers: Type.Array(IceServer) });
