// Wires files: the storage driver, the service, its job queues and sweep schedule, and the messages integration.
import type { AppContext } from '../../context.js';
import { resolveJwtSecret } from '../../identity/jwt-secret.js';
import { createEventLimiter } from '../../platform/socket-rate-limits.js';
import { FileJobs, SWEEP_QUEUE } from './files.jobs.js';
import { FilesRepository } from './files.repository.js';
import { type FilesDeps, FilesService, THUMBNAIL_QUEUE, type ThumbnailJob } from './files.service.js';
import { LocalStorage } from './storage/local-storage.js';
import { S3Storage } from './storage/s3-storage.js';
import type { FileStorage } from './storage/storage.js';

/** The orphan sweep's cron schedule (UTC): one run per period across every instance (docs/jobs.md). */
export const SWEEP_CRON = '*/10 * * * *';

export function createStorage(ctx: Pick<AppContext, 'config'>): FileStorage {
  const { storage } = ctx.config;
  if (storage.driver === 's3' && storage.s3) return new S3Storage(storage.s3);
  return new LocalStorage(ctx.config.dataDir, resolveJwtSecret(ctx.config));
}

export function createFilesService(
  ctx: Omit<AppContext, 'services'>,
  access: FilesDeps['access'],
): FilesService {
  const storage = createStorage(ctx);
  ctx.onClose(() => storage.close());
  return new FilesService({
    db: ctx.db,
    access,
    jobs: ctx.jobs,
    logger: ctx.logger,
    repo: new FilesRepository(ctx.db),
    storage,
    limits: ctx.config.storage,
    uploadLimiter: createEventLimiter({
      name: 'file-uploads',
      points: ctx.config.storage.uploadsPerMinute,
      durationSeconds: 60,
      redis: ctx.redis,
      keyPrefix: ctx.config.redisKeyPrefix,
    }),
  });
}

export async function registerFiles(ctx: AppContext): Promise<FileJobs> {
  const files = ctx.services.files;
  const { messages } = ctx.services;
  messages.useAttachments(files);
  const jobs = new FileJobs({
    db: ctx.db,
    bus: ctx.bus,
    logger: ctx.logger,
    repo: files.deps.repo,
    storage: files.deps.storage,
    retentionSeconds: ctx.config.storage.retentionAfterDeleteSeconds,
    messageView: (id) => messages.viewForMembers(id),
  });
  await ctx.jobs.define<ThumbnailJob>(THUMBNAIL_QUEUE, (job) => jobs.thumbnail(job), {
    retryLimit: 3,
    retryDelaySeconds: 5,
    expireInSeconds: 120,
  });
  await ctx.jobs.define<Record<string, never>>(SWEEP_QUEUE, async () => void (await jobs.sweep()), {
    retryLimit: 1,
    retryDelaySeconds: 60,
    expireInSeconds: 600,
  });

  // A deleted message's files go once no live message carries them, after the retention delay.
  const retention = ctx.config.storage.retentionAfterDeleteSeconds;
  ctx.bus.subscribe('message.deleted', async ({ message_id }) => {
    const ids = await files.deps.repo.scheduleDeletionFor(
      message_id,
      new Date(Date.now() + retention * 1000),
    );
    if (ids.length > 0) await ctx.jobs.send(SWEEP_QUEUE, {}, { startAfterSeconds: retention });
  });

  // Pending uploads older than an hour, unattached files older than a day, deletions that came due.
  await ctx.jobs.schedule(SWEEP_QUEUE, SWEEP_CRON);
  return jobs;
}
