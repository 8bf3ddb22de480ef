// Calls (DESIGN.md section 15, docs/calls.md): every state change locks the call row, so accepts, declines, ends
// and timeouts from any instance are ordered; the state lives in PostgreSQL, the ring timeout and the
// reconnect grace are durable jobs, and the `call` message with its seq is written in the ending transaction.
import type { Kysely, Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import { newId } from '../../db/ids.js';
import type { DB } from '../../db/schema.js';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  UnprocessableError,
  ValidationError,
} from '../../errors.js';
import type { EventBus } from '../../events/bus.js';
import type { DomainEventMap } from '../../events/domain-events.js';
import { decodeCursor, encodeCursor } from '../../http/envelope.js';
import type { Actor } from '../../identity/actor.js';
import type { JobQueue } from '../../jobs/job-queue.js';
import { type AccessService, BLOCKED_MESSAGE } from '../access/access.service.js';
import { appendMessage } from '../messages/append-message.js';
import type { MessagesService } from '../messages/messages.service.js';
import { announce, announceEnd } from './calls.events.js';
import { CallsLiveness } from './calls.liveness.js';
import {
  type CallRow,
  CallsRepository,
  type CallWithType,
  type HistoryCursor,
  type ParticipantRow,
} from './calls.repository.js';
import {
  type CallSignalPayload,
  type CallStartPayload,
  type CallsQuery,
  type CallView,
  type EndReason,
  type IceServers,
  MAX_SIGNAL_BYTES,
} from './calls.schemas.js';
import { callMessageText, callView, ringingCall } from './calls.views.js';
import { iceServersFor } from './ice-servers.js';

export const RING_TIMEOUT_QUEUE = 'calls-ring-timeout';
export const PRESENCE_QUEUE = 'calls-presence-check';
export const SWEEP_QUEUE = 'calls-sweep';

export interface CallsDeps {
  db: Kysely<DB>;
  bus: EventBus;
  jobs: JobQueue;
  logger: Logger;
  config: Pick<Config, 'calls'>;
}

type Updated = DomainEventMap['call.updated'];
export type Announcement =
  | { kind: 'updated'; payload: Omit<Updated, 'call'> }
  | { kind: 'missed'; user_ids: string[] };

/** What a locked change did: the announcements to publish after commit, and the end when it ended the call. */
export interface Change {
  announce: Announcement[];
  ended?: { reason: EndReason; missed: string[]; messageId: string; seq: number };
}

const STATUS_OF: Record<EndReason, CallRow['status']> = {
  completed: 'ended',
  cancelled: 'ended',
  failed: 'ended',
  missed: 'missed',
  declined: 'declined',
};

export class CallsService {
  readonly repo: CallsRepository;
  /** Ring timeout, reconnect grace and the sweeper (calls.liveness.ts). */
  readonly liveness: CallsLiveness;

  constructor(
    private readonly deps: CallsDeps,
    private readonly access: AccessService,
    private readonly messages: MessagesService,
  ) {
    this.repo = new CallsRepository(deps.db);
    this.liveness = new CallsLiveness(deps, this);
  }

  private get settings() {
    return this.deps.config.calls;
  }

  iceServers(actor: Actor): IceServers {
    return iceServersFor(this.settings, actor.userId);
  }

  /** Rings every other current member (each device); 409 busy when the DM peer is in another call. */
  async start(
    actor: Actor,
    input: CallStartPayload,
    device: string | null,
  ): Promise<{ call: CallView; ice_servers: IceServers['ice_servers'] }> {
    const membership = await this.access.requireWritable(actor.userId, input.conversation_id);
    const conversationId = input.conversation_id;
    const checks = await this.repo.startChecks(actor.userId, conversationId, membership.peerId);
    if (checks.mine) throw new ConflictError('You are already in a call', 'already_in_call');
    if (checks.live) throw this.inProgress(checks.live);
    const members = checks.others;
    if (members.length === 0) throw new UnprocessableError('Nobody else is here to call', 'no_one_to_call');
    if (checks.peer) throw new ConflictError('The person you are calling is in another call', 'busy');
    const callId = newId();
    const { call, parts } = ringingCall({
      id: callId,
      conversationId,
      conversationType: membership.conversation.type,
      initiatorId: actor.userId,
      media: input.media,
      device,
      invited: members,
    });
    try {
      await this.deps.db.transaction().execute(async (trx) => {
        await this.repo.insert(
          {
            id: callId,
            conversation_id: conversationId,
            initiator_id: actor.userId,
            media: input.media,
            started_at: call.started_at,
          },
          parts.map(({ left_at: _left, ...row }) => row),
          trx,
        );
        await this.deps.jobs.enqueue(
          trx,
          RING_TIMEOUT_QUEUE,
          { call_id: callId },
          { startAfterSeconds: this.settings.ringTimeoutMs / 1000 },
        );
      });
    } catch (err) {
      // Two callers in one conversation at once: the partial unique index lets one call live.
      if ((err as { code?: string }).code === '23505') {
        const live = await this.repo.liveCallIn(conversationId);
        if (live) throw this.inProgress(live);
      }
      throw err;
    }
    const view = callView(call, parts);
    announce(this.deps.bus, view, [
      {
        kind: 'updated',
        payload: {
          event: 'call_ringing',
          user_ids: members,
          actor_id: actor.userId,
          except_device: device ?? undefined,
        },
      },
    ]);
    return { call: view, ice_servers: this.iceServers(actor).ice_servers };
  }

