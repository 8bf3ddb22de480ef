// Group commit for sends: messages that arrive while a write is in flight are stored together by ONE statement
// (one round trip, one WAL flush) instead of one transaction each. Order, seqs and idempotency stay per message.
import { type Kysely, sql, type Transaction } from 'kysely';
import { newId } from '../../db/ids.js';
import { prepared } from '../../db/prepared.js';
import type { DB, MessageRow } from '../../db/schema.js';
import type { AppendMessageInput } from './append-message.js';

/** Runs inside the batch's transaction for the stored rows that need it (content hooks). */
export type BatchHooks = (trx: Transaction<DB>, rows: readonly MessageRow[]) => Promise<void>;

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
  input: AppendMessageInput & { id: string };
  key: string | null;
  resolve(row: MessageRow | undefined): void;
  reject(error: unknown): void;
}

interface Lane {
  queue: Pending[];
  busy: boolean;
  scheduled: boolean;
}

/**
 * `submit` resolves with the stored row, or with `undefined` when the message was not written by the batch:
 * the sender is not a current member, a DM block applies, the (sender_id, client_id) already exists, the
 * conversation is gone, or the batch failed as a whole (a unique race, a deadlock with another instance,
 * a hook that threw). The caller then takes the checked one-message path, which gives the exact answer.
 * A failed batch never leaves a seq gap: the statement (or its transaction) is atomic.
 */
export class SendBatcher {
  private readonly lanes: Lane[];
  private readonly maxBatch: number;

  constructor(private readonly options: SendBatcherOptions) {
    this.maxBatch = options.maxBatch ?? 256;
    this.lanes = Array.from({ length: Math.max(1, options.lanes ?? 4) }, () => ({
      queue: [],
      busy: false,
      scheduled: false,
    }));
  }

  submit(input: AppendMessageInput): Promise<MessageRow | undefined> {
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
      let rows: MessageRow[];
      if (withHooks.length === 0) {
        rows = await insertBatch(this.options.db, batch);
      } else {
        rows = await this.options.db.transaction().execute(async (trx) => {
          const stored = await insertBatch(trx, batch);
          const hooked = new Set(withHooks);
          await this.options.hooks(
            trx,
            stored.filter((r) => hooked.has(r.id)),
          );
          return stored;
        });
      }
      this.options.onBatch?.(batch.length);
      const byId = new Map(rows.map((r) => [r.id, r]));
      for (const p of batch) p.resolve(byId.get(p.input.id));
    } catch (error) {
      // One message: its own error. Several: each goes on alone, so one bad message cannot fail the others.
      if (batch.length === 1) (batch[0] as Pending).reject(error);
      else for (const p of batch) p.resolve(undefined);
    }
  }
}

/**
 * One statement: keeps the messages whose sender is a current member (and, in a DM, not blocked either way)
 * and whose client_id is new; locks their conversations in id order (so batches of several instances cannot
 * deadlock on each other); takes consecutive seqs per conversation in arrival order; inserts the messages
 * and their `message.created` events. Rows not returned were not written and took no seq.
 */
async function insertBatch(
  db: Kysely<DB> | Transaction<DB>,
  batch: readonly Pending[],
): Promise<MessageRow[]> {
  const input = batch.map((p, idx) => ({
    idx,
    id: p.input.id,
    conversation_id: p.input.conversation_id,
    sender_id: p.input.sender_id,
    client_id: p.input.client_id ?? null,
    type: p.input.type,
    content: p.input.content,
    metadata: p.input.metadata ?? {},
    reply_to_id: p.input.reply_to_id ?? null,
    forwarded_from_id: p.input.forwarded_from_id ?? null,
  }));
  const result = await sql<MessageRow>`${sql.raw(prepared('tma_send_batch'))}
    WITH input AS (
      SELECT * FROM jsonb_to_recordset(${JSON.stringify(input)}::jsonb) AS x(
        idx int, id uuid, conversation_id uuid, sender_id uuid, client_id uuid, type text, content text,
        metadata jsonb, reply_to_id uuid, forwarded_from_id uuid)
    ), fresh AS (
      -- LATERAL ... LIMIT 1: one index probe per message, never a hash of a whole table (a plan made while
      -- the tables were small stays cheap as they grow).
      SELECT i.*, row_number() OVER (PARTITION BY i.conversation_id ORDER BY i.idx) AS rank
        FROM input i
       CROSS JOIN LATERAL (SELECT c.type FROM conversations c WHERE c.id = i.conversation_id LIMIT 1) AS c
       CROSS JOIN LATERAL (
             SELECT 1 FROM conversation_members cm
              WHERE cm.conversation_id = i.conversation_id AND cm.user_id = i.sender_id AND cm.left_at IS NULL
              LIMIT 1) AS member
        LEFT JOIN LATERAL (
             SELECT true AS taken FROM messages m
              WHERE m.sender_id = i.sender_id AND m.client_id = i.client_id
              LIMIT 1) AS dup ON true
        LEFT JOIN LATERAL (
             SELECT true AS blocked FROM user_blocks b
              JOIN conversation_members o
                ON o.conversation_id = i.conversation_id AND o.left_at IS NULL
               AND o.user_id = CASE WHEN b.blocker_id = i.sender_id THEN b.blocked_id ELSE b.blocker_id END
             WHERE c.type = 'dm' AND (b.blocker_id = i.sender_id OR b.blocked_id = i.sender_id)
             LIMIT 1) AS block ON true
       WHERE dup.taken IS NULL AND block.blocked IS NULL
    ), counts AS (
      SELECT conversation_id, count(*)::bigint AS n FROM fresh GROUP BY conversation_id
    ), locked AS MATERIALIZED (
      SELECT c.id FROM conversations c
       WHERE c.id IN (SELECT conversation_id FROM counts)
       ORDER BY c.id
         FOR UPDATE OF c
    ), next AS (
      UPDATE conversations c
         SET last_seq = c.last_seq + counts.n, last_message_at = GREATEST(c.last_message_at, now())
        FROM counts
       WHERE c.id = counts.conversation_id
         -- Evaluated once, before the first row is updated: every lock is taken by \`locked\`, in id order.
         AND (SELECT count(*) FROM locked) > 0
      RETURNING c.id, c.last_seq - counts.n AS base
    ), bases AS MATERIALIZED (
      -- One row: conversation id -> the seq before this batch (a lookup per message, not a join of CTEs).
      SELECT jsonb_object_agg(id, base) AS base FROM next
    ), message AS (
      INSERT INTO messages (id, conversation_id, seq, sender_id, client_id, type, content, metadata,
                            reply_to_id, forwarded_from_id)
      SELECT f.id, f.conversation_id, (b.base ->> f.conversation_id::text)::bigint + f.rank, f.sender_id,
             f.client_id, f.type, f.content, f.metadata, f.reply_to_id, f.forwarded_from_id
        FROM fresh f CROSS JOIN bases b
       WHERE b.base ? f.conversation_id::text
      RETURNING id, conversation_id, seq, sender_id, client_id, type, content, metadata, reply_to_id,
                forwarded_from_id, created_at, edited_at, deleted_at
    ), event AS (
      INSERT INTO conversation_events (conversation_id, seq, type, actor_id, message_id, payload)
      SELECT conversation_id, seq, 'message.created', sender_id, id, '{}'::jsonb FROM message
    )
    SELECT * FROM message`.execute(db);
  return result.rows;
}
