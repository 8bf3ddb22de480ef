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
type Announcement =
  | { kind: 'updated'; payload: Omit<Updated, 'call'> }
  | { kind: 'missed'; user_ids: string[] };

/** What a locked change did: the announcements to publish after commit, and the end when it ended the call. */
interface Change {
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

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function durationText(ms: number): string {
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

export class CallsService {
  readonly repo: CallsRepository;

  constructor(
    private readonly deps: CallsDeps,
    private readonly access: AccessService,
    private readonly messages: MessagesService,
  ) {
    this.repo = new CallsRepository(deps.db);
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
    if (await this.repo.joinedLiveCall(actor.userId, null))
      throw new ConflictError('You are already in a call', 'already_in_call');
    const existing = await this.repo.liveCallIn(conversationId);
    if (existing) throw this.inProgress(existing);
    const members = (await this.repo.currentMemberIds(conversationId)).filter((id) => id !== actor.userId);
    if (members.length === 0) throw new UnprocessableError('Nobody else is here to call', 'no_one_to_call');
    if (membership.peerId && (await this.repo.joinedLiveCall(membership.peerId, null)))
      throw new ConflictError('The person you are calling is in another call', 'busy');
    const callId = newId();
    try {
      await this.deps.db.transaction().execute(async (trx) => {
        await this.repo.insert(
          { id: callId, conversation_id: conversationId, initiator_id: actor.userId, media: input.media },
          [
            {
              call_id: callId,
              user_id: actor.userId,
              status: 'joined',
              joined_at: new Date(),
              last_seen_at: new Date(),
              device_id: device,
            },
            ...members.map((userId) => ({ call_id: callId, user_id: userId })),
          ],
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
    const call = await this.load(callId);
    this.publish(call, [
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
    return { call, ice_servers: this.iceServers(actor).ice_servers };
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
    return this.viewOf(call, await this.repo.participants([call.id]));
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
      this.viewOf(
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

  // ---- jobs and liveness (no actor: the server decides)

  /** Ring timeout: unanswered -> missed; in a group call that goes on, the members still ringing missed it. */
  async ringTimeout(callId: string): Promise<void> {
    await this.change(null, callId, async (call, _parts, trx) => {
      if (call.status === 'ringing') return { announce: [], ended: await this.finish(call, 'missed', trx) };
      const missed = await this.repo.moveParticipants(call.id, ['invited'], { status: 'missed' }, trx);
      return {
        announce: [
          ...missed.map(
            (userId): Announcement => ({
              kind: 'updated',
              payload: { event: 'call_participant_left', user_ids: [], actor_id: userId, reason: 'missed' },
            }),
          ),
          ...(missed.length > 0 ? [{ kind: 'missed' as const, user_ids: missed }] : []),
        ],
      };
    }).catch(ignoreEnded);
  }

  /** Liveness: these users have /calls sockets on this instance (connect and the periodic heartbeat). */
  async seen(userIds: readonly string[]): Promise<void> {
    await this.repo.touch(userIds);
  }

  /** The user's last /calls socket here closed: leave each joined call unless seen again within the grace. */
  async disconnected(userId: string): Promise<void> {
    const joined = await this.repo.touch([userId]);
    for (const { call_id } of joined) {
      await this.deps.jobs.send(
        PRESENCE_QUEUE,
        { call_id, user_id: userId },
        { startAfterSeconds: this.settings.reconnectGraceMs / 1000 },
      );
    }
  }

  /** Leaves (as `disconnected`) a participant not seen for the grace. */
  async presenceCheck(callId: string, userId: string): Promise<void> {
    // A caller who vanished while ringing stays: the ring timeout decides (missed); look again after it.
    const call = await this.repo.find(callId);
    if (call?.status === 'ringing') {
      await this.deps.jobs.send(
        PRESENCE_QUEUE,
        { call_id: callId, user_id: userId },
        { startAfterSeconds: this.settings.reconnectGraceMs / 1000 },
      );
      return;
    }
    const before = new Date(Date.now() - this.settings.reconnectGraceMs);
    const stale = await this.repo.stale(before, callId, userId);
    for (const p of stale) await this.dropParticipant(p.call_id, p.user_id);
  }

  /**
   * The sweeper: participants unseen for twice the grace (their instance died: no disconnect ran), ringing calls
   * whose timeout job was lost, active calls nobody is in. Never leaves a call "active" with nobody behind it.
   */
  async sweep(now = Date.now()): Promise<number> {
    let done = 0;
    for (const p of await this.repo.stale(new Date(now - 2 * this.settings.reconnectGraceMs))) {
      await this.dropParticipant(p.call_id, p.user_id);
      done++;
    }
    const late = new Date(now - this.settings.ringTimeoutMs - 60_000);
    for (const id of await this.repo.abandoned(late)) {
      await this.change(null, id, async (call, _parts, trx) => {
        if (call.status === 'ringing') return { announce: [], ended: await this.finish(call, 'missed', trx) };
        return {
          announce: [],
          ended: await this.finish(call, call.answered_at ? 'completed' : 'failed', trx),
        };
      }).catch((err: unknown) => this.deps.logger.warn({ err, call: id }, 'call sweep failed'));
      done++;
    }
    return done;
  }

  private async dropParticipant(callId: string, userId: string): Promise<void> {
    await this.change(null, callId, async (call, _parts, trx) => {
      const mine = parts.find((p) => p.user_id === userId);
      // While it rings, the ring timeout decides (a vanished caller leaves the callee a missed call).
      if (mine?.status !== 'joined' || call.status === 'ringing') return { announce: [] };
      return this.depart(call, parts, userId, 'disconnected', null, trx);
    }).catch(ignoreEnded);
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

  private async depart(
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
  private async finish(call: CallRow, reason: EndReason, trx: Transaction<DB>) {
    const now = new Date();
    const missed = await this.repo.moveParticipants(call.id, ['invited'], { status: 'missed' }, trx);
    await this.repo.moveParticipants(call.id, ['joined'], { status: 'left', left_at: now }, trx);
    const durationMs = call.answered_at ? Math.max(0, now.getTime() - call.answered_at.getTime()) : null;
    const kind = call.media === 'video' ? 'video call' : 'audio call';
    const content = {
      completed: `${kind[0]?.toUpperCase()}${kind.slice(1)}, ${durationText(durationMs ?? 0)}`,
      missed: `Missed ${kind}`,
      declined: `Declined ${kind}`,
      cancelled: `Cancelled ${kind}`,
      failed:
        durationMs !== null
          ? `${kind[0]?.toUpperCase()}${kind.slice(1)}, ${durationText(durationMs)}`
          : `Failed ${kind}`,
    }[reason];
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
  private async change(
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
    this.publish(view, change.announce);
    if (change.ended) await this.announceEnd(view, change.ended);
    return view;
  }

  private async announceEnd(call: CallView, ended: NonNullable<Change['ended']>): Promise<void> {
    const message = await this.messages.viewForMembers(ended.messageId);
    if (message) this.deps.bus.publish('message.created', { message });
    this.deps.bus.publish('call.updated', {
      event: 'call_ended',
      call,
      user_ids: call.participants.map((p) => p.user_id),
      actor_id: null,
      reason: ended.reason,
    });
    if (ended.missed.length > 0) {
      this.deps.bus.publish('call.missed', {
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
    this.deps.bus.publish('call.ended', {
      call,
      reason: ended.reason,
      missed_user_ids: ended.missed,
      message_id: ended.messageId,
      seq: ended.seq,
    });
  }

  private publish(call: CallView, announce: Announcement[]): void {
    const everyone = call.participants.map((p) => p.user_id);
    for (const a of announce) {
      if (a.kind === 'updated') {
        const { user_ids, ...rest } = a.payload;
        this.deps.bus.publish('call.updated', {
          ...rest,
          call,
          user_ids: user_ids.length > 0 ? user_ids : everyone,
        });
      } else {
        this.deps.bus.publish('call.missed', {
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
    return this.viewOf(call, await this.repo.participants([callId]));
  }

  viewOf(call: CallWithType, parts: ParticipantRow[]): CallView {
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
}

/** A job or sweep that finds the call already over has nothing left to do. */
function ignoreEnded(err: unknown): undefined {
  if (err instanceof ConflictError && err.code === 'call_ended') return undefined;
  throw err;
}
