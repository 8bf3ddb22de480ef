// The services of every feature module, built once per app and shared by routes, realtime and jobs.
import type { AppContext } from '../context.js';
import { BlocksRepository } from './blocks/blocks.repository.js';
import { BlocksService } from './blocks/blocks.service.js';
import { ConversationsService } from './conversations/conversations.service.js';
import { MembersService } from './conversations/members.service.js';
import { createFilesService } from './files/files.module.js';
import type { FilesService } from './files/files.service.js';
import { FriendsRepository } from './friends/friends.repository.js';
import { FriendsService } from './friends/friends.service.js';
import { MessagesRepository } from './messages/messages.repository.js';
import { MessagesService } from './messages/messages.service.js';
import { ReceiptsService } from './messages/receipts.service.js';
import { PinsService } from './pins/pins.service.js';
import { PollsService } from './polls/polls.service.js';
import { ReactionsService } from './reactions/reactions.service.js';
import { SearchRepository } from './search/search.repository.js';
import { SearchService } from './search/search.service.js';
import { SyncService } from './sync/sync.service.js';
import { UsersRepository } from './users/users.repository.js';
import { UsersService } from './users/users.service.js';

export interface Services {
  usersRepository: UsersRepository;
  blocksRepository: BlocksRepository;
  friendsRepository: FriendsRepository;
  usersService: UsersService;
  friendsService: FriendsService;
  blocksService: BlocksService;
  searchService: SearchService;
  reactions: ReactionsService;
  pins: PinsService;
  polls: PollsService;
  conversations: ConversationsService;
  conversationMembers: MembersService;
  messages: MessagesService;
  receipts: ReceiptsService;
  sync: SyncService;
  files: FilesService;
}

export function createServices(ctx: Omit<AppContext, 'services'>): Services {
  const conversations = new ConversationsService(ctx);
  const messages = new MessagesService(ctx, conversations);
  return {
    conversations,
    conversationMembers: new MembersService(ctx, conversations),
    messages,
    receipts: new ReceiptsService(ctx, conversations, messages),
    sync: new SyncService(ctx, conversations),
    files: createFilesService(ctx),
    usersRepository: new UsersRepository(ctx.db),
    blocksRepository: new BlocksRepository(ctx.db),
    friendsRepository: new FriendsRepository(ctx.db),
    // Repositories are stateless, so each service may hold its own instances.
    usersService: new UsersService(
      ctx.config,
      ctx.bus,
      new UsersRepository(ctx.db),
      new FriendsRepository(ctx.db),
      new BlocksRepository(ctx.db),
    ),
    friendsService: new FriendsService(
      ctx.db,
      ctx.bus,
      new FriendsRepository(ctx.db),
      new BlocksRepository(ctx.db),
      new UsersRepository(ctx.db),
    ),
    reactions: new ReactionsService(ctx, messages),
    pins: new PinsService(ctx, conversations, messages),
    polls: new PollsService(ctx, conversations, messages),
    searchService: new SearchService(new SearchRepository(ctx.db), new MessagesRepository(ctx.db)),
    blocksService: new BlocksService(
      ctx.db,
      ctx.bus,
      new BlocksRepository(ctx.db),
      new FriendsRepository(ctx.db),
      new UsersRepository(ctx.db),
    ),
  };
}
