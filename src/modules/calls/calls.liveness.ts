// Liveness of calls, decided by the server: the ring timeout (a durable job scheduled at the start), the reconnect
// grace (a job scheduled when a user's last /calls socket closes) and the sweeper for calls whose instance died.
import type { CallsDeps, CallsService } from './calls.service.js';
import { type Announcement, ignoreEnded, PRESENCE_QUEUE } from './calls.service.js';

export class CallsLiveness {
  constructor(
    private readonly deps: CallsDeps,
    private readonly calls: CallsService,
  ) {}

  private get settings() {
    return this.deps.config.calls;
  }

  /** Ring timeout: unanswered -> missed; in a group call that goes on, the members still ringing missed it. */
  async ringTimeout(callId: string): Promise<void> {
    await this.calls
      .change(null, callId, async (call, _parts, trx) => {
        if (call.status === 'ringing')
          return { announce: [], ended: await this.calls.finish(call, 'missed', trx) };
        const missed = await this.calls.repo.moveParticipants(
          call.id,
          ['invited'],
          { status: 'missed' },
          trx,
        );
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
      })
      .catch(ignoreEnded);
  }

  /** Liveness: these users have /calls sockets on this instance (connect and the periodic heartbeat). */
  async seen(userIds: readonly string[]): Promise<void> {
    await this.calls.repo.touch(userIds);
  }

  /** The user's last /calls socket here closed: leave each joined call unless seen again within the grace. */
  async disconnected(userId: string): Promise<void> {
    const joined = await this.calls.repo.touch([userId]);
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
    const call = await this.calls.repo.find(callId);
    if (call?.status === 'ringing') {
      await this.deps.jobs.send(
        PRESENCE_QUEUE,
        { call_id: callId, user_id: userId },
        { startAfterSeconds: this.settings.reconnectGraceMs / 1000 },
      );
      return;
    }
    const before = new Date(Date.now() - this.settings.reconnectGraceMs);
    const stale = await this.calls.repo.stale(before, callId, userId);
    for (const p of stale) await this.dropParticipant(p.call_id, p.user_id);
  }

  /**
   * The sweeper: participants unseen for twice the grace (their instance died: no disconnect ran), ringing calls
   * whose timeout job was lost, active calls nobody is in. Never leaves a call "active" with nobody behind it.
   */
  async sweep(now = Date.now()): Promise<number> {
    let done = 0;
    for (const p of await this.calls.repo.stale(new Date(now - 2 * this.settings.reconnectGraceMs))) {
      await this.dropParticipant(p.call_id, p.user_id);
      done++;
    }
    const late = new Date(now - this.settings.ringTimeoutMs - 60_000);
    for (const id of await this.calls.repo.abandoned(late)) {
      await this.calls
        .change(null, id, async (call, _parts, trx) => {
          if (call.status === 'ringing')
            return { announce: [], ended: await this.calls.finish(call, 'missed', trx) };
          return {
            announce: [],
            ended: await this.calls.finish(call, call.answered_at ? 'completed' : 'failed', trx),
          };
        })
        .catch((err: unknown) => this.deps.logger.warn({ err, call: id }, 'call sweep failed'));
      done++;
    }
    return done;
  }

  private async dropParticipant(callId: string, userId: string): Promise<void> {
    await this.calls
      .change(null, callId, async (call, parts, trx) => {
        const mine = parts.find((p) => p.user_id === userId);
        // While it rings, the ring timeout decides (a vanished caller leaves the callee a missed call).
        if (mine?.status !== 'joined' || call.status === 'ringing') return { announce: [] };
        return this.calls.depart(call, parts, userId, 'disconnected', null, trx);
      })
      .catch(ignoreEnded);
  }
}
