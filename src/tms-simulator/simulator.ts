// A Team Management System stand-in implementing the TMS contract (DESIGN.md section 8) for development and tests.
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

type CryptoKeyLike = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

export interface SimUser {
  id: string;
  username: string;
  email: string | null;
  display_name: string;
  position: string | null;
  avatar_url: string | null;
  role: string;
  active: boolean;
  updated_at: string;
}

export type SimAlg = 'HS256' | 'RS256' | 'ES256';

export interface TmsSimulatorOptions {
  host?: string;
  /** HS256 signing secret (TMA's JWT_SECRET in HS256 setups). */
  jwtSecret?: string;
  issuer?: string;
  audience?: string;
  /** When set, API calls must send it as X-API-Key. */
  apiKey?: string;
  webhookSecret?: string;
  /** Replaces the seeded users. */
  users?: Array<Partial<SimUser> & { id: string; username: string }>;
  accessTokenTtlSeconds?: number;
}

export interface MintOptions {
  alg?: SimAlg;
  /** Seconds from now; negative for an already expired token. */
  expiresIn?: number;
  sid?: string;
  role?: string;
  roles?: string[];
  issuer?: string;
  audience?: string;
  /** Sign HS256 with this secret instead of the simulator's (wrong-signature tests). */
  secret?: string;
  /** Leave out `exp`. */
  noExp?: boolean;
}

export interface WebhookEvent {
  id?: string;
  type: 'user.updated' | 'user.deleted' | 'user.deactivated' | 'session.revoked';
  data: Record<string, unknown>;
}

export interface WebhookOptions {
  /** Unix seconds; defaults to now. */
  timestamp?: number;
  secret?: string;
  /** Send exactly this signature header. */
  signature?: string;
}

interface KeyEntry {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: CryptoKeyLike;
  publicJwk: JWK;
}

export const DEFAULT_SIM_SECRET = 'tms-simulator-dev-secret-change-me-0123456789';

const now = () => new Date().toISOString();

function seedUsers(): SimUser[] {
  const base = (id: string, username: string, display: string, role: string, position: string) => ({
    id,
    username,
    email: `${username}@tms.example`,
    display_name: display,
    position,
    avatar_url: null,
    role,
    active: true,
    updated_at: now(),
  });
  return [
    base('tms-u-1', 'alice', 'Alice Admin', 'admin', 'CTO'),
    base('tms-u-2', 'bob', 'Bob Builder', 'employee', 'Engineer'),
    base('tms-u-3', 'carol', 'Carol Chen', 'manager', 'Product manager'),
    base('tms-u-4', 'dave', 'Dave Doe', 'employee', 'Support'),
  ];
}

export class TmsSimulator {
  readonly users = new Map<string, SimUser>();
  /** Request counts by "METHOD /route", for tests that check batching. */
  readonly calls = new Map<string, number>();
  readonly loggedOut = new Set<string>();
  private readonly refreshTokens = new Map<string, { userId: string; sid: string }>();
  private keys: KeyEntry[] = [];
  private readonly injectedFailures: Array<{ status: number; retryAfter?: number }> = [];
  private server: FastifyInstance | undefined;
  private baseUrl = '';
  private lastPort = 0;
  readonly jwtSecret: string;
  readonly issuer: string | undefined;
  readonly audience: string | undefined;
  readonly webhookSecret: string;

  constructor(private readonly options: TmsSimulatorOptions = {}) {
    this.jwtSecret = options.jwtSecret ?? DEFAULT_SIM_SECRET;
    this.issuer = options.issuer;
    this.audience = options.audience;
    this.webhookSecret = options.webhookSecret ?? 'tms-simulator-webhook-secret';
    const users = options.users
      ? options.users.map((u) => ({ ...seedUsers()[1], ...u, updated_at: u.updated_at ?? now() }) as SimUser)
      : seedUsers();
    for (const user of users) this.users.set(user.id, user);
  }