  /** The callee answers (409 already_answered from a second device, call_ended after a cancel). */
  accept(actor: Actor, callId: string, device: string | null): Promise<CallView> {
    return this.change(actor, callId, async (call, parts, trx) => {
      const mine = this.participantOf(parts, actor.userId);
      if (mine.status === 'joined')
        throw new ConflictError('You already answered this call', 'already_answered');
      if (mine.status !== 'invited')
        throw new ConflictError('This call is no longer ringing for you', 'not_ringing');
      return this.enter(actor, call, parts, trx, device);
    });
  }

  /** Joins a live call of a conversation the caller belongs to; again from another device moves signals there. */
  async join(actor: Actor, callId: string, device: string | null): Promise<CallView> {
    return this.change(actor, callId, async (call, parts, trx) => {
      const mine = parts.find((p) => p.user_id === actor.userId);
      if (mine?.status === 'joined') {
        await this.repo.updateParticipant(
          call.id,
          actor.userId,
          { device_id: device, last_seen_at: new Date() },
          trx,
        );
        return { announce: [] };
      }
      if (!mine) {
        await this.access.requireMember(actor.userId, call.conversation_id, trx);
        await trx
          .insertInto('call_participants')
          .values({ call_id: call.id, user_id: actor.userId })
          .execute();
      }
      return this.enter(actor, call, parts, trx, device);
    });
  }

  async decline(actor: Actor, callId: string, device: string | null): Promise<CallView> {
    return this.change(actor, callId, async (call, parts, trx) => {
      const mine = this.participantOf(parts, actor.userId);
      if (mine.status !== 'invited')
        throw new ConflictError('This call is not ringing for you', 'not_ringing');
      await this.repo.updateParticipant(
        call.id,
        actor.userId,
        { status: 'declined', left_at: new Date() },
        trx,
      );
      const announce: Announcement[] = [
        {
          kind: 'updated',
          payload: {
            event: 'call_declined',
            user_ids: [],
            actor_id: actor.userId,
            except_device: device ?? undefined,
          },
        },
      ];
      const others = parts.filter((p) => p.user_id !== actor.userId);
      const stillRinging = others.some((p) => p.status === 'invited');
      const someoneAnswered = others.some((p) => p.status === 'joined' && p.user_id !== call.initiator_id);
      if (
        call.conversation_type === 'dm' ||
        (call.status === 'ringing' && !stillRinging && !someoneAnswered)
      ) {
        return { announce, ended: await this.finish(call, 'declined', trx) };
      }
      return { announce };
    });
  }

  async leave(actor: Actor, callId: string, device: string | null, reason: 'left' | 'disconnected' = 'left') {
    return this.change(actor, callId, async (call, parts, trx) => {
      const mine = this.participantOf(parts, actor.userId);
      if (mine.status !== 'joined') throw new ConflictError('You are not in this call', 'not_in_call');
      return this.depart(call, parts, actor.userId, reason, device, trx);
    });
  }

