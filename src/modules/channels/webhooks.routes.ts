// /webhooks/twilio/{sms,status}, /webhooks/sendgrid/{events,inbound}: signatures checked on the raw body before
// anything is read; every request lands in webhook_logs (headers minus secrets, body hash, outcome).
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { UnauthenticatedError, ValidationError } from '../../errors.js';
import { errors } from '../../http/envelope.js';
import { fromSendgridEvent, fromTwilioStatus } from './channel-status.js';
import type { MediaItem } from './inbound-media.js';
import type { ProviderConfig } from './providers/provider-config.js';
import {
  type FormParams,
  safeEqual,
  sendgridPublicKey,
  verifySendgridSignature,
  verifyTwilioSignature,
} from './signatures.js';
import {
  bareAddress,
  EVENT_WINDOW_S,
  note,
  one,
  registerWebhookRequests,
  TWIML,
  type WebhookRouteDeps,
} from './webhook-requests.js';

export async function channelWebhookRoutes(app: FastifyInstance, deps: WebhookRouteDeps): Promise<void> {
  const { webhooks, providers, publicUrl } = deps;
  const twilio = providers.filter((p) => p.kind === 'twilio');
  const sendgrid = providers.filter((p) => p.kind === 'sendgrid');
  const eventKeys = sendgrid.flatMap((p) => {
    if (!p.eventPublicKey) return [];
    try {
      return [{ provider: p.name, key: sendgridPublicKey(p.eventPublicKey) }];
    } catch {
      return [];
    }
  });

  registerWebhookRequests(app, deps);

  /** The Twilio provider whose account sent this, with its signature checked (401 otherwise). */
  const verifyTwilio = (request: FastifyRequest, params: FormParams): ProviderConfig => {
    const accountSid = one(params, 'AccountSid');
    const provider = twilio.find((p) => p.accountSid === accountSid);
    const signature = request.headers['x-twilio-signature'];
    if (
      !provider ||
      !publicUrl ||
      !verifyTwilioSignature(
        provider.authToken as string,
        `${publicUrl}${request.url}`,
        params,
        typeof signature === 'string' ? signature : undefined,
      )
    ) {
      note(request, { outcome: 'bad_signature', provider: provider?.name ?? null });
      throw new UnauthenticatedError('signature_invalid', 'Webhook signature does not match');
    }
    note(request, { provider: provider.name });
    return provider;
  };

  const formBody = (request: FastifyRequest): FormParams => {
    if (!request.body || Buffer.isBuffer(request.body) || typeof request.body !== 'object') {
      throw new ValidationError('Expected a form-encoded body');
    }
    return request.body as FormParams;
  };

  const common = { config: { public: true }, schema: { tags: ['webhooks'], security: [], hide: false } };

  app.post(
    '/webhooks/twilio/sms',
    {
      ...common,
      schema: {
        ...common.schema,
        operationId: 'twilioInboundSms',
        description:
          'Signed with the auth token of the provider whose account_sid is AccountSid, over PUBLIC_URL + path + sorted params (401 otherwise, nothing stored). Threads the message into the inbox conversation of the sender; STOP/START keywords update the opt-out list; MMS media is fetched into file storage by a job. A replayed MessageSid is stored once. Answers empty TwiML.',
        response: {
          200: Type.String({ description: 'Empty TwiML (text/xml)' }),
          ...errors(400, 401, 413, 415),
        },
        summary: 'Inbound SMS/MMS (Twilio-compatible, X-Twilio-Signature)',
      },
    },
    async (request, reply) => {
      const params = formBody(request);
      const provider = verifyTwilio(request, params);
      const sid = one(params, 'MessageSid') ?? one(params, 'SmsMessageSid');
      const from = one(params, 'From');
      const to = one(params, 'To');
      if (!sid || !from || !to) throw new ValidationError('MessageSid, From and To are required');
      if (!(await webhooks.firstDelivery(`twilio:sms:${sid}`, 'twilio'))) {
        note(request, { outcome: 'replayed' });
        return reply.type('text/xml').send(TWIML);
      }
      const media: string[] = [];
      const count = Math.min(10, Number(one(params, 'NumMedia') ?? 0) || 0);
      for (let i = 0; i < count; i++) {
        const url = one(params, `MediaUrl${i}`);
        if (url && /^https?:\/\//.test(url)) media.push(url);
      }
      try {
        const { outcome } = await webhooks.inbound({
          channel: media.length > 0 ? 'mms' : 'sms',
          provider: provider.name,
          providerMessageId: sid,
          from,
          to: [to],
          body: (one(params, 'Body') ?? '').slice(0, 1600),
          subject: null,
          mediaUrls: media,
        });
        note(request, { outcome });
      } catch (error) {
        await deps.db.deleteFrom('webhook_receipts').where('id', '=', `twilio:sms:${sid}`).execute();
        throw error;
      }
      return reply.type('text/xml').send(TWIML);
    },
  );

  app.post(
    '/webhooks/twilio/status',
    {
      ...common,
      schema: {
        ...common.schema,
        operationId: 'twilioStatusCallback',
        description:
          'Signed like the inbound webhook. MessageStatus moves the message forward (sent, delivered, undelivered, failed; statuses never move back); a replay changes nothing. 204.',
        response: {
          204: Type.Null({ description: 'Applied, unchanged or a replay' }),
          ...errors(400, 401, 413, 415),
        },
        summary: 'Message status callbacks (Twilio-compatible, X-Twilio-Signature)',
      },
    },
    async (request, reply) => {
      const params = formBody(request);
      const provider = verifyTwilio(request, params);
      const sid = one(params, 'MessageSid') ?? one(params, 'SmsSid');
      const raw = one(params, 'MessageStatus') ?? one(params, 'SmsStatus');
      if (!sid || !raw) throw new ValidationError('MessageSid and MessageStatus are required');
      const status = fromTwilioStatus(raw);
      if (!status) {
        note(request, { outcome: 'ignored' });
        return reply.status(204).send();
      }
      const receipt = `twilio:status:${sid}:${raw}`;
      if (!(await webhooks.firstDelivery(receipt, 'twilio'))) {
        note(request, { outcome: 'replayed' });
        return reply.status(204).send();
      }
      const code = one(params, 'ErrorCode') ?? null;
      const outcome = await webhooks.status({ providerMessageId: sid }, status, provider.name, {
        code,
        message: code ? `provider error ${code}` : null,
      });
      note(request, { outcome });
      return reply.status(204).send();
    },
  );

  app.post(
    '/webhooks/sendgrid/events',
    {
      ...common,
      schema: {
        ...common.schema,
        operationId: 'sendgridEvents',
        description:
          "ECDSA P-256 signature over the timestamp header + raw body with the provider's event_public_key; a timestamp more than 5 minutes away is 401 signature_expired. Events are applied once per sg_event_id. 204.",
        response: {
          204: Type.Null({ description: 'Applied, unchanged or a replay' }),
          ...errors(400, 401, 413, 415),
        },
        summary: 'Event Webhook (SendGrid-compatible, ECDSA P-256 signed)',
      },
    },
    async (request, reply) => {
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const signature = request.headers['x-twilio-email-event-webhook-signature'];
      const timestamp = request.headers['x-twilio-email-event-webhook-timestamp'];
      const match =
        typeof signature === 'string' && typeof timestamp === 'string' && /^\d{1,12}$/.test(timestamp)
          ? eventKeys.find((k) => verifySendgridSignature(k.key, timestamp, raw, signature))
          : undefined;
      if (!match) {
        note(request, { outcome: 'bad_signature' });
        throw new UnauthenticatedError('signature_invalid', 'Webhook signature does not match');
      }
      note(request, { provider: match.provider });
      if (Math.abs(Date.now() / 1000 - Number(timestamp)) > EVENT_WINDOW_S) {
        note(request, { outcome: 'stale' });
        throw new UnauthenticatedError(
          'signature_expired',
          'Webhook timestamp is outside the 5-minute window',
        );
      }
      let events: unknown;
      try {
        events = JSON.parse(raw.toString('utf8'));
      } catch {
        throw new ValidationError('Request body is not valid JSON');
      }
      if (!Array.isArray(events) || events.length > 1000)
        throw new ValidationError('Expected a JSON array of events');
      let applied = 0;
      for (const item of events) {
        if (typeof item !== 'object' || item === null) continue;
        const e = item as Record<string, unknown>;
        const status = typeof e.event === 'string' ? fromSendgridEvent(e.event) : undefined;
        const eventId = typeof e.sg_event_id === 'string' ? e.sg_event_id : undefined;
        if (!status || !eventId || !(await webhooks.firstDelivery(`sendgrid:event:${eventId}`, 'sendgrid')))
          continue;
        const sgId = typeof e.sg_message_id === 'string' ? e.sg_message_id.split('.')[0] : undefined;
        const ours =
          typeof e.tma_message_id === 'string' && /^[0-9a-f-]{36}$/i.test(e.tma_message_id)
            ? e.tma_message_id
            : undefined;
        const reason = typeof e.reason === 'string' ? e.reason.slice(0, 300) : null;
        const outcome = await webhooks.status(
          { channelMessageId: ours, providerMessageId: sgId },
          status,
          match.provider,
          {
            code: typeof e.event === 'string' ? e.event : null,
            message: reason,
          },
        );
        if (outcome === 'applied') applied++;
      }
      note(request, { outcome: applied > 0 ? 'applied' : 'unchanged' });
      return reply.status(204).send();
    },
  );

  app.post<{ Querystring: { token?: string } }>(
    '/webhooks/sendgrid/inbound',
    {
      ...common,
      schema: {
        ...common.schema,
        operationId: 'sendgridInboundParse',
        description:
          "Inbound Parse (multipart/form-data), authenticated by the provider's inbound_token in the query. Threads the e-mail into the inbox conversation of the sender and stores its attachments as files; an identical body is stored once.",
        response: { 200: Type.Object({ received: Type.Literal(true) }), ...errors(400, 401, 413, 415) },
        summary: 'Inbound Parse (SendGrid-compatible multipart); ?token= must be a provider inbound_token',
      },
    },
    async (request, reply) => {
      const token = typeof request.query.token === 'string' ? request.query.token : '';
      const provider = sendgrid.find((p) => p.inboundToken !== undefined && safeEqual(token, p.inboundToken));
      if (!provider) {
        note(request, { outcome: 'bad_signature' });
        throw new UnauthenticatedError('signature_invalid', 'Inbound token does not match');
      }
      note(request, { provider: provider.name });
      const raw = Buffer.isBuffer(request.body) ? request.body : undefined;
      if (!raw) throw new ValidationError('Expected a multipart/form-data body');
      let form: FormData;
      try {
        form = await new Request('http://inbound.local/', {
          method: 'POST',
          headers: { 'content-type': String(request.headers['content-type']) },
          body: raw,
        }).formData();
      } catch {
        throw new ValidationError('Malformed multipart body');
      }
      const field = (name: string) => {
        const v = form.get(name);
        return typeof v === 'string' ? v : undefined;
      };
      let envelope: { from?: unknown; to?: unknown } = {};
      try {
        envelope = JSON.parse(field('envelope') ?? '{}') as typeof envelope;
      } catch {
        // headers below
      }
      const from = typeof envelope.from === 'string' ? envelope.from : bareAddress(field('from') ?? '');
      const to = Array.isArray(envelope.to)
        ? envelope.to.filter((t): t is string => typeof t === 'string')
        : (field('to') ?? '').split(',').map(bareAddress);
      if (!from || to.length === 0) throw new ValidationError('from and to are required');
      const digest = createHash('sha256').update(raw).digest('hex');
      if (!(await webhooks.firstDelivery(`sendgrid:inbound:${digest}`, 'sendgrid'))) {
        note(request, { outcome: 'replayed' });
        return reply.status(200).send({ received: true });
      }
      const files: MediaItem[] = [];
      for (const [name, value] of form.entries()) {
        if (!/^attachment\d+$/.test(name) || typeof value === 'string' || files.length >= 10) continue;
        files.push({
          filename: value.name || name,
          contentType: value.type || 'application/octet-stream',
          content: Buffer.from(await value.arrayBuffer()),
        });
      }
      try {
        const { outcome, channelMessageId } = await webhooks.inbound({
          channel: 'email',
          provider: provider.name,
          providerMessageId: null,
          from: bareAddress(from),
          to: to.map(bareAddress),
          body: (field('text') ?? '').slice(0, 10_000),
          subject: (field('subject') ?? '').slice(0, 998) || null,
          mediaUrls: [],
        });
        note(request, { outcome });
        if (channelMessageId && files.length > 0) await deps.media.store(channelMessageId, files);
      } catch (error) {
        await deps.db.deleteFrom('webhook_receipts').where('id', '=', `sendgrid:inbound:${digest}`).execute();
        throw error;
      }
      return reply.status(200).send({ received: true });
    },
  );
}