  get url(): string {
    return this.baseUrl;
  }

  get jwksUrl(): string {
    return `${this.baseUrl}/.well-known/jwks.json`;
  }

  /** Listens (port 0 = any free port; a restart reuses the previous port) and returns the base URL. */
  async start(opts: { port?: number } = {}): Promise<string> {
    if (this.server) return this.baseUrl;
    if (this.keys.length === 0) await this.rotateKeys();
    const app = Fastify({ logger: false });
    this.routes(app);
    const port = opts.port ?? this.lastPort;
    const address = await app.listen({ port, host: this.options.host ?? '127.0.0.1' });
    this.server = app;
    const bound = app.server.address();
    this.lastPort = typeof bound === 'object' && bound ? bound.port : port;
    this.baseUrl = address.replace('[::1]', 'localhost');
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await server?.close();
  }

  /** New RS256 and ES256 signing keys; old ones are dropped from the JWKS unless keepOld. */
  async rotateKeys(keepOld = false): Promise<void> {
    const fresh: KeyEntry[] = [];
    for (const alg of ['RS256', 'ES256'] as const) {
      const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
      const kid = `${alg.toLowerCase()}-${randomBytes(4).toString('hex')}`;
      const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
      fresh.push({ kid, alg, privateKey, publicJwk });
    }
    this.keys = keepOld ? [...fresh, ...this.keys] : fresh;
  }

  /** The next `count` API calls (not the JWKS or dev endpoints) answer `status` (e.g. 503, or 429 with Retry-After). */
  failNext(count: number, status: number, retryAfter?: number): void {
    for (let i = 0; i < count; i++) this.injectedFailures.push({ status, retryAfter });
  }

  jwks(): { keys: JWK[] } {
    return { keys: this.keys.map((k) => k.publicJwk) };
  }

  upsertUser(user: Partial<SimUser> & { id: string; username: string }): SimUser {
    const existing = this.users.get(user.id);
    const next: SimUser = {
      email: null,
      display_name: user.username,
      position: null,
      avatar_url: null,
      role: 'employee',
      active: true,
      ...existing,
      ...user,
      updated_at: now(),
    };
    this.users.set(next.id, next);
    return next;
  }

  updateUser(id: string, changes: Partial<Omit<SimUser, 'id'>>): SimUser {
    const user = this.users.get(id);
    if (!user) throw new Error(`unknown TMS user ${id}`);
    return this.upsertUser({ ...user, ...changes });
  }

  async mintToken(userId: string, opts: MintOptions = {}): Promise<string> {
    const user = this.users.get(userId);
    const alg = opts.alg ?? 'HS256';
    const claims: Record<string, unknown> = { sid: opts.sid ?? randomUUID() };
    if (opts.roles) claims.roles = opts.roles;
    else claims.role = opts.role ?? user?.role ?? 'employee';
    let jwt = new SignJWT(claims).setSubject(userId).setIssuedAt();
    if (!opts.noExp) {
      jwt = jwt.setExpirationTime(
        Math.floor(Date.now() / 1000) + (opts.expiresIn ?? this.options.accessTokenTtlSeconds ?? 900),
      );
    }
    const issuer = opts.issuer ?? this.issuer;
    const audience = opts.audience ?? this.audience;
    if (issuer) jwt = jwt.setIssuer(issuer);
    if (audience) jwt = jwt.setAudience(audience);
    if (alg === 'HS256') {
      return jwt
        .setProtectedHeader({ alg, typ: 'JWT' })
        .sign(new TextEncoder().encode(opts.secret ?? this.jwtSecret));
    }
    if (this.keys.length === 0) await this.rotateKeys();
    const key = this.keys.find((k) => k.alg === alg) as KeyEntry;
    return jwt.setProtectedHeader({ alg, kid: key.kid, typ: 'JWT' }).sign(key.privateKey);
  }

