// Messages between the bench runner and its load-generator processes (IPC), and the bench message format.
import type { HistogramSnapshot } from './histogram.js';

export type TargetKind = 'tma' | 'baseline';

export interface ClientSpec {
  userId: string;
  /** Access token (TMA); the relay takes none. */
  token?: string;
  /** Conversations (rooms) this client is a member of; the relay joins them from the handshake. */
  conversations: string[];
  /** Where this client sends, or null for a receiver only. */
  sendTo: string | null;
  /** Source address of the socket (127.0.0.2, 127.0.0.3, ...). */
  localAddress?: string;
  /** Server URL for this client when it differs from the run's (two instances). */
  url?: string;
  /** Conversation last_seq when seeded (restart: the cursor a client starts from). */
  startSeq?: Record<string, number>;
}

export type ToWorker =
  | {
      type: 'connect';
      url: string;
      kind: TargetKind;
      clients: ClientSpec[];
      concurrency: number;
      timeoutMs: number;
      reconnect: boolean;
    }
  | { type: 'run'; phase: number; intervalMs: number; durationMs: number; drainMs: number; startAt: number }
  | { type: 'flow'; intervalMs: number }
  | { type: 'stop_flow'; settleMs: number }
  | { type: 'collect' }
  | { type: 'close' };

export interface ConnectReport {
  type: 'connected';
  ok: number;
  failed: number;
  errors: Record<string, number>;
  elapsedMs: number;
  connectLatency: HistogramSnapshot;
}

export interface RunReport {
  type: 'result';
  phase: number;
  sent: number;
  acked: number;
  ackErrors: Record<string, number>;
  /** Messages of this phase received from others. */
  received: number;
  /** Messages received twice (same client_id at the same socket). */
  duplicates: number;
  latency: HistogramSnapshot;
  ackLatency: HistogramSnapshot;
  /** client_id -> latest receipt latency (µs) seen by this process. */
  lastReceipt: Record<string, number>;
  cpuMicros: number;
}

export interface FlowReport {
  type: 'flow_stopped';
  sent: number;
  acked: number;
  retries: number;
  unacked: number;
  /** Acked client_id -> seq, for checking against the server's history. */
  ackedIds: Record<string, { conversation_id: string; seq: number }>;
}

export interface CollectReport {
  type: 'collected';
  /** Per client: conversation -> message seqs received (live or by catch-up), above startSeq. */
  clients: Array<{ userId: string; seqs: Record<string, number[]> }>;
  reconnects: number;
  /** Epoch ms when the last client reconnected, and when the last one finished catching up. */
  lastReconnectAt: number;
  lastCaughtUpAt: number;
  disconnectedNow: number;
  syncErrors: number;
}

export type FromWorker =
  | ConnectReport
  | RunReport
  | FlowReport
  | CollectReport
  | { type: 'closed' }
  | { type: 'error'; message: string };

/** Bench message content: phase and high-resolution send time, so any process can measure latency. */
export const encodeContent = (phase: number, sentAt: number): string => `b|${phase}|${sentAt.toFixed(3)}`;

export function decodeContent(content: unknown): { phase: number; sentAt: number } | undefined {
  if (typeof content !== 'string' || !content.startsWith('b|')) return undefined;
  const bar = content.indexOf('|', 2);
  if (bar < 0) return undefined;
  const phase = Number(content.slice(2, bar));
  const sentAt = Number(content.slice(bar + 1));
  return Number.isFinite(phase) && Number.isFinite(sentAt) ? { phase, sentAt } : undefined;
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes on one machine. */
export const nowMs = (): number => performance.timeOrigin + performance.now();
