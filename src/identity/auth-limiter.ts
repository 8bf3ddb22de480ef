// Stricter limits for login and register: per client IP (every attempt) and per username (failures).
import type { Redis } from 'ioredis';
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import { RateLimitedError } from '../errors.js';

const WINDOW_SECONDS = 60;
/** An office behind one NAT address shares the IP budget, so it is wider than the per-username one. */
export const IP_BUDGET_FACTOR = 4;

function limiter(points: number, keyPrefix: string, redis: Redis | undefined): RateLimiterAbstract {
  const memory = new RateLimiterMemory({ points, duration: WINDOW_SECONDS, keyPrefix });
  if (!redis) return memory;
  return new RateLimiterRedis({
    storeClient: redis,
    points,
    duration: WINDOW_SECONDS,
    keyPrefix,
    // Keeps limiting (per instance) while Redis is unreachable.
    insuranceLimiter: memory,
  });
}

function rejected(error: unknown): never {
  if (error instanceof RateLimiterRes) throw new RateLimitedError(error.msBeforeNext / 1000);
  throw error;
}

export class AuthLimiter {
  private readonly byIp: RateLimiterAbstract;
  private readonly byUsername: RateLimiterAbstract;

  constructor(
    private readonly perMinute: number,
    redis: Redis | undefined,
    prefix: string,
  ) {
    this.byIp = limiter(perMinute * IP_BUDGET_FACTOR, `${prefix}auth-ip`, redis);
    this.byUsername = limiter(perMinute, `${prefix}auth-user`, redis);
  }

  /** Counts an attempt from this IP and refuses a username whose failure budget is spent. */
  async beforeAttempt(ip: string, username: string | undefined): Promise<void> {
    await this.byIp.consume(ip).catch(rejected);
    if (username !== undefined) await this.ensureAllowed(username);
  }

  /** Refuses a name (or `id:<user id>`) whose failure budget is spent. */
  async ensureAllowed(key: string): Promise<void> {
    const state = await this.byUsername.get(key.toLowerCase());
    if (state && state.consumedPoints >= this.perMinute) {
      throw new RateLimitedError(state.msBeforeNext / 1000);
    }
  }

  /** Counts a failure against each key (the name typed, and the account it named). */
  async failed(...keys: Array<string | undefined>): Promise<void> {
    for (const key of keys) {
      if (key !== undefined) await this.byUsername.consume(key.toLowerCase()).catch(() => undefined);
    }
  }
}
