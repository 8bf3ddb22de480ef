// HTTP client for the TMS API: timeouts, retries with backoff, 429 Retry-After, and a circuit breaker.
import type { Logger } from 'pino';
import type { TmsConfig } from '../config.js';

export interface TmsUser {
  id: string;
  username: string;
  email?: string | null;
  display_name?: string | null;
  position?: string | null;
  avatar_url?: string | null;
  role?: string | null;
  roles?: string[] | null;
  active?: boolean;
  updated_at?: string;
}

export interface TmsTokenPair {
  access_token: string;
  refresh_token: string;
  expires_in?: number;
}

/** TMS could not be reached (network, timeout, 5xx, open breaker, or a long 429). */
export class TmsUnavailableError extends Error {
  constructor(
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'TmsUnavailableError';
  }
}

/** TMS answered with a 4xx the caller has to interpret. */
export class TmsHttpError extends Error {
  constructor(readonly status: number) {
    super(`TMS answered ${status}`);
    this.name = 'TmsHttpError';
  }
}

export interface TmsClientOptions {
  retries?: number;
  baseDelayMs?: number;
  /** Consecutive failures that open the breaker. */
  breakerThreshold?: number;
  breakerCooldownMs?: number;
  /** Longest Retry-After (ms) waited out inside one call; longer ones fail fast. */
  maxRetryAfterMs?: number;
}

const BATCH_SIZE = 100;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function isTmsUser(value: unknown): value is TmsUser {
  const v = value as TmsUser | null;
  return typeof v === 'object' && v !== null && typeof v.id === 'string' && typeof v.username === 'string';
}

export class TmsClient {
  private failures = 0;
  private openUntil = 0;
  private readonly retries: number;
  private readonly baseDelayMs: number;
  private readonly threshold: number;
  private readonly cooldownMs: number;
  private readonly maxRetryAfterMs: number;

  constructor(
    private readonly config: TmsConfig,
    private readonly logger: Logger,
    options: TmsClientOptions = {},
  ) {
    this.retries = options.retries ?? 2;
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.threshold = options.breakerThreshold ?? 5;
    this.cooldownMs = options.breakerCooldownMs ?? 15_000;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 2_000;
  }

  get breakerOpen(): boolean {
    return Date.now() < this.openUntil;
  }

  async getUser(id: string): Promise<TmsUser | null> {
    const res = await this.request('GET', `/users/${encodeURIComponent(id)}`);
    if (res.status === 404) return null;
    if (res.status !== 200 || !isTmsUser(res.body)) throw new TmsHttpError(res.status);
    return res.body;
  }

  async getUsers(ids: readonly string[]): Promise<TmsUser[]> {
    const out: TmsUser[] = [];
    for (let i = 0; i < ids.length; i += BATCH_SIZE) {
      const res = await this.request('POST', '/users/batch', { ids: ids.slice(i, i + BATCH_SIZE) });
      if (res.status !== 200) throw new TmsHttpError(res.status);
      const users = (res.body as { users?: unknown }).users;
      if (Array.isArray(users)) out.push(...users.filter(isTmsUser));
    }
    return out;
  }

  async usersUpdatedSince(since: string | undefined): Promise<TmsUser[]> {
    const query = since ? `?updated_since=${encodeURIComponent(since)}` : '';
    const res = await this.request('GET', `/users${query}`);
    if (res.status !== 200) throw new TmsHttpError(res.status);
    const users = (res.body as { users?: unknown }).users;
    return Array.isArray(users) ? users.filter(isTmsUser) : [];
  }

  /** A new pair from TMS; TmsHttpError(401) when TMS refuses the refresh token. */
  async refresh(refreshToken: string): Promise<TmsTokenPair> {
    // Not retried: a refresh token is single-use, a retry after a lost answer would look like reuse.
    const res = await this.request('POST', '/auth/refresh', { refresh_token: refreshToken }, { retries: 0 });
    const body = res.body as Partial<TmsTokenPair> | null;
    if (
      res.status !== 200 ||
      typeof body?.access_token !== 'string' ||
      typeof body.refresh_token !== 'string'
    ) {
      throw new TmsHttpError(res.status === 200 ? 502 : res.status);
    }
    return {
      access_token: body.access_token,
      refresh_token: body.refresh_token,
      expires_in: body.expires_in,
    };
  }

  async logout(accessToken: string, sid: string | null, refreshToken: string | undefined): Promise<void> {
    const res = await this.request(
      'POST',
      '/auth/logout',
      { sid: sid ?? undefined, refresh_token: refreshToken },
      { authorization: `Bearer ${accessToken}` },
    );
    if (res.status >= 400 && res.status !== 401) throw new TmsHttpError(res.status);
  }

  /** For /health/ready: one quick attempt, no retries. */
  async health(): Promise<void> {
    if (this.breakerOpen) throw new Error('TMS circuit breaker is open');
    const res = await this.request('GET', '/health', undefined, { retries: 0 });
    if (res.status !== 200) throw new Error(`TMS health answered ${res.status}`);
  }

  private async request(
    method: string,
    path: string,
    body?: unknown,
    opts: { retries?: number; authorization?: string } = {},
  ): Promise<{ status: number; body: unknown }> {
    if (this.breakerOpen) throw new TmsUnavailableError('TMS circuit breaker is open');
    const retries = opts.retries ?? this.retries;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.config.apiKey) headers['x-api-key'] = this.config.apiKey;
    if (opts.authorization) headers.authorization = opts.authorization;
    let lastError = 'unreachable';
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) await sleep(this.baseDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random()));
      let res: Response;
      try {
        res = await fetch(`${this.config.apiUrl}${path}`, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(this.config.timeoutMs),
        });
      } catch (error) {
        lastError = error instanceof Error ? error.message : 'network error';
        continue;
      }
      if (res.status === 429) {
        const wait = retryAfterMs(res.headers.get('retry-after'));
        await res.body?.cancel();
        this.succeeded(); // TMS is alive, only busy
        if (attempt < retries && wait <= this.maxRetryAfterMs) {
          await sleep(wait);
          continue;
        }
        throw new TmsUnavailableError('TMS is rate limiting', Math.ceil(wait / 1000));
      }
      if (res.status >= 500) {
        lastError = `status ${res.status}`;
        await res.body?.cancel();
        continue;
      }
      const text = await res.text();
      this.succeeded();
      let parsed: unknown = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        parsed = null;
      }
      return { status: res.status, body: parsed };
    }
    this.failed(lastError);
    throw new TmsUnavailableError(`TMS is unavailable: ${lastError}`);
  }

  private succeeded(): void {
    this.failures = 0;
  }

  private failed(reason: string): void {
    this.failures++;
    if (this.failures >= this.threshold && !this.breakerOpen) {
      this.openUntil = Date.now() + this.cooldownMs;
      this.logger.warn({ reason, cooldown_ms: this.cooldownMs }, 'TMS circuit breaker opened');
    }
  }
}

function retryAfterMs(header: string | null): number {
  if (!header) return 1000;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? 1000 : Math.max(0, date - Date.now());
}
