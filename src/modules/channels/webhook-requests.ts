// Webhook requests: raw bodies kept for signatures (form, JSON and multipart, each with its size cap), and every
// request logged in webhook_logs (headers minus secrets, body hash, outcome) when its answer is sent.
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { newId } from '../../db/ids.js';
import type { DB } from '../../db/schema.js';
import type { InboundMedia } from './inbound-media.js';
import type { ProviderConfig } from './providers/provider-config.js';
import type { ChannelMetrics } from './providers/provider-router.js';
import type { FormParams } from './signatures.js';
import type { ChannelWebhooks } from './webhooks.service.js';

export const EVENT_WINDOW_S = 300;
const MAX_FORM_BYTES = 256 * 1024;
const MAX_EVENTS_BYTES = 2 * 1024 * 1024;
const MAX_INBOUND_EMAIL_BYTES = 20 * 1024 * 1024;
const SECRET_HEADERS = new Set([
  'authorization',
  'cookie',
  'x-twilio-signature',
  'x-twilio-email-event-webhook-signature',
]);

interface Received {
  raw: Buffer;
  source: string;
  provider: string | null;
  outcome: string;
}

const received = new WeakMap<FastifyRequest, Received>();
export const TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';

export interface WebhookRouteDeps {
  db: Kysely<DB>;
  webhooks: ChannelWebhooks;
  providers: ProviderConfig[];
  publicUrl: string | undefined;
  metrics: ChannelMetrics;
  media: InboundMedia;
}

export function parseForm(body: string): FormParams {
  const out: FormParams = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const existing = out[key];
    if (existing === undefined) out[key] = value;
    else out[key] = Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return out;
}

export const one = (params: FormParams, key: string): string | undefined => {
  const value = params[key];
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' && first.length <= 20_000 ? first : undefined;
};

export function note(request: FastifyRequest, patch: Partial<Received>): void {
  const entry = received.get(request);
  if (entry) Object.assign(entry, patch);
}

export function bareAddress(value: string): string {
  return (/<([^>]+)>/.exec(value)?.[1] ?? value).trim();
}

/** Body parsers and the log hook for the webhook scope (encapsulated: only these routes parse bodies this way). */
export function registerWebhookRequests(
  app: FastifyInstance,
  deps: Pick<WebhookRouteDeps, 'db' | 'metrics'>,
): void {
  const { metrics } = deps;
  const keep = (source: string) => (request: FastifyRequest, raw: Buffer) =>
    received.set(request, { raw, source, provider: null, outcome: 'received' });

  // Encapsulated: only these routes parse bodies this way.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'buffer', bodyLimit: MAX_FORM_BYTES },
    (request, body, done) => {
      keep(request.url)(request, body as Buffer);
      done(null, parseForm((body as Buffer).toString('utf8')));
    },
  );
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit: MAX_EVENTS_BYTES },
    (request, body, done) => {
      keep(request.url)(request, body as Buffer);
      done(null, body);
    },
  );
  app.addContentTypeParser(
    'multipart/form-data',
    { parseAs: 'buffer', bodyLimit: MAX_INBOUND_EMAIL_BYTES },
    (request, body, done) => {
      keep(request.url)(request, body as Buffer);
      done(null, body);
    },
  );

  // Logged before the answer leaves (onSend, every status included): a provider that got an answer, or a test
  // that reads the log right after it, always finds the row.
  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const entry = received.get(request);
    const raw = entry?.raw ?? Buffer.alloc(0);
    const source = (request.routeOptions.url ?? request.url)
      .replace(/^\/api\/v1\/webhooks\//, '')
      .replace('/', '.');
    const outcome =
      entry?.outcome === 'received' || !entry ? (reply.statusCode >= 400 ? 'rejected' : 'ok') : entry.outcome;
    const headers = Object.fromEntries(
      Object.entries(request.headers).filter(([name]) => !SECRET_HEADERS.has(name.toLowerCase())),
    );
    metrics.webhooks.inc({ source, outcome });
    await deps.db
      .insertInto('webhook_logs')
      .values({
        id: newId(),
        source,
        provider: entry?.provider ?? null,
        headers: JSON.stringify(headers),
        body_sha256: createHash('sha256').update(raw).digest('hex'),
        body_bytes: raw.length,
        outcome,
        status_code: reply.statusCode,
        detail: null,
      })
      .execute()
      .catch((err: unknown) => request.log.warn({ err }, 'webhook log write failed'));
    return payload;
  });
}