  /** The initiator ends (a ringing call is cancelled); in a DM either side may. */
  async end(actor: Actor, callId: string, _device: string | null): Promise<CallView> {
    return this.change(actor, callId, async (call, parts, trx) => {
      this.participantOf(parts, actor.userId);
      const isInitiator = call.initiator_id === actor.userId;
      if (!isInitiator && call.conversation_type !== 'dm')
        throw new ForbiddenError('Only the caller can end a group call for everyone', 'not_call_owner');
      const reason: EndReason =
        call.status === 'active' ? 'completed' : isInitiator ? 'cancelled' : 'declined';
      if (reason === 'declined')
        await this.repo.updateParticipant(
          call.id,
          actor.userId,
          { status: 'declined', left_at: new Date() },
          trx,
        );
      return { announce: [], ended: await this.finish(call, reason, trx) };
    });
  }

  /** Relays a signal between two current participants (404 to outsiders, 403 when the sender is not in it). */
  async signal(actor: Actor, input: CallSignalPayload): Promise<{ call_id: string }> {
    if (Buffer.byteLength(JSON.stringify(input.signal)) > MAX_SIGNAL_BYTES)
      throw new PayloadTooLargeError(`A signal is at most ${MAX_SIGNAL_BYTES} bytes`);
    if (input.to_user_id === actor.userId)
      throw new ValidationError('to_user_id is yourself', { field: 'to_user_id' });
    const call = await this.repo.find(input.call_id);
    if (!call) throw new NotFoundError('Call');
    const parts = await this.repo.participants([call.id]);
    const from = parts.find((p) => p.user_id === actor.userId);
    if (!from) throw new NotFoundError('Call');
    if (call.status !== 'ringing' && call.status !== 'active')
      throw new ConflictError('The call has ended', 'call_ended');
    if (from.status !== 'joined') throw new ForbiddenError('You are not in this call', 'not_in_call');
    const to = parts.find((p) => p.user_id === input.to_user_id);
    if (to?.status !== 'joined')
      throw new UnprocessableError('That user is not in this call', 'peer_not_in_call', {
        field: 'to_user_id',
      });
    this.deps.bus.publish('call.signal', {
      call_id: call.id,
      from_user_id: actor.userId,
      to_user_id: to.user_id,
      to_device: to.device_id,
      signal: input.signal,
    });
    return { call_id: call.id };
  }

  async get(actor: Actor, callId: string): Promise<CallView> {
    const call = await this.repo.find(callId);
    if (!call || !(await this.repo.canSee(call, actor.userId))) throw new NotFoundError('Call');
    return callView(call, await this.repo.participants([call.id]));
  }

  async list(actor: Actor, query: CallsQuery): Promise<{ items: CallView[]; nextCursor: string | null }> {
    const after = decodeCursor(query.cursor, (v): v is HistoryCursor => {
      const c = v as HistoryCursor;
      return (
        typeof c?.started_at === 'string' &&
        typeof c.id === 'string' &&
        !Number.isNaN(Date.parse(c.started_at))
      );
    });
    const rows = await this.repo.history(actor.userId, query.conversation_id, after, query.limit + 1);
    const pageRows = rows.slice(0, query.limit);
    const parts = await this.repo.participants(pageRows.map((r) => r.id));
    const items = pageRows.map((r) =>
      callView(
        r,
        parts.filter((p) => p.call_id === r.id),
      ),
    );
    const last = pageRows.at(-1);
    const nextCursor =
      rows.length > query.limit && last
        ? encodeCursor({ started_at: last.started_at.toISOString(), id: last.id })
        : null;
    return { items, nextCursor };
  }

  // ---- the state machine's shared steps

  private async enter(
    actor: Actor,
    call: CallWithType,
    parts: ParticipantRow[],
    trx: Transaction<DB>,
    device: string | null,
  ): Promise<Change> {
    const membership = await this.access.requireMember(actor.userId, call.conversation_id, trx);
    if (membership.dmBlocked) throw new ForbiddenError(BLOCKED_MESSAGE, 'blocked');
    if (await this.repo.joinedLiveCall(actor.userId, call.id, trx))
      throw new ConflictError('You are already in another call', 'already_in_call');
    const joined = parts.filter((p) => p.status === 'joined' && p.user_id !== actor.userId).length;
    if (joined >= this.settings.maxParticipants) throw new ConflictError('This call is full', 'call_full');
    const now = new Date();
    await this.repo.updateParticipant(
      call.id,
      actor.userId,
      { status: 'joined', joined_at: now, left_at: null, last_seen_at: now, device_id: device },
      trx,
    );
    const first = call.status === 'ringing';
    if (first) await this.repo.update(call.id, { status: 'active', answered_at: now }, trx);
    return {
      announce: [
        {
          kind: 'updated',
          payload: {
            event: first ? 'call_accepted' : 'call_participant_joined',
            user_ids: [],
            actor_id: actor.userId,
            except_device: device ?? undefined,
            answered_elsewhere: true,
          },
        },
      ],
    };
  }

