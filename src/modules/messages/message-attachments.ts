// The one place a message view gets its files: every module that builds message views (history, sync, search,
// pins, reactions, conversation lists, jobs) fills them here, so a file message never shows an empty list.
import type { Transaction } from 'kysely';
import type { DB, MessageType } from '../../db/schema.js';
import type { MessageView } from '../../events/domain-events.js';

/** Message files (src/modules/files): attach in the send transaction, share on forward, views with signed URLs. */
export interface AttachmentProvider {
  attach(
    trx: Transaction<DB>,
    senderId: string,
    messageId: string,
    type: string,
    fileIds: string[],
  ): Promise<void>;
  share(trx: Transaction<DB>, sourceMessageId: string, messageId: string): Promise<boolean>;
  viewsFor(messageIds: readonly string[]): Promise<Map<string, MessageView['attachments']>>;
}

export const FILE_TYPES: ReadonlySet<MessageType> = new Set(['image', 'file', 'voice']);

/** Shared by the services of one app; the files module plugs its provider in when it registers. */
export class MessageAttachments {
  private provider: AttachmentProvider | undefined;

  use(provider: AttachmentProvider): void {
    this.provider = provider;
  }

  /** The provider, for writes (attach, share); a send with files before the files module registered is a bug. */
  required(): AttachmentProvider {
    if (!this.provider) throw new Error('messages with files need the files module');
    return this.provider;
  }

  /** Fills `attachments` of live file messages in place (signed URLs); other views keep their empty list. */
  async fill<T extends MessageView | readonly MessageView[]>(views: T): Promise<T> {
    const list = (Array.isArray(views) ? views : [views]) as MessageView[];
    const ids = list.filter((v) => FILE_TYPES.has(v.type) && !v.deleted_at).map((v) => v.id);
    if (!this.provider || ids.length === 0) return views;
    const found = await this.provider.viewsFor(ids);
    for (const view of list) if (found.has(view.id)) view.attachments = found.get(view.id) ?? [];
    return views;
  }
}
