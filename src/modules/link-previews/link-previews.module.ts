// Wires link previews: the job queue, the hook in the messages send/edit transaction, and a worker kick after commit.
import type { AppContext } from '../../context.js';
import { MessagesRepository } from '../messages/messages.repository.js';
import { LinkPreviewsRepository } from './link-previews.repository.js';
import {
  firstUrl,
  LINK_PREVIEW_QUEUE,
  type LinkPreviewJob,
  LinkPreviewsService,
} from './link-previews.service.js';

export async function registerLinkPreviews(ctx: AppContext): Promise<LinkPreviewsService> {
  const service = new LinkPreviewsService({
    db: ctx.db,
    bus: ctx.bus,
    jobs: ctx.jobs,
    logger: ctx.logger,
    repo: new LinkPreviewsRepository(ctx.db),
    messages: new MessagesRepository(ctx.db),
    attachments: ctx.services.messages.attachments,
    fetch: { allowlist: ctx.config.linkPreviewAllowlist },
  });
  await ctx.jobs.define<LinkPreviewJob>(LINK_PREVIEW_QUEUE, (job) => service.process(job), {
    retryLimit: 2,
    retryDelaySeconds: 10,
    expireInSeconds: 30,
  });
  ctx.services.messages.onContentWritten(
    async (trx, written) => {
      await service.enqueueFor(trx, written.message_id, written.content);
    },
    (content) => firstUrl(content) !== undefined,
  );
  // The job is committed with the message; wake the idle worker now rather than at its next poll.
  ctx.bus.subscribe('message.created', ({ message }) => {
    if (message.type === 'text' && message.content?.includes('http')) ctx.jobs.kick(LINK_PREVIEW_QUEUE);
  });
  ctx.bus.subscribe('message.updated', ({ message }) => {
    if (message.edited_at && message.content?.includes('http')) ctx.jobs.kick(LINK_PREVIEW_QUEUE);
  });
  return service;
}
