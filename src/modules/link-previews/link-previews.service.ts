// Link previews: URLs in new or edited text messages are fetched by a background job (enqueued in the send
// transaction), parsed with metascraper, cached by URL, written to metadata.link_preview and announced.
import type { Kysely, Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { DB } from '../../db/schema.js';
import type { EventBus } from '../../events/bus.js';
import type { JobQueue } from '../../jobs/job-queue.js';
import { lazy } from '../../platform/lazy.js';
import { appendConversationEvent } from '../conversations/conversation-events.js';
import type { MessageAttachments } from '../messages/message-attachments.js';
import type { MessagesRepository } from '../messages/messages.repository.js';
import { type FetchOptions, fetchPage, LinkFetchError } from './link-fetcher.js';
import type { LinkPreviewRow, LinkPreviewsRepository } from './link-previews.repository.js';

export const LINK_PREVIEW_QUEUE = 'link-preview';
/** How long a fetched (or failed) URL is served from the cache. */
const CACHE_SECONDS = { ok: 24 * 3600, failed: 3600 };
const MAX_URL_LENGTH = 2048;
const MAX_FIELD = { title: 300, description: 1000, image_url: 2048, site_name: 200 };

export interface LinkPreview {
  url: string;
  title: string | null;
  description: string | null;
  image_url: string | null;
  site_name: string | null;
}

export interface LinkPreviewJob {
  message_id: string;
  url: string;
}

/** metascraper and its HTML stack, loaded with the first page to parse. */
const loadScraper = lazy(async () => {
  const [core, title, description, image, publisher] = await Promise.all([
    import('metascraper'),
    import('metascraper-title'),
    import('metascraper-description'),
    import('metascraper-image'),
    import('metascraper-publisher'),
  ]);
  return core.default([title.default(), description.default(), image.default(), publisher.default()]);
});

/** The first http(s) URL of a text, without trailing punctuation; undefined when there is none. */
export function firstUrl(content: string | null): string | undefined {
  if (!content) return undefined;
  for (const match of content.matchAll(/\bhttps?:\/\/[^\s<>"'`]+/gi)) {
    const candidate = match[0].replace(/[.,;:!?)\]}>]+$/, '');
    if (candidate.length > MAX_URL_LENGTH) continue;
    try {
      const url = new URL(candidate);
      if (url.protocol === 'http:' || url.protocol === 'https:') return url.href;
    } catch {
      // not a URL after all; try the next one
    }
  }
  return undefined;
}

const clip = (value: unknown, max: number): string | null =>
  typeof value === 'string' && value.trim() !== '' ? value.trim().slice(0, max) : null;

export interface LinkPreviewsDeps {
  db: Kysely<DB>;
  bus: EventBus;
  jobs: JobQueue;
  logger: Logger;
  repo: LinkPreviewsRepository;
  messages: MessagesRepository;
  /** Fills the files of an image or file message whose caption got a preview. */
  attachments?: MessageAttachments;
  fetch: FetchOptions;
}

export class LinkPreviewsService {
  constructor(private readonly deps: LinkPreviewsDeps) {}

  /** Runs inside the send/edit transaction: a rollback drops the job with the message. */
  async enqueueFor(trx: Transaction<DB>, messageId: string, content: string | null): Promise<boolean> {
    const url = firstUrl(content);
    if (!url) return false;
    await this.deps.jobs.enqueue<LinkPreviewJob>(trx, LINK_PREVIEW_QUEUE, { message_id: messageId, url });
    return true;
  }

  /** The job: preview the URL (cache first) and attach it to the message if it still carries that URL. */
  async process(job: LinkPreviewJob): Promise<void> {
    const message = await this.deps.messages.findById(job.message_id);
    if (!message || message.deleted_at || firstUrl(message.content) !== job.url) return;
    const existing = (message.metadata as { link_preview?: { url?: string } }).link_preview;
    if (existing?.url === job.url) return;
    const preview = await this.previewOf(job.url);
    if (!preview) return;
    const seq = await this.deps.db.transaction().execute(async (trx) => {
      const row = await this.deps.repo.lockMessage(job.message_id, trx);
      if (!row || row.deleted_at || firstUrl(row.content) !== job.url) return undefined;
      await this.deps.repo.setMessagePreview(job.message_id, { ...preview }, trx);
      return appendConversationEvent(trx, {
        conversation_id: row.conversation_id,
        type: 'message.updated',
        actor_id: null,
        message_id: job.message_id,
        payload: { reason: 'link_preview' },
      });
    });
    if (seq === undefined) return;
    const view = await this.deps.messages.viewById(job.message_id, null);
    if (view) await this.deps.attachments?.fill(view);
    if (view)
      this.deps.bus.publish('message.updated', { conversation_id: view.conversation_id, seq, message: view });
  }

  /** A preview with something to show, from the cache or fetched now; undefined when refused, failed or empty. */
  async previewOf(url: string): Promise<LinkPreview | undefined> {
    const cached = (await this.deps.repo.findFresh(url, CACHE_SECONDS.ok)) ?? undefined;
    if (
      cached &&
      (cached.status === 'ok' || Date.now() - cached.fetched_at.getTime() < CACHE_SECONDS.failed * 1000)
    ) {
      return cached.status === 'ok' ? toPreview(cached) : undefined;
    }
    const row = await this.fetchAndParse(url);
    await this.deps.repo.upsert(row);
    return row.status === 'ok' ? toPreview({ ...row, fetched_at: new Date() }) : undefined;
  }

  private async fetchAndParse(url: string): Promise<Omit<LinkPreviewRow, 'fetched_at'>> {
    const failed = (error: string) => ({
      url,
      status: 'failed' as const,
      title: null,
      description: null,
      image_url: null,
      site_name: null,
      error,
    });
    try {
      const page = await fetchPage(url, this.deps.fetch);
      const scrape = await loadScraper();
      const meta = await scrape({ url: page.url, html: page.html, validateUrl: false });
      const image = clip(meta.image, MAX_FIELD.image_url);
      const row = {
        url,
        status: 'ok' as const,
        title: clip(meta.title, MAX_FIELD.title),
        description: clip(meta.description, MAX_FIELD.description),
        image_url: image && /^https?:\/\//i.test(image) ? image : null,
        site_name: clip(meta.publisher, MAX_FIELD.site_name),
        error: null,
      };
      if (!row.title && !row.description && !row.image_url)
        return failed('empty: no title, description or image');
      return row;
    } catch (error) {
      const code = error instanceof LinkFetchError ? error.code : 'parse_error';
      this.deps.logger.info({ url, code }, 'link preview not available');
      return failed(code);
    }
  }
}

function toPreview(row: LinkPreviewRow): LinkPreview {
  return {
    url: row.url,
    title: row.title,
    description: row.description,
    image_url: row.image_url,
    site_name: row.site_name,
  };
}
