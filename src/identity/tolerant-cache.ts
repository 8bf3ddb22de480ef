// A cache view for the auth hot path that treats an unreachable cache as a miss instead of failing the request.
import type { Logger } from 'pino';
import type { Cache } from '../platform/cache.js';

const WARN_EVERY_MS = 30_000;

export class TolerantCache implements Cache {
  private lastWarning = 0;

  constructor(
    private readonly inner: Cache,
    private readonly logger: Logger,
  ) {}

  async get<T>(key: string): Promise<T | undefined> {
    try {
      return await this.inner.get<T>(key);
    } catch (error) {
      this.warn(error);
      return undefined;
    }
  }

  async set(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    try {
      await this.inner.set(key, value, ttlSeconds);
    } catch (error) {
      this.warn(error);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.inner.delete(key);
    } catch (error) {
      this.warn(error);
    }
  }

  private warn(error: unknown): void {
    if (Date.now() - this.lastWarning < WARN_EVERY_MS) return;
    this.lastWarning = Date.now();
    this.logger.warn(
      { err: { message: (error as Error).message } },
      'cache unavailable: identity reads fall back',
    );
  }
}
