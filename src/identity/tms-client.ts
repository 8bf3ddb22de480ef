// HTTP client for the TMS API: timeouts, retries with backoff, 429 Retry-After, and a circuit breaker (cockatiel).
import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  DelegateBackoff,
  handleWhen,
  type IRetryBackoffContext,
  type RetryPolicy,
  retry,
  type TimeoutPolicy,
  TimeoutStrategy,
  timeout,
} from 'cockatiel';
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

function isTmsUser(value: unknown): value is TmsUser {
  const v = value as TmsUser | null;
  return typeof v === 'object' && v !== null && typeof v.id === 'string' && typeof v.username === 'string';
}

interface TmsResponse {
  status: number;
  body: unknown;
  /** Set on a 429 that was not waited out. */
  retryAfterMs?: number;
}

/** One attempt failed in a way worth retrying: network error, timeout, 5xx. */
class AttemptFailed extends Error {}

/** TMS answered 429: alive, only busy. */
class RateLimited extends Error {
  constructor(readonly waitMs: number) {
    super('TMS is rate limiting');
  }
}

/**
 * Calls through cockatiel policies, outermost first: a consecutive-failure circuit breaker (one failure per
 * call, after its retries), retries with jittered exponential backoff (or the Retry-After of a short 429),
 * and a cooperative per-attempt timeout whose signal aborts the fetch.
 */
export class TmsClient {
  private readonly breaker: CircuitBreakerPolicy;
  private readonly retryPolicies = new Map<number, RetryPolicy>();
  private readonly attemptTimeout: TimeoutPolicy;
  private readonly retries: number;
  private readonly baseDelayMs: number;
  private readonly maxRetryAfterMs: number;

  constructor(
    private readonly config: TmsConfig,
    private readonly logger: Logger,
    options: TmsClientOptions = {},
  ) {
    this.retries = options.retries ?? 2;
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 2_000;
    const cooldownMs = options.breakerCooldownMs ?? 15_000;
    // Only calls that found TMS unreachable count; 4xx and 429 answers show it alive.
    this.breaker = circuitBreaker(
      handleWhen((error) => error instanceof TmsUnavailableError),
      { halfOpenAfter: cooldownMs, breaker: new ConsecutiveBreaker(options.breakerThreshold ?? 5) },
    );
    this.breaker.onBreak((reason) => {
      const cause = 'error' in reason ? reason.error.message : 'unknown';
      this.logger.warn({ reason: cause, cooldown_ms: cooldownMs }, 'TMS circuit breaker opened');
    });
    this.breaker.onReset(() => this.logger.info('TMS circuit breaker closed'));
    this.attemptTimeout = timeout(config.timeoutMs, TimeoutStrategy.Cooperative);
  }

  get breakerOpen(): boolean {
    return this.breaker.state === CircuitState.Open || this.breaker.state === CircuitState.Isolated;
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
    const res = await this.request('GET', '/health', undefined, { retries: 0 });
    if (res.status !== 200) throw new Error(`TMS health answered ${res.status}`);
  }

  private async request(
    method: string,
    path: string,
    body?: unknown,
    opts: { retries?: number; authorization?: string } = {},
  ): Promise<TmsResponse> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.config.apiKey) headers['x-api-key'] = this.config.apiKey;
    if (opts.authorization) headers.authorization = opts.authorization;
    const init = { method, headers, body: body === undefined ? undefined : JSON.stringify(body) };
    const retrying = this.retryPolicy(opts.retries ?? this.retries);
    let res: TmsResponse;
    try {
      res = await this.breaker.execute(async () => {
        try {
          return await retrying.execute(() =>
            this.attemptTimeout.execute(({ signal }) =>
              this.attempt(`${this.config.apiUrl}${path}`, init, signal),
            ),
          );
        } catch (error) {
          if (error instanceof RateLimited) return { status: 429, body: null, retryAfterMs: error.waitMs };
          throw new TmsUnavailableError(`TMS is unavailable: ${(error as Error).message}`);
        }
      });
    } catch (error) {
      if (error instanceof BrokenCircuitError) throw new TmsUnavailableError('TMS circuit breaker is open');
      throw error;
    }
    if (res.retryAfterMs !== undefined) {
      throw new TmsUnavailableError('TMS is rate limiting', Math.ceil(res.retryAfterMs / 1000));
    }
    return res;
  }

  private async attempt(url: string, init: RequestInit, signal: AbortSignal): Promise<TmsResponse> {
    let res: Response;
    try {
      res = await fetch(url, { ...init, signal });
    } catch (error) {
      throw new AttemptFailed(
        signal.aborted ? 'timeout' : error instanceof Error ? error.message : 'network error',
      );
    }
    if (res.status === 429) {
      await res.body?.cancel();
      throw new RateLimited(retryAfterMs(res.headers.get('retry-after')));
    }
    if (res.status >= 500) {
      await res.body?.cancel();
      throw new AttemptFailed(`status ${res.status}`);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (error) {
      throw new AttemptFailed(signal.aborted ? 'timeout' : (error as Error).message);
    }
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    return { status: res.status, body: parsed };
  }

  /** Retries network errors, timeouts, 5xx, and a 429 whose Retry-After is short enough to wait out. */
  private retryPolicy(retries: number): RetryPolicy {
    let policy = this.retryPolicies.get(retries);
    if (!policy) {
      const retryable = (error: Error) =>
        error instanceof AttemptFailed ||
        (error instanceof RateLimited && error.waitMs <= this.maxRetryAfterMs);
      const backoff = new DelegateBackoff<IRetryBackoffContext<unknown>>(({ attempt, result }) =>
        'error' in result && result.error instanceof RateLimited
          ? result.error.waitMs
          : this.baseDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random()),
      );
      policy = retry(handleWhen(retryable), { maxAttempts: retries, backoff });
      this.retryPolicies.set(retries, policy);
    }
    return policy;
  }
}

function retryAfterMs(header: string | null): number {
  if (!header) return 1000;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? 1000 : Math.max(0, date - Date.now());
}
