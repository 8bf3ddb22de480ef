// The one interface every channel provider implements, and the error that says what a failure means for retries.
import type { ChannelKind } from '../../../db/schema.js';
import type { ProviderConfig } from './provider-config.js';

export interface OutboundAttachment {
  filename: string;
  contentType: string;
  content: Buffer;
}

export interface OutboundMessage {
  /** The channel message id: the provider-side idempotency key of every attempt. */
  id: string;
  channel: ChannelKind;
  from: string;
  to: string;
  body: string;
  subject?: string | null;
  /** MMS: public URLs the provider fetches the media from. */
  mediaUrls?: string[];
  /** Email: files sent inline in the mail. */
  attachments?: OutboundAttachment[];
  /** Twilio: where status callbacks go (PUBLIC_URL + the status webhook path). */
  statusCallback?: string;
}

export interface SendResult {
  providerMessageId: string;
  /** What the provider said it did: queued/accepted (callbacks will follow) or sent (SMTP accepted it). */
  status: 'queued' | 'sent';
}

export interface ChannelProvider {
  readonly config: ProviderConfig;
  send(message: OutboundMessage, signal: AbortSignal): Promise<SendResult>;
  close?(): Promise<void> | void;
}

/**
 * - `permanent`: the message itself was refused (bad recipient, body): no retry, no failover.
 * - `provider`: this provider cannot serve us (credentials, unknown account): fail over at once.
 * - `transient`: 5xx, 429, network, timeout: retry with backoff, then fail over; counts against the breaker.
 */
export type ProviderErrorKind = 'permanent' | 'provider' | 'transient';

export class ProviderError extends Error {
  constructor(
    readonly kind: ProviderErrorKind,
    message: string,
    readonly details: {
      status?: number;
      code?: string;
      /** 429: the provider's Retry-After, in milliseconds. */
      retryAfterMs?: number;
      /** The request may have reached the provider (timeout, connection lost after sending). */
      uncertain?: boolean;
    } = {},
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}

/** Retry-After as seconds or an HTTP date, in milliseconds. */
export function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** Maps an HTTP answer of a provider API to a ProviderError. */
export function httpError(
  provider: string,
  status: number,
  body: string,
  retryAfter: string | null,
): ProviderError {
  let code: string | undefined;
  let detail = body.slice(0, 300);
  try {
    const parsed = JSON.parse(body) as {
      code?: unknown;
      message?: unknown;
      errors?: Array<{ message?: unknown }>;
    };
    if (parsed.code !== undefined) code = String(parsed.code);
    const message = parsed.message ?? parsed.errors?.[0]?.message;
    if (typeof message === 'string') detail = message.slice(0, 300);
  } catch {
    // not JSON: keep the text
  }
  const message = `${provider} answered ${status}${detail ? `: ${detail}` : ''}`;
  if (status === 429 || status >= 500 || status === 408) {
    return new ProviderError('transient', message, { status, code, retryAfterMs: retryAfterMs(retryAfter) });
  }
  if (status === 401 || status === 403 || status === 404)
    return new ProviderError('provider', message, { status, code });
  return new ProviderError('permanent', message, { status, code });
}

/** A fetch failure (network, abort) as a transient, possibly uncertain, ProviderError. */
export function networkError(provider: string, error: unknown, signal: AbortSignal): ProviderError {
  if (error instanceof ProviderError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ProviderError('transient', `${provider}: ${signal.aborted ? 'timed out' : message}`, {
    uncertain: true,
    code: signal.aborted ? 'timeout' : 'network',
  });
}
