// The services of every feature module, built once per app and shared by routes, realtime and jobs.
import type { AppContext } from '../context.js';
import { BlocksRepository } from './blocks/blocks.repository.js';
import { FriendsRepository } from './friends/friends.repository.js';
import { UsersRepository } from './users/users.repository.js';

export interface Services {
  usersRepository: UsersRepository;
  blocksRepository: BlocksRepository;
  friendsRepository: FriendsRepository;
}

export function createServices(ctx: Omit<AppContext, 'services'>): Services {
  return {
    usersRepository: new UsersRepository(ctx.db),
    blocksRepository: new BlocksRepository(ctx.db),
    friendsRepository: new FriendsRepository(ctx.db),
  };
}
