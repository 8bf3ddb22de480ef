// A Twilio- and SendGrid-compatible provider stand-in for development, tests and the bench: the Messages API
// (MMS media fetched from MediaUrl as Twilio does) and v3 mail send (attachments decoded), signed status
// callbacks, events and inbound messages on demand, and fault injection.
import { generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { type FormParams, twilioSignature } from '../modules/channels/signatures.js';
import {
  bareAddress,
  DEFAULT_ACCOUNT_SID,
  DEFAULT_API_KEY,
  DEFAULT_AUTH_TOKEN,
  E164,
  type Faults,
  fetchMedia,
  INVALID_NUMBER,
  MAX_MEDIA,
  MAX_MEDIA_BYTES,
  PIXEL,
  type PostResult,
  type ProviderSimulatorOptions,
  parseForm,
  type SendGridMail,
  type SimAttachment,
  type SimMessage,
  sha256,
  sleep,
} from './model.js';

export class ProviderSimulator {
  readonly accountSid: string;
  readonly authToken: string;
  readonly apiKey: string;
  readonly messages = new Map<string, SimMessage>();
  /** API send requests received (faulted ones included), by "twilio" / "sendgrid". */
  readonly requests = { twilio: 0, sendgrid: 0 };
  faults: Faults = { latencyMs: 0, errorRate: 0, down: false };
  private readonly byKey = new Map<string, string>();
  private readonly privateKey: KeyObject;
  /** SendGrid's Event Webhook verification key: base64 DER (SubjectPublicKeyInfo). */
  readonly eventPublicKey: string;
  private server: FastifyInstance | undefined;
  private baseUrl = '';
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly options: ProviderSimulatorOptions = {}) {
    this.accountSid = options.accountSid ?? DEFAULT_ACCOUNT_SID;
    this.authToken = options.authToken ?? DEFAULT_AUTH_TOKEN;
    this.apiKey = options.apiKey ?? DEFAULT_API_KEY;
    const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    this.privateKey = pair.privateKey;
    this.eventPublicKey = pair.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
  }

  get url(): string {
    return this.baseUrl;
  }

  async start(port = 0): Promise<string> {
    if (this.server) return this.baseUrl;
    // 40 MB: a mail with 20 MB of files is about 27 MB of base64 JSON.
    const app = Fastify({ logger: false, bodyLimit: 40 * 1024 * 1024 });
    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string' },
      (_request, body, done) => done(null, parseForm(body as string)),
    );
    this.routes(app);
    await app.listen({ port, host: this.options.host ?? '127.0.0.1' });
    const bound = app.server.address();
    const actualPort = typeof bound === 'object' && bound ? bound.port : port;
    this.server = app;
    this.baseUrl = `http://${this.options.host && this.options.host !== '0.0.0.0' ? this.options.host : '127.0.0.1'}:${actualPort}`;
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const server = this.server;
    this.server = undefined;
    await server?.close();
  }

  setFaults(faults: Partial<Faults>): void {
    this.faults = { ...this.faults, ...faults };
  }

  resetFaults(): void {
    this.faults = { latencyMs: 0, errorRate: 0, down: false };
  }

  mediaUrl(name = 'pixel.png'): string {
    return `${this.baseUrl}/media/${name}`;
  }

  /** Signs and posts a form to TMA as Twilio would (X-Twilio-Signature over `url` + sorted params). */
  async postTwilio(
    url: string,
    params: FormParams,
    opts: { signature?: string; token?: string } = {},
  ): Promise<PostResult> {
    const form = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      for (const v of Array.isArray(value) ? value : [value]) form.append(key, v);
    }
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': opts.signature ?? twilioSignature(opts.token ?? this.authToken, url, params),
      },
      body: form.toString(),
    });
    return { status: res.status, body: await res.text() };
  }

  /** A status callback for a message this simulator accepted (to its StatusCallback, or `url`). */
  async sendStatus(
    sid: string,
    status: 'queued' | 'sent' | 'delivered' | 'failed' | 'undelivered',
    opts: { url?: string; signature?: string; errorCode?: string } = {},
  ): Promise<PostResult> {
    const message = this.messages.get(sid);
    const url = opts.url ?? message?.statusCallback;
    if (!url) throw new Error(`no status callback URL for ${sid}`);
    if (message) message.status = status;
    const params: FormParams = {
      MessageSid: sid,
      SmsSid: sid,
      MessageStatus: status,
      SmsStatus: status,
      AccountSid: this.accountSid,
      To: message?.to ?? '',
      From: message?.from ?? '',
      ApiVersion: '2010-04-01',
    };
    if (opts.errorCode) params.ErrorCode = opts.errorCode;
    return this.postTwilio(url, params, { signature: opts.signature });
  }

  /** An inbound SMS (or MMS with media URLs) from `from` to the team number `to`. */
  async sendInboundSms(
    url: string,
    input: { from: string; to: string; body: string; mediaUrls?: string[]; sid?: string },
    opts: { signature?: string; accountSid?: string } = {},
  ): Promise<PostResult & { sid: string }> {
    const sid = input.sid ?? `SM${randomBytes(16).toString('hex')}`;
    const media = input.mediaUrls ?? [];
    const params: FormParams = {
      MessageSid: sid,
      SmsMessageSid: sid,
      AccountSid: opts.accountSid ?? this.accountSid,
      From: input.from,
      To: input.to,
      Body: input.body,
      NumMedia: String(media.length),
      NumSegments: '1',
      ApiVersion: '2010-04-01',
    };
    media.forEach((mediaUrl, i) => {
      params[`MediaUrl${i}`] = mediaUrl;
      params[`MediaContentType${i}`] = 'image/png';
    });
    return { ...(await this.postTwilio(url, params, { signature: opts.signature })), sid };
  }

  /** Signs SendGrid events as the Event Webhook does; `timestamp` in Unix seconds. */
  signEvents(rawBody: string, timestamp: number): string {
    return sign('sha256', Buffer.from(`${timestamp}${rawBody}`, 'utf8'), this.privateKey).toString('base64');
  }

  /** Posts SendGrid Event Webhook events (a JSON array), signed unless told otherwise. */
  async sendEvents(
    url: string,
    events: Array<Record<string, unknown>>,
    opts: { timestamp?: number; signature?: string } = {},
  ): Promise<PostResult> {
    const raw = JSON.stringify(events);
    const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-twilio-email-event-webhook-timestamp': String(timestamp),
        'x-twilio-email-event-webhook-signature': opts.signature ?? this.signEvents(raw, timestamp),
      },
      body: raw,
    });
    return { status: res.status, body: await res.text() };
  }

  /** A delivery event for a mail this simulator accepted. */
  sendEmailEvent(
    url: string,
    messageId: string,
    event: 'processed' | 'delivered' | 'bounce' | 'dropped' | 'deferred',
    extra: Record<string, unknown> = {},
  ): Promise<PostResult> {
    const message = this.messages.get(messageId);
    return this.sendEvents(url, [
      {
        email: message?.to ?? 'someone@example.com',
        timestamp: Math.floor(Date.now() / 1000),
        event,
        sg_event_id: randomBytes(12).toString('base64url'),
        sg_message_id: `${messageId}.filter0001.1.0`,
        tma_message_id: message?.idempotencyKey,
        ...extra,
      },
    ]);
  }

  /** An Inbound Parse post (multipart/form-data), with attachments as files. */
  async sendInboundEmail(
    url: string,
    input: {
      from: string;
      to: string;
      subject?: string;
      text: string;
      attachments?: Array<{ filename: string; contentType: string; content: Buffer }>;
    },
  ): Promise<PostResult> {
    const form = new FormData();
    form.set('from', input.from);
    form.set('to', input.to);
    form.set('subject', input.subject ?? '');
    form.set('text', input.text);
    form.set('envelope', JSON.stringify({ from: bareAddress(input.from), to: [bareAddress(input.to)] }));
    const attachments = input.attachments ?? [];
    form.set('attachments', String(attachments.length));
    attachments.forEach((a, i) => {
      form.set(`attachment${i + 1}`, new Blob([a.content], { type: a.contentType }), a.filename);
    });
    const res = await fetch(url, { method: 'POST', body: form });
    return { status: res.status, body: await res.text() };
  }

  private schedule(fn: () => Promise<unknown>, delayMs: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn().catch(() => undefined);
    }, delayMs);
    this.timers.add(timer);
  }

  /** Fault injection for API requests; answers the reply when a fault applies. */
  private async fault(reply: FastifyReply): Promise<boolean> {
    if (this.faults.latencyMs > 0) await sleep(this.faults.latencyMs);
    if (this.faults.down) {
      await reply.status(503).send({ code: 20503, message: 'Service unavailable (simulated outage)' });
      return true;
    }
    const limit = this.faults.rateLimit;
    if (limit && limit.count > 0) {
      limit.count--;
      reply.header('retry-after', String(limit.retryAfterSeconds));
      await reply.status(429).send({ code: 20429, message: 'Too many requests (simulated)' });
      return true;
    }
    if (this.faults.errorRate > 0 && Math.random() < this.faults.errorRate) {
      await reply.status(503).send({ code: 20503, message: 'Service unavailable (simulated error rate)' });
      return true;
    }
    return false;
  }

  private basicAuthOk(request: FastifyRequest, sid: string): boolean {
    const header = request.headers.authorization ?? '';
    const expected = `Basic ${Buffer.from(`${this.accountSid}:${this.authToken}`).toString('base64')}`;
    return sid === this.accountSid && header === expected;
  }

  private routes(app: FastifyInstance): void {
    app.get('/health', async () => ({ status: 'ok' }));
    app.get<{ Params: { name: string } }>('/media/:name', async (_request, reply) =>
      reply.type('image/png').send(PIXEL),
    );

    app.post<{ Params: { sid: string }; Body: FormParams }>(
      '/2010-04-01/Accounts/:sid/Messages.json',
      async (request, reply) => {
        this.requests.twilio++;
        if (await this.fault(reply)) return reply;
        if (!this.basicAuthOk(request, request.params.sid)) {
          return reply.status(401).send({ code: 20003, message: 'Authenticate' });
        }
        const form = request.body ?? {};
        const first = (key: string) => {
          const v = form[key];
          return Array.isArray(v) ? v[0] : v;
        };
        const to = first('To') ?? '';
        const from = first('From') ?? '';
        // Twilio's magic test number for an invalid 'To'.
        if (!E164.test(to) || to === INVALID_NUMBER) {
          return reply
            .status(400)
            .send({ code: 21211, message: `The 'To' number ${to} is not a valid phone number.` });
        }
        const key = request.headers['idempotency-key'];
        const known = typeof key === 'string' ? this.byKey.get(key) : undefined;
        if (known) return reply.status(201).send(this.twilioView(this.messages.get(known) as SimMessage));
        const media =
          form.MediaUrl === undefined ? [] : Array.isArray(form.MediaUrl) ? form.MediaUrl : [form.MediaUrl];
        if (media.length > MAX_MEDIA) {
          return reply
            .status(400)
            .send({ code: 21623, message: `At most ${MAX_MEDIA} MediaUrl per message` });
        }
        if (!media.every((u) => /^https?:\/\//.test(u))) {
          return reply.status(400).send({ code: 21620, message: 'Invalid media URL(s)' });
        }
        const message: SimMessage = {
          id: `SM${randomBytes(16).toString('hex')}`,
          kind: 'sms',
          from,
          to,
          body: first('Body') ?? '',
          mediaUrls: media,
          media: [],
          mediaDone: media.length === 0,
          attachments: 0,
          files: [],
          statusCallback: first('StatusCallback'),
          idempotencyKey: typeof key === 'string' ? key : undefined,
          status: 'queued',
        };
        this.messages.set(message.id, message);
        if (message.idempotencyKey) this.byKey.set(message.idempotencyKey, message.id);
        // Like Twilio: accepted first, then the media is fetched, then the callbacks follow.
        this.schedule(() => this.deliverSms(message), 0);
        return reply.status(201).send(this.twilioView(message));
      },
    );

    app.post<{ Body: SendGridMail }>('/v3/mail/send', async (request, reply) => {
      this.requests.sendgrid++;
      if (await this.fault(reply)) return reply;
      if (request.headers.authorization !== `Bearer ${this.apiKey}`) {
        return reply
          .status(401)
          .send({ errors: [{ message: 'The provided authorization grant is invalid' }] });
      }
      const mail = request.body;
      const to = mail?.personalizations?.[0]?.to?.[0]?.email;
      if (!to || !mail.from?.email) {
        return reply.status(400).send({ errors: [{ message: 'personalizations.to and from are required' }] });
      }
      const files: SimAttachment[] = [];
      for (const [i, a] of (mail.attachments ?? []).entries()) {
        if (typeof a?.content !== 'string' || a.content === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(a.content)) {
          return reply.status(400).send({
            errors: [
              {
                message: 'The attachment content must be base64 encoded.',
                field: `attachments.${i}.content`,
              },
            ],
          });
        }
        if (typeof a.filename !== 'string' || a.filename === '') {
          return reply.status(400).send({
            errors: [{ message: 'The attachment filename is required.', field: `attachments.${i}.filename` }],
          });
        }
        const bytes = Buffer.from(a.content, 'base64');
        files.push({
          filename: a.filename,
          type: a.type ?? 'application/octet-stream',
          disposition: a.disposition ?? 'attachment',
          size: bytes.length,
          sha256: sha256(bytes),
        });
      }
      const key = request.headers['idempotency-key'];
      const known = typeof key === 'string' ? this.byKey.get(key) : undefined;
      if (known) return reply.status(202).header('x-message-id', known).send();
      const message: SimMessage = {
        id: randomBytes(16).toString('base64url'),
        kind: 'email',
        from: mail.from.email,
        to,
        body: mail.content?.[0]?.value ?? '',
        subject: mail.subject,
        mediaUrls: [],
        media: [],
        mediaDone: true,
        attachments: files.length,
        files,
        idempotencyKey: typeof key === 'string' ? key : undefined,
        status: 'queued',
      };
      this.messages.set(message.id, message);
      if (message.idempotencyKey) this.byKey.set(message.idempotencyKey, message.id);
      const eventsUrl = this.options.eventsUrl;
      if (this.options.autoCallbacks && eventsUrl) {
        const delay = this.options.callbackDelayMs ?? 50;
        this.schedule(() => this.sendEmailEvent(eventsUrl, message.id, 'delivered'), delay);
      }
      return reply.status(202).header('x-message-id', message.id).send();
    });

    // Development: faults, callbacks and inbound messages on demand.
    app.get('/dev/messages', async () => [...this.messages.values()]);
    app.get('/dev/stats', async () => this.stats());
    app.get('/dev/faults', async () => this.faults);
    app.post<{ Body: Partial<Faults> }>('/dev/faults', async (request) => {
      this.setFaults(request.body ?? {});
      return this.faults;
    });
    app.post<{ Body: { sid: string; status: 'sent' | 'delivered' | 'failed' | 'undelivered' } }>(
      '/dev/status',
      async (request) => this.sendStatus(request.body.sid, request.body.status),
    );
    app.post<{ Body: { target_url: string; from: string; to: string; body: string; media?: boolean } }>(
      '/dev/inbound/sms',
      async (request) => {
        const { target_url: url, media, ...input } = request.body;
        return this.sendInboundSms(url, { ...input, mediaUrls: media ? [this.mediaUrl()] : [] });
      },
    );
    app.post<{ Body: { target_url: string; from: string; to: string; subject?: string; text: string } }>(
      '/dev/inbound/email',
      async (request) => {
        const { target_url: url, ...input } = request.body;
        return this.sendInboundEmail(url, input);
      },
    );
    app.post<{ Body: { target_url: string; message_id: string; event: 'delivered' | 'bounce' } }>(
      '/dev/events',
      async (request) =>
        this.sendEmailEvent(request.body.target_url, request.body.message_id, request.body.event),
    );
  }

  /** Counts for the bench: API requests (faulted included) and messages accepted, per API. */
  stats(): { requests: { twilio: number; sendgrid: number }; messages: { sms: number; email: number } } {
    const messages = { sms: 0, email: 0 };
    for (const m of this.messages.values()) messages[m.kind]++;
    return { requests: { ...this.requests }, messages };
  }

  /** After an accepted SMS/MMS: fetch its media (as Twilio does), then the callbacks when they are on. */
  private async deliverSms(message: SimMessage): Promise<void> {
    if (message.mediaUrls.length > 0) {
      message.media = await Promise.all(message.mediaUrls.map((url) => fetchMedia(url)));
      message.mediaDone = true;
      const total = message.media.reduce((sum, m) => sum + m.size, 0);
      if (message.media.some((m) => m.status === null || m.status >= 300)) message.errorCode = '11200';
      else if (message.media.some((m) => !m.contentType || m.contentType === 'text/html'))
        message.errorCode = '12300';
      else if (total > MAX_MEDIA_BYTES) message.errorCode = '11751';
    }
    if (!this.options.autoCallbacks || !message.statusCallback) {
      if (message.errorCode) message.status = 'failed';
      return;
    }
    const delay = this.options.callbackDelayMs ?? 50;
    if (message.errorCode) {
      const errorCode = message.errorCode;
      this.schedule(() => this.sendStatus(message.id, 'failed', { errorCode }), delay);
      return;
    }
    this.schedule(() => this.sendStatus(message.id, 'sent'), delay);
    this.schedule(() => this.sendStatus(message.id, 'delivered'), delay * 2);
  }

  private twilioView(message: SimMessage): Record<string, unknown> {
    return {
      sid: message.id,
      account_sid: this.accountSid,
      to: message.to,
      from: message.from,
      body: message.body,
      status: message.status,
      num_media: String(message.mediaUrls.length),
      api_version: '2010-04-01',
    };
  }
}

export async function startProviderSimulator(
  options: ProviderSimulatorOptions & { port?: number } = {},
): Promise<ProviderSimulator> {
  const sim = new ProviderSimulator(options);
  await sim.start(options.port ?? 0);
  return sim;
}
