// Everything a module needs, built once per app instance and passed down explicitly.
import type { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Database } from './db/database.js';
import type { DB } from './db/schema.js';
import type { EventBus } from './events/bus.js';
import type { HealthRegistry } from './http/health.js';
import type { AppMetrics } from './http/metrics.js';
import type { Authenticator } from './identity/actor.js';
import type { JobQueue } from './jobs/job-queue.js';
import type { Services } from './modules/services.js';
import type { Cache } from './platform/cache.js';

export interface AppContext {
  config: Config;
  logger: Logger;
  database: Database;
  db: Kysely<DB>;
  /** Shared Redis connection when REDIS_URL is set. */
  redis: Redis | undefined;
  cache: Cache;
  bus: EventBus;
  /** Durable job queue (src/jobs): enqueue inside business transactions; started after the modules register. */
  jobs: JobQueue;
  health: HealthRegistry;
  /** Set by the identity module for the configured AUTH_MODE. */
  authenticator: Authenticator;
  /** Prometheus metrics; modules add their registries with metrics.include(). */
  metrics: AppMetrics;
  /** Feature services (see src/modules/services.ts). */
  services: Services;
  /** Resources to release when the app closes, in reverse order of registration. */
  onClose(fn: () => Promise<void> | void): void;
}