  /** A session as TMS login would create it: access + refresh token sharing a sid. */
  async issueSession(
    userId: string,
    opts: MintOptions = {},
  ): Promise<{ access_token: string; refresh_token: string; sid: string }> {
    const sid = opts.sid ?? randomUUID();
    const refresh = randomBytes(24).toString('base64url');
    this.refreshTokens.set(refresh, { userId, sid });
    return { access_token: await this.mintToken(userId, { ...opts, sid }), refresh_token: refresh, sid };
  }

  signWebhook(rawBody: string, timestamp: number, secret = this.webhookSecret): string {
    return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')}`;
  }

  /** Delivers a signed webhook to TMA (e.g. `${tmaUrl}/api/v1/webhooks/tms`). */
  async sendWebhook(
    targetUrl: string,
    event: WebhookEvent,
    opts: WebhookOptions = {},
  ): Promise<{ status: number; body: unknown; id: string }> {
    const id = event.id ?? randomUUID();
    const raw = JSON.stringify({ id, type: event.type, data: event.data });
    const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
    const res = await fetch(targetUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-tms-timestamp': String(timestamp),
        'x-tms-signature': opts.signature ?? this.signWebhook(raw, timestamp, opts.secret),
      },
      body: raw,
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body, id };
  }

  private count(request: FastifyRequest): void {
    const key = `${request.method} ${request.routeOptions.url ?? request.url}`;
    this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
  }

  private checkKey(request: FastifyRequest, reply: FastifyReply): boolean {
    if (!this.options.apiKey || request.headers['x-api-key'] === this.options.apiKey) return true;
    void reply.status(401).send({ error: 'invalid_api_key' });
    return false;
  }

  private routes(app: FastifyInstance): void {
    app.addHook('onRequest', async (request, reply) => {
      this.count(request);
      const path = request.url.split('?')[0] ?? '';
      if (path.startsWith('/dev/') || path.startsWith('/.well-known/') || path.startsWith('/login')) return;
      const failure = this.injectedFailures.shift();
      if (!failure) return;
      if (failure.retryAfter !== undefined) reply.header('retry-after', String(failure.retryAfter));
      return reply.status(failure.status).send({ error: 'injected failure' });
    });

    app.get('/health', async () => ({ status: 'ok' }));
    app.get('/.well-known/jwks.json', async () => this.jwks());

    app.get<{ Params: { id: string } }>('/users/:id', async (request, reply) => {
      if (!this.checkKey(request, reply)) return reply;
      const user = this.users.get(request.params.id);
      if (!user) return reply.status(404).send({ error: 'not_found' });
      return user;
    });

    app.post<{ Body: { ids?: unknown } }>('/users/batch', async (request, reply) => {
      if (!this.checkKey(request, reply)) return reply;
      const ids = Array.isArray(request.body?.ids)
        ? request.body.ids.filter((i) => typeof i === 'string')
        : [];
      return { users: ids.map((id) => this.users.get(id)).filter((u) => u !== undefined) };
    });

    app.get<{ Querystring: { updated_since?: string } }>('/users', async (request, reply) => {
      if (!this.checkKey(request, reply)) return reply;
      const since = request.query.updated_since ? Date.parse(request.query.updated_since) : Number.NaN;
      const users = [...this.users.values()].filter(
        (u) => Number.isNaN(since) || Date.parse(u.updated_at) > since,
      );
      return { users };
    });

    app.post<{ Body: { refresh_token?: string } }>('/auth/refresh', async (request, reply) => {
      if (!this.checkKey(request, reply)) return reply;
      const token = request.body?.refresh_token ?? '';
      const session = this.refreshTokens.get(token);
      if (!session || this.loggedOut.has(session.sid)) {
        return reply.status(401).send({ error: 'invalid_refresh_token' });
      }
      this.refreshTokens.delete(token);
      const next = await this.issueSession(session.userId, { sid: session.sid });
      return { ...next, token_type: 'Bearer', expires_in: this.options.accessTokenTtlSeconds ?? 900 };
    });

    app.post<{ Body: { sid?: string; refresh_token?: string } }>('/auth/logout', async (request, reply) => {
      if (!this.checkKey(request, reply)) return reply;
      const refresh = request.body?.refresh_token;
      const sid = request.body?.sid ?? (refresh ? this.refreshTokens.get(refresh)?.sid : undefined);
      if (sid) this.loggedOut.add(sid);
      if (refresh) this.refreshTokens.delete(refresh);
      return { ok: true };
    });

    // The sign-in page of the web hand-off (docs/identity.md): pick a user, go back with tokens in the fragment.
    app.get<{ Querystring: { return_to?: string; state?: string } }>('/login', async (request, reply) => {
      const back = returnAddress(request.query.return_to);
      if (!back) return reply.status(400).send({ error: 'return_to must be an http(s) address' });
      const options = [...this.users.values()]
        .filter((u) => u.active)
        .map((u) => `<option value="${html(u.id)}">${html(u.display_name)} (${html(u.username)})</option>`)
        .join('');
      return reply.type('text/html; charset=utf-8').send(
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>TMS sign-in</title></head><body>
<form method="get" action="/login/continue"><h1>TMS sign-in</h1>
<label>Person <select name="user_id">${options}</select></label>
<input type="hidden" name="return_to" value="${html(back)}">
<input type="hidden" name="state" value="${html(request.query.state ?? '')}">
<button type="submit">Continue to TMA</button></form></body></html>`,
      );
    });
    app.get<{ Querystring: { user_id?: string; return_to?: string; state?: string } }>(
      '/login/continue',
      async (request, reply) => {
        const back = returnAddress(request.query.return_to);
        if (!back) return reply.status(400).send({ error: 'return_to must be an http(s) address' });
        const userId = request.query.user_id ?? '';
        if (!this.users.get(userId)?.active) return reply.status(404).send({ error: 'unknown user' });
        const session = await this.issueSession(userId);
        const fragment = new URLSearchParams({
          access_token: session.access_token,
          refresh_token: session.refresh_token,
          token_type: 'Bearer',
          expires_in: String(this.options.accessTokenTtlSeconds ?? 900),
          state: request.query.state ?? '',
        });
        return reply.redirect(`${back.split('#')[0]}#${fragment}`, 303);
      },
    );

    // Development only: mint tokens, rotate keys, edit users, send webhooks.
    app.post<{ Body: MintOptions & { user_id: string; expires_in?: number } }>(
      '/dev/tokens',
      async (request, reply) => {
        const { user_id: userId, expires_in: expiresIn, ...opts } = request.body ?? { user_id: '' };
        if (!this.users.has(userId)) return reply.status(404).send({ error: 'unknown user' });
        return this.issueSession(userId, { ...opts, expiresIn });
      },
    );
    app.post('/dev/keys/rotate', async () => {
      await this.rotateKeys();
      return this.jwks();
    });
    app.patch<{ Params: { id: string }; Body: Partial<SimUser> }>(
      '/dev/users/:id',
      async (request, reply) => {
        if (!this.users.has(request.params.id)) return reply.status(404).send({ error: 'unknown user' });
        return this.updateUser(request.params.id, request.body ?? {});
      },
    );
    app.post<{ Body: WebhookEvent & { target_url: string } }>('/dev/webhooks', async (request) => {
      const { target_url: target, ...event } = request.body;
      return this.sendWebhook(target, event);
    });
  }
}

function returnAddress(value: string | undefined): string | undefined {
  if (!value) return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

const html = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export async function startTmsSimulator(
  options: TmsSimulatorOptions & { port?: number } = {},
): Promise<TmsSimulator> {
  const sim = new TmsSimulator(options);
  await sim.start({ port: options.port ?? 0 });
  return sim;
}
