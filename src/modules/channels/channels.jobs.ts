// The durable send job: queued -> sending, one provider send through the router (failover, breakers), then
// sent, or failed when the message was refused or the job's retries are spent. Files go as MMS media URLs
// (signed afresh for every attempt) or as e-mail attachments read from file storage.
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { DB } from '../../db/schema.js';
import type { JobInfo } from '../../jobs/job-queue.js';
import type { FileStorage } from '../files/storage/storage.js';
import type { ChannelFilesRepository } from './channel-files.repository.js';
import type { ChannelStatusMachine, Transition } from './channel-status.js';
import type { ChannelMessageRow, ChannelsRepository } from './channels.repository.js';
import { AttachmentMissingError, mediaUrls, readAttachments } from './outbound-attachments.js';
import type { OutboundMessage } from './providers/provider.js';
import {
  AllProvidersFailedError,
  type AttemptRecord,
  type ProviderRouter,
} from './providers/provider-router.js';

export const SEND_RETRY_LIMIT = 3;
export const STATUS_WEBHOOK_PATH = '/api/v1/webhooks/twilio/status';

export interface ChannelSenderDeps {
  db: Kysely<DB>;
  repo: ChannelsRepository;
  router: ProviderRouter;
  status: ChannelStatusMachine;
  logger: Logger;
  publicUrl: string | undefined;
  files: ChannelFilesRepository;
  storage: FileStorage;
}

export class ChannelSender {
  constructor(private readonly deps: ChannelSenderDeps) {}

  private async step(row: ChannelMessageRow, step: Transition): Promise<ChannelMessageRow | undefined> {
    const applied = await this.deps.db.transaction().execute((trx) => this.deps.status.apply(trx, row, step));
    await this.deps.status.publish(applied);
    return applied?.row;
  }

  async process(channelMessageId: string, job: JobInfo): Promise<void> {
    const { repo, router, logger } = this.deps;
    const row = await repo.byId(channelMessageId);
    // Sent, delivered or failed already (a duplicate or late job): nothing to do.
    if (!row || (row.status !== 'queued' && row.status !== 'sending')) return;
    const sending = await this.step(row, {
      status: 'sending',
      attempt: true,
      detail: {
        job_attempt: job.retryCount + 1,
        ...(row.status === 'sending' ? { retry_after_uncertain: true } : {}),
      },
    });
    if (!sending) return;
    let media: Pick<OutboundMessage, 'mediaUrls' | 'attachments'>;
    try {
      media = await this.media(row);
    } catch (error) {
      if (!(error instanceof AttachmentMissingError)) throw error;
      await this.step(sending, {
        status: 'failed',
        error: { code: 'attachment_missing', message: error.message },
      });
      return;
    }
    const attempts: AttemptRecord[] = [];
    try {
      const { provider, result } = await router.send(
        {
          id: row.id,
          channel: row.channel,
          from: row.from_address,
          to: row.to_address,
          body: row.body,
          subject: row.subject,
          ...media,
          statusCallback:
            row.channel === 'email' || !this.deps.publicUrl
              ? undefined
              : `${this.deps.publicUrl}${STATUS_WEBHOOK_PATH}`,
        },
        (attempt) => void attempts.push(attempt),
      );
      await this.recordAttempts(row.id, attempts);
      await this.step(sending, {
        status: 'sent',
        provider,
        providerMessageId: result.providerMessageId,
        detail: { failover: attempts.some((a) => a.provider !== provider) },
      });
    } catch (error) {
      await this.recordAttempts(row.id, attempts);
      if (!(error instanceof AllProvidersFailedError)) throw error;
      const last = job.retryCount >= SEND_RETRY_LIMIT;
      if (!error.permanent && !last) {
        logger.warn(
          { channel_message_id: row.id, err: error.message },
          'channel send failed; the job will retry',
        );
        throw error;
      }
      await this.step(sending, {
        status: 'failed',
        error: {
          code: error.permanent ? 'rejected' : 'providers_unavailable',
          message: error.message.slice(0, 500),
        },
        detail: { uncertain: error.uncertain },
      });
    }
  }

  /** The files of the message: MMS media URLs, or e-mail attachments with their bytes. */
  private async media(row: ChannelMessageRow): Promise<Pick<OutboundMessage, 'mediaUrls' | 'attachments'>> {
    if (!row.message_id || row.channel === 'sms') return {};
    const files = await this.deps.files.ofMessage(row.message_id);
    if (files.length === 0) return {};
    if (row.channel === 'mms')
      return { mediaUrls: await mediaUrls(this.deps.storage, this.deps.publicUrl, files) };
    return { attachments: await readAttachments(this.deps.storage, files) };
  }

  private async recordAttempts(id: string, attempts: AttemptRecord[]): Promise<void> {
    for (const { provider, ...detail } of attempts) {
      await this.deps.repo.addEvent(this.deps.db, id, 'attempt', provider, { ...detail });
    }
  }
}
