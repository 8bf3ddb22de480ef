// Periodic maintenance, one place: each task is a job queue run by a pg-boss cron schedule, so it runs once
// per period across every instance (not once per instance) on PostgreSQL and PGlite alike.
import type { AppContext } from '../context.js';
import { RevokedSessionsRepository } from '../identity/revoked-sessions.repository.js';
import { SessionsRepository } from '../identity/sessions.repository.js';
import { Retention } from '../modules/admin/retention.js';

export const MAINTENANCE_QUEUES = {
  pruneEvents: 'maintenance-prune-events',
  expiredSessions: 'maintenance-expired-sessions',
  tmsSync: 'maintenance-tms-sync',
} as const;

/** Expired refresh tokens are kept a day longer, so a late reuse is still recognised as reuse. */
export const EXPIRED_SESSION_GRACE_MS = 86_400_000;
/** The first TMS sync comes soon after start, so a new deployment has its directory quickly. */
const TMS_FIRST_SYNC_MAX_DELAY_S = 30;

export interface MaintenanceTask {
  name: string;
  /** Five-field cron, UTC. */
  cron: string;
  /** The work of one period; throws to be logged (the next period is the retry). */
  run(): Promise<void>;
}

/** A cron for "every `seconds`", at minute resolution (at least one minute). */
export function cronEvery(seconds: number): string {
  const minutes = Math.max(1, Math.round(seconds / 60));
  if (minutes < 60) return minutes === 1 ? '* * * * *' : `*/${minutes} * * * *`;
  const hours = Math.round(minutes / 60);
  return hours < 24 ? `0 */${hours} * * *` : '0 0 * * *';
}

/** The periodic work of this configuration. */
export function maintenanceTasks(ctx: AppContext): MaintenanceTask[] {
  const { logger } = ctx;
  const sessions = new SessionsRepository(ctx.db);
  const revokedSessions = new RevokedSessionsRepository(ctx.db);
  const retention = new Retention(ctx.db, ctx.config);
  const tasks: MaintenanceTask[] = [
    {
      // Retention (src/modules/admin/retention.ts): catch-up events older than the event retention (default
      // EVENT_RETENTION_DAYS), and messages and files older than theirs when set; admins change them at run time.
      name: MAINTENANCE_QUEUES.pruneEvents,
      cron: '0 * * * *',
      run: async () => {
        const result = await retention.run();
        if (result.messages + result.events + result.files > 0) logger.info(result, 'retention applied');
      },
    },
    {
      name: MAINTENANCE_QUEUES.expiredSessions,
      cron: '30 * * * *',
      // Expired logins, and stored TMS revocations whose tokens have all expired.
      run: async () => {
        await sessions.deleteExpired(new Date(Date.now() - EXPIRED_SESSION_GRACE_MS));
        await revokedSessions.prune();
      },
    },
  ];
  const { identity } = ctx;
  if (identity.mode === 'tms') {
    tasks.push({
      name: MAINTENANCE_QUEUES.tmsSync,
      cron: cronEvery(ctx.config.tms?.syncIntervalSeconds ?? 600),
      run: async () => {
        const result = await identity.tms.sync.runOnce();
        if (result.ran) logger.info({ applied: result.applied }, 'TMS sync done');
      },
    });
  }
  return tasks;
}

/** Defines each task's queue and schedule; the schedules take effect when the queue starts. */
export async function registerMaintenance(ctx: AppContext): Promise<MaintenanceTask[]> {
  const tasks = maintenanceTasks(ctx);
  for (const task of tasks) {
    await ctx.jobs.define(task.name, () => task.run(), {
      retryLimit: 0,
      expireInSeconds: 15 * 60,
    });
    await ctx.jobs.schedule(task.name, task.cron);
  }
  return tasks;
}

/** After the queue started: the first TMS sync comes soon, rather than at the first period. */
export async function startMaintenance(ctx: AppContext): Promise<void> {
  if (ctx.identity.mode !== 'tms' || !ctx.config.jobs.workers) return;
  const delay = Math.min(ctx.config.tms?.syncIntervalSeconds ?? 600, TMS_FIRST_SYNC_MAX_DELAY_S);
  await ctx.jobs.send(MAINTENANCE_QUEUES.tmsSync, {}, { startAfterSeconds: delay });
}