  /** @internal (calls.liveness.ts) */
  async depart(
    call: CallWithType,
    parts: ParticipantRow[],
    userId: string,
    reason: 'left' | 'disconnected',
    device: string | null,
    trx: Transaction<DB>,
  ): Promise<Change> {
    await this.repo.updateParticipant(call.id, userId, { status: 'left', left_at: new Date() }, trx);
    const remaining = parts.filter((p) => p.status === 'joined' && p.user_id !== userId);
    if (call.status === 'ringing' && userId === call.initiator_id)
      return {
        announce: [],
        ended: await this.finish(call, reason === 'left' ? 'cancelled' : 'failed', trx),
      };
    if (call.conversation_type === 'dm' || remaining.length === 0) {
      const ended = await this.finish(call, call.answered_at ? 'completed' : 'cancelled', trx);
      return { announce: [], ended };
    }
    return {
      announce: [
        {
          kind: 'updated',
          payload: {
            event: 'call_participant_left',
            user_ids: [],
            actor_id: userId,
            reason,
            except_device: device ?? undefined,
          },
        },
      ],
    };
  }

  /** Ends the call in the caller's transaction and writes its `call` message (with its seq). */
  /** @internal (calls.liveness.ts) */
  async finish(call: CallRow, reason: EndReason, trx: Transaction<DB>) {
    const now = new Date();
    const missed = await this.repo.moveParticipants(call.id, ['invited'], { status: 'missed' }, trx);
    await this.repo.moveParticipants(call.id, ['joined'], { status: 'left', left_at: now }, trx);
    const durationMs = call.answered_at ? Math.max(0, now.getTime() - call.answered_at.getTime()) : null;
    const content = callMessageText(call.media, reason, durationMs);
    const message = await appendMessage(trx, {
      conversation_id: call.conversation_id,
      sender_id: call.initiator_id,
      type: 'call',
      content,
      metadata: {
        call_id: call.id,
        media: call.media,
        reason,
        duration_ms: durationMs,
        missed_user_ids: missed,
      },
    });
    await this.repo.update(
      call.id,
      { status: STATUS_OF[reason], end_reason: reason, ended_at: now, message_id: message.id },
      trx,
    );
    return { reason, missed, messageId: message.id, seq: Number(message.seq) };
  }

  /** Locks the call, runs `fn` on it (live calls only), commits, then publishes what happened. */
  /** @internal (calls.liveness.ts) */
  async change(
    actor: Actor | null,
    callId: string,
    fn: (call: CallWithType, parts: ParticipantRow[], trx: Transaction<DB>) => Promise<Change>,
  ): Promise<CallView> {
    if (actor) {
      const visible = await this.repo.find(callId);
      if (!visible || !(await this.repo.canSee(visible, actor.userId))) throw new NotFoundError('Call');
    }
    const change = await this.deps.db.transaction().execute(async (trx) => {
      const call = await this.repo.find(callId, trx, true);
      if (!call) throw new NotFoundError('Call');
      if (call.status !== 'ringing' && call.status !== 'active')
        throw new ConflictError('The call has ended', 'call_ended');
      return fn(call, await this.repo.participants([call.id], trx), trx);
    });
    const view = await this.load(callId);
    announce(this.deps.bus, view, change.announce);
    if (change.ended) await announceEnd(this.deps.bus, this.messages, view, change.ended);
    return view;
  }

  private participantOf(parts: ParticipantRow[], userId: string): ParticipantRow {
    const found = parts.find((p) => p.user_id === userId);
    if (!found) throw new NotFoundError('Call');
    return found;
  }

  private inProgress(callId: string): ConflictError {
    return new ConflictError('A call is already in progress here; join it', 'call_in_progress', {
      call_id: callId,
    });
  }

  private async load(callId: string): Promise<CallView> {
    const call = (await this.repo.find(callId)) as CallWithType;
    return callView(call, await this.repo.participants([callId]));
  }
}

/** A job or sweep that finds the call already over has nothing left to do. */
export function ignoreEnded(err: unknown): undefined {
  if (err instanceof ConflictError && err.code === 'call_ended') return undefined;
  throw err;
}
