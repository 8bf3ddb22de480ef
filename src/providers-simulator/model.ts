// The provider simulator's model: what it records of each message, its options and faults, and the helpers of its
// two APIs (form parsing, addresses, MediaUrl fetches).
import { createHash } from 'node:crypto';

// The parsing of the provider APIs is the same as on the receiving side.
export { bareAddress, parseForm } from '../modules/channels/webhook-requests.js';

export interface Faults {
  /** Added before every API answer. */
  latencyMs: number;
  /** 0..1: share of API requests answered 503. */
  errorRate: number;
  /** Every API request answered 503. */
  down: boolean;
  /** Answer 429 with this Retry-After (seconds) to the next `count` API requests. */
  rateLimit?: { retryAfterSeconds: number; count: number };
}

/** One MediaUrl as fetched after the send was accepted (status null: the fetch failed before an answer). */
export interface SimMedia {
  url: string;
  status: number | null;
  contentType: string;
  size: number;
  sha256: string;
  error?: string;
}

/** One e-mail attachment as received (content decoded from base64). */
export interface SimAttachment {
  filename: string;
  type: string;
  disposition: string;
  size: number;
  sha256: string;
}

export interface SimMessage {
  id: string;
  kind: 'sms' | 'email';
  from: string;
  to: string;
  body: string;
  subject?: string;
  mediaUrls: string[];
  /** MMS: the media fetched from mediaUrls, filled in once every fetch finished (`mediaDone`). */
  media: SimMedia[];
  mediaDone: boolean;
  /** Twilio's error code when the media could not be used (11200 fetch, 12300 type, 11751 size). */
  errorCode?: string;
  attachments: number;
  files: SimAttachment[];
  statusCallback?: string;
  idempotencyKey?: string;
  status: string;
}

export interface ProviderSimulatorOptions {
  host?: string;
  accountSid?: string;
  authToken?: string;
  apiKey?: string;
  /** Send `sent` then `delivered` callbacks (Twilio) or events (SendGrid) by itself after each send. */
  autoCallbacks?: boolean;
  /** Where SendGrid events go when autoCallbacks is on. */
  eventsUrl?: string;
  callbackDelayMs?: number;
}

export const DEFAULT_ACCOUNT_SID = 'AC00000000000000000000000000000001';
export const DEFAULT_AUTH_TOKEN = 'simulator-auth-token';
export const DEFAULT_API_KEY = 'SG.simulator-api-key';

// A 1x1 PNG: the MMS media the simulator serves.
export const PIXEL = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

export const E164 = /^\+[1-9]\d{6,14}$/;
/** Twilio: at most 10 media and 5 MB together per MMS. */
export const MAX_MEDIA = 10;
export const MAX_MEDIA_BYTES = 5 * 1024 * 1024;
export const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
/** Refused with 400 / 21211 like Twilio's test credentials do. */
export const INVALID_NUMBER = '+15005550001';
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface PostResult {
  status: number;
  body: string;
}

export interface SendGridMail {
  personalizations?: Array<{ to?: Array<{ email?: string }> }>;
  from?: { email?: string };
  subject?: string;
  content?: Array<{ type: string; value: string }>;
  attachments?: Array<{ content?: unknown; filename?: unknown; type?: string; disposition?: string }>;
}

/** GET a MediaUrl (following redirects, 10 s at most) and describe what came back. */
export async function fetchMedia(url: string): Promise<SimMedia> {
  try {
    const res = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(10_000) });
    const bytes = Buffer.from(await res.arrayBuffer());
    return {
      url,
      status: res.status,
      contentType: res.headers.get('content-type')?.split(';')[0]?.trim() ?? '',
      size: bytes.length,
      sha256: sha256(bytes),
    };
  } catch (error) {
    return {
      url,
      status: null,
      contentType: '',
      size: 0,
      sha256: '',
      error: error instanceof Error ? error.message : String(error),
    };
  }
}
