// The durable job queue (pg-boss 10 on PostgreSQL or PGlite): jobs are enqueued inside business transactions,
// so a rollback drops them and a commit keeps them; workers run in-process and stop when the app closes.
// Periodic work runs as cron schedules: one job per period across every instance (docs/jobs.md).
import type { Kysely, Transaction } from 'kysely';
import PgBoss from 'pg-boss';
import type { Logger } from 'pino';
import type { DatabaseKind } from '../db/database.js';
import type { DB } from '../db/schema.js';
import { SpanKind, withSpan } from '../platform/tracing.js';
import { databaseExecutor, type ExecutorGate, transactionExecutor } from './sql-executor.js';

export const JOB_SCHEMA = 'pgboss';

export interface JobInfo {
  id: string;
  name: string;
  /** How many times the job failed before this attempt. */
  retryCount: number;
}

export type JobHandler<T> = (data: T, job: JobInfo) => Promise<void>;

export interface QueueDefinition {
  /** Attempts after the first failure (default 3), with exponential backoff from retryDelaySeconds. */
  retryLimit?: number;
  retryDelaySeconds?: number;
  /** A job running longer is failed (and retried); default 60 s. */
  expireInSeconds?: number;
  /**
   * Jobs of this queue run at once on one instance (default 1; at most 2 on PGlite): for handlers that mostly
   * wait on the network.
   */
  concurrency?: number;
}

export interface EnqueueOptions {
  /** Run no earlier than this many seconds from now. */
  startAfterSeconds?: number;
  /** At most one queued job per key (pg-boss singleton key). */
  singletonKey?: string;
}

export interface JobQueueOptions {
  db: Kysely<DB>;
  kind: DatabaseKind;
  logger: Logger;
  pollIntervalMs: number;
  /** false: this instance only enqueues (another one runs the workers). */
  workers: boolean;
  shutdownTimeoutMs: number;
}

export interface ScheduleInfo {
  name: string;
  cron: string;
}

interface Registration {
  definition: QueueDefinition;
  handler: JobHandler<never>;
  workerIds: string[];
}

export class JobQueue {
  private readonly boss: PgBoss;
  private readonly queues = new Map<string, Registration>();
  private readonly crons = new Map<string, string>();
  private state: 'idle' | 'started' | 'stopped' = 'idle';
  private readonly gate: ExecutorGate = { closed: false };
  /** Handler runs in progress on this instance. */
  private readonly running = new Set<Promise<unknown>>();

  constructor(private readonly options: JobQueueOptions) {
    this.boss = new PgBoss({
      db: databaseExecutor(options.db, options.kind, this.gate) as PgBoss.Db,
      schema: JOB_SCHEMA,
      // Only an instance that runs workers keeps time: the schedules live in the database, and pg-boss
      // sends one job per period across every instance (a database timestamp plus a singleton key).
      schedule: options.workers,
      cronWorkerIntervalSeconds: Math.min(45, Math.max(1, Math.round(options.pollIntervalMs / 1000))),
      supervise: true,
      migrate: true,
      maintenanceIntervalSeconds: 120,
    });
    this.boss.on('error', (err) => options.logger.error({ err }, 'job queue error'));
  }

  get started(): boolean {
    return this.state === 'started';
  }

  /** Declares a queue and its handler; may be called before or after start(). */
  async define<T extends object>(
    name: string,
    handler: JobHandler<T>,
    definition: QueueDefinition = {},
  ): Promise<void> {
    if (this.queues.has(name)) throw new Error(`job queue ${name} is already defined`);
    const registration: Registration = { definition, handler: handler as JobHandler<never>, workerIds: [] };
    this.queues.set(name, registration);
    if (this.state === 'started') await this.activate(name, registration);
  }

  /** Installs (or migrates) the queue schema, creates the queues and starts the workers. */
  async start(): Promise<void> {
    if (this.state !== 'idle') return;
    await this.boss.start();
    this.state = 'started';
    for (const [name, registration] of this.queues) await this.activate(name, registration);
    for (const [name, cron] of this.crons) await this.boss.schedule(name, cron, {}, { tz: 'UTC' });
  }

  /**
   * Runs the (defined) queue `name` on a cron schedule (UTC, minute resolution): one job per period across
   * every instance sharing the database, whichever instance's worker picks it up.
   */
  async schedule(name: string, cron: string): Promise<void> {
    if (!this.queues.has(name)) throw new Error(`job queue ${name} is not defined`);
    this.crons.set(name, cron);
    if (this.state === 'started') await this.boss.schedule(name, cron, {}, { tz: 'UTC' });
  }

  /** The schedules stored in the database (every instance's). */
  async schedules(): Promise<ScheduleInfo[]> {
    const rows = await this.boss.getSchedules();
    return rows.map((row) => ({ name: row.name, cron: row.cron }));
  }

