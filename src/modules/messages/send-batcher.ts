// Group commit for sends: messages that arrive while a write is in flight are stored together by ONE statement
// (one round trip, one WAL flush) instead of one transaction each. Order, seqs and idempotency stay per message.
import type { Kysely, Transaction } from 'kysely';
import { newId } from '../../db/ids.js';
import type { DB } from '../../db/schema.js';
import { isUniqueViolation } from '../../errors.js';
import type { StoredMessage } from './message-views.js';
import {
  type AppendMessageInput,
  type BatchInput,
  type BatchRow,
  MessagesRepository,
} from './messages.repository.js';

/** Runs inside the batch's transaction for the stored rows that need it (content hooks). */
export type BatchHooks = (trx: Transaction<DB>, rows: readonly StoredMessage[]) => Promise<void>;

/**
 * What the batch did with one message: stored it, or refused it with the reason the checked path would give
 * (the caller answers from it without checking again).
 */
export type BatchOutcome =
  | { kind: 'stored'; row: StoredMessage }
  | { kind: 'refused'; reason: 'not_member' | 'blocked' }
  | { kind: 'duplicate'; original: { id: string; conversation_id: string } };

function toOutcome(r: BatchRow): BatchOutcome | undefined {
  if (r.refusal === 'duplicate') {
    return {
      kind: 'duplicate',
      original: { id: r.original_id as string, conversation_id: r.original_conversation_id as string },
    };
  }
  if (r.refusal) return { kind: 'refused', reason: r.refusal };
  if (r.id === null) return undefined;
  const { request_id, refusal, original_id, original_conversation_id, ...row } = r;
  return { kind: 'stored', row: row as StoredMessage };
}

/** Failures of a whole statement that another attempt may not meet: a unique race, a deadlock. */
const racy = (error: unknown) =>
  isUniqueViolation(error) || (error as { code?: unknown } | null)?.code === '40P01';

export interface SendBatcherOptions {
  db: Kysely<DB>;
  /** Whether a message needs the content hooks (then its batch runs in an explicit transaction). */
  needsHooks(input: AppendMessageInput): boolean;
  hooks: BatchHooks;
  /** At most this many messages per statement. */
  maxBatch?: number;
  /**
   * Conversations are spread over this many lanes (by id); each lane has at most one batch in flight, so a
   * conversation's messages are written in arrival order and two batches of one instance never wait on each
   * other's row locks.
   */
  lanes?: number;
  /** Called with the size of every batch written (metrics). */
  onBatch?(size: number): void;
}

interface Pending {
  input: BatchInput;
  key: string | null;
  resolve(outcome: BatchOutcome | undefined): void;
  reject(error: unknown): void;
}

interface Lane {
  queue: Pending[];
  busy: boolean;
  scheduled: boolean;
}

/**
 * `submit` resolves with the message's outcome (stored, or refused with its reason), or with `undefined` when
 * the batch could not tell: the conversation vanished, or the batch failed as a whole (a unique race with
 * another instance, a deadlock, a hook that threw, when it held several messages). The caller then takes the
 * checked one-message path, which gives the exact answer. A lone message that fails is rejected with its error,
 * except on a race (unique violation, deadlock), which the checked path resolves (a retry answer, not a 409).
 * A failed batch never leaves a seq gap: the statement (or its transaction) is atomic.
 */
export class SendBatcher {
  private readonly lanes: Lane[];
  private readonly maxBatch: number;

  private readonly repo: MessagesRepository;

  constructor(private readonly options: SendBatcherOptions) {
    this.repo = new MessagesRepository(options.db);
    this.maxBatch = options.maxBatch ?? 256;
    this.lanes = Array.from({ length: Math.max(1, options.lanes ?? 4) }, () => ({
      queue: [],
      busy: false,
      scheduled: false,
    }));
  }

  submit(input: AppendMessageInput): Promise<BatchOutcome | undefined> {
    return new Promise((resolve, reject) => {
      const key = input.client_id && input.sender_id ? `${input.sender_id}/${input.client_id}` : null;
      const lane = this.laneOf(input.conversation_id);
      lane.queue.push({ input: { ...input, id: newId() }, key, resolve, reject });
      this.schedule(lane);
    });
  }

  private laneOf(conversationId: string): Lane {
    // The last hex digits of a UUID (v7: random bits) spread conversations evenly.
    const n = Number.parseInt(conversationId.slice(-4), 16) || 0;
    return this.lanes[n % this.lanes.length] as Lane;
  }

  /** Same-tick arrivals (one read of many sockets) join one batch; a running batch takes the next ones after it. */
  private schedule(lane: Lane): void {
    if (lane.scheduled || lane.busy) return;
    lane.scheduled = true;
    setImmediate(() => {
      lane.scheduled = false;
      this.flush(lane);
    });
  }

  private flush(lane: Lane): void {
    if (lane.busy || lane.queue.length === 0) return;
    const batch = this.take(lane);
    lane.busy = true;
    void this.write(batch).finally(() => {
      lane.busy = false;
      this.flush(lane);
    });
  }

  /** The next batch: queue order, at most maxBatch, holding back a second use of one client_id. */
  private take(lane: Lane): Pending[] {
    const batch: Pending[] = [];
    const rest: Pending[] = [];
    const keys = new Set<string>();
    const held = new Set<string>();
    for (const p of lane.queue) {
      const conversation = p.input.conversation_id;
      const free =
        batch.length < this.maxBatch && !held.has(conversation) && (p.key === null || !keys.has(p.key));
      if (free) {
        batch.push(p);
        if (p.key) keys.add(p.key);
      } else {
        // Everything after a held-back message of this conversation waits too, to keep its order.
        held.add(conversation);
        rest.push(p);
      }
    }
    lane.queue = rest;
    return batch;
  }

  private async write(batch: Pending[]): Promise<void> {
    try {
      const withHooks = batch.filter((p) => this.options.needsHooks(p.input)).map((p) => p.input.id);
      const inputs = batch.map((p) => p.input);
      let rows: BatchRow[];
      if (withHooks.length === 0) {
        rows = await this.repo.insertBatch(inputs);
      } else {
        rows = await this.options.db.transaction().execute(async (trx) => {
          const written = await this.repo.insertBatch(inputs, trx);
          const hooked = new Set(withHooks);
          const stored = written.flatMap((r) => {
            const outcome = hooked.has(r.request_id) ? toOutcome(r) : undefined;
            return outcome?.kind === 'stored' ? [outcome.row] : [];
          });
          await this.options.hooks(trx, stored);
          return written;
        });
      }
      this.options.onBatch?.(batch.length);
      const byId = new Map(rows.map((r) => [r.request_id, r]));
      for (const p of batch) {
        const row = byId.get(p.input.id);
        p.resolve(row ? toOutcome(row) : undefined);
      }
    } catch (error) {
      // Several messages: each goes on alone, so one bad message cannot fail the others. One message: its own
      // error, unless it lost a race the checked path resolves (a concurrent send of its client_id).
      if (batch.length === 1 && !racy(error)) (batch[0] as Pending).reject(error);
      else for (const p of batch) p.resolve(undefined);
    }
  }
}
