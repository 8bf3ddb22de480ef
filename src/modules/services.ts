// The services of every feature module, built once per app and shared by routes, realtime and jobs.
import type { AppContext } from '../context.js';
import { AccessService } from './access/access.service.js';
import { BlocksRepository } from './blocks/blocks.repository.js';
import { BlocksService } from './blocks/blocks.service.js';
import { createCallsService } from './calls/calls.module.js';
import type { CallsService } from './calls/calls.service.js';
import { ConversationsService } from './conversations/conversations.service.js';
import { MembersService } from './conversations/members.service.js';
import { createFilesService } from './files/files.module.js';
import type { FilesService } from './files/files.service.js';
import { FriendsRepository } from './friends/friends.repository.js';
import { FriendsService } from './friends/friends.service.js';
import { MessageAttachments } from './messages/message-attachments.js';
import { MessagesService } from './messages/messages.service.js';
import { ReceiptsService } from './messages/receipts.service.js';
import { createNotificationsService } from './notifications/notifications.module.js';
import type { NotificationsService } from './notifications/notifications.service.js';
import { PinsService } from './pins/pins.service.js';
import { PollsService } from './polls/polls.service.js';
import { ReactionsService } from './reactions/reactions.service.js';
import { SearchService } from './search/search.service.js';
import { SyncService } from './sync/sync.service.js';
import { UsersRepository } from './users/users.repository.js';
import { UsersService } from './users/users.service.js';

export interface Services {
  /** Membership, admin, author and DM rules every module checks first (src/modules/access). */
  access: AccessService;
  usersRepository: UsersRepository;
  blocksRepository: BlocksRepository;
  friendsRepository: FriendsRepository;
  users: UsersService;
  friends: FriendsService;
  blocks: BlocksService;
  search: SearchService;
  reactions: ReactionsService;
  pins: PinsService;
  polls: PollsService;
  conversations: ConversationsService;
  members: MembersService;
  messages: MessagesService;
  receipts: ReceiptsService;
  sync: SyncService;
  files: FilesService;
  calls: CallsService;
  notifications: NotificationsService;
}

export function createServices(ctx: Omit<AppContext, 'services'>): Services {
  const access = new AccessService(ctx);
  // Every service that builds message views fills their files through this one holder.
  const attachments = new MessageAttachments();
  const conversations = new ConversationsService(ctx, access, attachments);
  const messages = new MessagesService(ctx, access, attachments);
  return {
    access,
    conversations,
    members: new MembersService(ctx, conversations),
    messages,
    receipts: new ReceiptsService(ctx, conversations),
    sync: new SyncService(ctx, conversations, attachments),
    files: createFilesService(ctx, access),
    notifications: createNotificationsService(ctx),
    usersRepository: new UsersRepository(ctx.db),
    blocksRepository: new BlocksRepository(ctx.db),
    friendsRepository: new FriendsRepository(ctx.db),
    users: new UsersService(ctx),
    friends: new FriendsService(ctx),
    blocks: new BlocksService(ctx),
    search: new SearchService(ctx, access, attachments),
    reactions: new ReactionsService(ctx, access, messages),
    pins: new PinsService(ctx, access, messages),
    polls: new PollsService(ctx, access, messages),
    calls: createCallsService(ctx, access, messages),
  };
}
