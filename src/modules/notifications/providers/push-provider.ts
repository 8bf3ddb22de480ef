// What a push provider answers, whatever the service: sent, the device is gone, try again later, or never.
export type PushOutcome =
  | { kind: 'sent' }
  /** 404/410: the subscription or token no longer exists; the device is deleted. */
  | { kind: 'gone'; status: number }
  /** 429/5xx or a network failure: retried (Retry-After honoured). */
  | { kind: 'retry'; status: number | null; retryAfterSeconds: number | undefined; error: string }
  /** 400/401/403 and anything else: not retried. */
  | { kind: 'permanent'; status: number | null; error: string };

export interface PushMessage {
  title: string;
  body: string;
  /** Extra fields for the client (conversation_id, notification_id, count...), strings only for FCM. */
  data: Record<string, string>;
  sound: boolean;
}

export function outcomeOf(status: number, retryAfter: string | null | undefined, error: string): PushOutcome {
  if (status >= 200 && status < 300) return { kind: 'sent' };
  if (status === 404 || status === 410) return { kind: 'gone', status };
  if (status === 429 || status >= 500) {
    return { kind: 'retry', status, retryAfterSeconds: parseRetryAfter(retryAfter), error };
  }
  return { kind: 'permanent', status, error };
}

/** Retry-After as seconds (delta or HTTP date), capped at one hour. */
export function parseRetryAfter(value: string | null | undefined): number | undefined {
  if (!value) return undefined;
  const seconds = /^\d+$/.test(value.trim()) ? Number(value) : (Date.parse(value) - Date.now()) / 1000;
  if (!Number.isFinite(seconds)) return undefined;
  return Math.min(3600, Math.max(0, Math.ceil(seconds)));
}
