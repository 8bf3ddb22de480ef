// Wires calls: the service, its durable jobs (ring timeout, reconnect grace) and the sweeper's schedule.
import type { AppContext } from '../../context.js';
import type { AccessService } from '../access/access.service.js';
import type { MessagesService } from '../messages/messages.service.js';
import { CallsService, PRESENCE_QUEUE, RING_TIMEOUT_QUEUE, SWEEP_QUEUE } from './calls.service.js';

/** The sweeper runs every minute, once across every instance (docs/jobs.md). */
export const CALL_SWEEP_CRON = '* * * * *';

export function createCallsService(
  ctx: Omit<AppContext, 'services'>,
  access: AccessService,
  messages: MessagesService,
): CallsService {
  return new CallsService(ctx, access, messages);
}

export async function registerCalls(ctx: AppContext): Promise<void> {
  const calls = ctx.services.calls;
  await ctx.jobs.define<{ call_id: string }>(
    RING_TIMEOUT_QUEUE,
    (job) => calls.liveness.ringTimeout(job.call_id),
    {
      retryLimit: 5,
      retryDelaySeconds: 1,
    },
  );
  await ctx.jobs.define<{ call_id: string; user_id: string }>(
    PRESENCE_QUEUE,
    (job) => calls.liveness.presenceCheck(job.call_id, job.user_id),
    { retryLimit: 5, retryDelaySeconds: 1 },
  );
  await ctx.jobs.define<Record<string, never>>(SWEEP_QUEUE, async () => void (await calls.liveness.sweep()), {
    retryLimit: 0,
    expireInSeconds: 300,
  });
  await ctx.jobs.schedule(SWEEP_QUEUE, CALL_SWEEP_CRON);
}