  /**
   * Stops polling, waits for running jobs (up to the shutdown timeout), then shuts the queue's SQL off so
   * nothing it does later touches the closing database; jobs left active are retried once they expire.
   */
  async stop(): Promise<void> {
    if (this.state !== 'started') {
      this.state = 'stopped';
      this.gate.closed = true;
      return;
    }
    this.state = 'stopped';
    const timeout = Math.max(1000, this.options.shutdownTimeoutMs);
    const deadline = Date.now() + timeout;
    await this.boss.stop({ graceful: true, wait: true, close: false, timeout });
    // pg-boss stops waiting when no job is in hand, even while a fetch is on its way back with one; the
    // handler wrapper refuses such late jobs, and this waits for any handler still running.
    while (this.running.size > 0 && Date.now() < deadline) {
      await settledWithin([...this.running], deadline - Date.now());
    }
    if (this.running.size > 0)
      this.options.logger.warn(
        { jobs: this.running.size },
        'jobs still running at shutdown; they will be retried',
      );
    this.gate.closed = true;
  }

  /**
   * Enqueues a job through the caller's transaction. Call kick(name) after the commit so an idle
   * in-process worker picks it up at once instead of at its next poll.
   */
  async enqueue<T extends object>(
    trx: Transaction<DB>,
    name: string,
    data: T,
    options: EnqueueOptions = {},
  ): Promise<string | null> {
    return this.boss.send(name, data, {
      ...this.sendOptions(name, options),
      db: transactionExecutor(trx) as PgBoss.Db,
    });
  }

  /** Enqueues outside any transaction (the job is durable once this resolves) and wakes the worker. */
  async send<T extends object>(name: string, data: T, options: EnqueueOptions = {}): Promise<string | null> {
    const id = await this.boss.send(name, data, this.sendOptions(name, options));
    this.kick(name);
    return id;
  }

  /** Wakes this instance's idle worker of a queue. */
  kick(name: string): void {
    if (this.state !== 'started') return;
    for (const id of this.queues.get(name)?.workerIds ?? []) this.boss.notifyWorker(id);
  }

  /** Jobs of a queue not yet finished (created, retry or active). */
  async pending(name: string): Promise<number> {
    return this.boss.getQueueSize(name, { before: 'completed' });
  }

  private sendOptions(name: string, options: EnqueueOptions): PgBoss.SendOptions {
    if (!this.queues.has(name)) throw new Error(`job queue ${name} is not defined`);
    const send: PgBoss.SendOptions = {};
    if (options.startAfterSeconds !== undefined) send.startAfter = options.startAfterSeconds;
    if (options.singletonKey !== undefined) send.singletonKey = options.singletonKey;
    return send;
  }

  private async activate(name: string, registration: Registration): Promise<void> {
    const { definition } = registration;
    await this.boss.createQueue(name, {
      name,
      policy: 'standard',
      retryLimit: definition.retryLimit ?? 3,
      retryDelay: definition.retryDelaySeconds ?? 5,
      retryBackoff: true,
      expireInSeconds: definition.expireInSeconds ?? 60,
    });
    if (!this.options.workers) return;
    // PGlite is one connection: handlers beyond two only queue on it, ahead of the API's own statements.
    const cap = this.options.kind === 'pglite' ? 2 : Number.POSITIVE_INFINITY;
    const workers = Math.max(1, Math.min(definition.concurrency ?? 1, cap));
    for (let i = 0; i < workers; i++) {
      // The worker may fetch before work() answers with its id: the drain reads it from here.
      const worker = { id: '' };
      worker.id = await this.boss.work<object>(
        name,
        { pollingIntervalSeconds: this.options.pollIntervalMs / 1000, batchSize: 1, includeMetadata: true },
        (jobs) => {
          const run = this.runBatch(name, registration, worker, jobs);
          this.running.add(run);
          return run.finally(() => this.running.delete(run));
        },
      );
      registration.workerIds.push(worker.id);
    }
  }

  private async runBatch(
    name: string,
    registration: Registration,
    worker: { id: string },
    jobs: PgBoss.JobWithMetadata<object>[],
  ) {
    const handler = registration.handler as JobHandler<object>;
    const logger = this.options.logger;
    // A job fetched while the queue was stopping is not started: it fails now and is retried later.
    if (this.state !== 'started') throw new Error('job queue is stopping');
    try {
      for (const job of jobs) {
        try {
          await withSpan(
            `job ${name}`,
            { 'tma.job.queue': name, 'tma.job.id': job.id, 'tma.job.retry': job.retryCount },
            () => handler(job.data, { id: job.id, name: job.name, retryCount: job.retryCount }),
            SpanKind.CONSUMER,
          );
        } catch (err) {
          logger.warn({ err, job: job.id, queue: name, retry: job.retryCount }, 'job failed');
          throw err;
        }
      }
    } finally {
      // A backlog drains at once: pg-boss would otherwise wait a whole poll interval after every job.
      // The fetch that finds the queue empty ends the run, and the worker sleeps until a poll or a kick.
      if (worker.id && this.state === 'started') this.boss.notifyWorker(worker.id);
    }
  }
}

/** Waits until every promise settles or `ms` pass, whichever comes first. */
async function settledWithin(promises: Promise<unknown>[], ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  await Promise.race([Promise.allSettled(promises), timeout]);
  clearTimeout(timer);
}
