// The services of every feature module, built once per app and shared by routes, realtime and jobs.
import type { AppContext } from '../context.js';
import { UsersRepository } from './users/users.repository.js';

export interface Services {
  usersRepository: UsersRepository;
}

export function createServices(ctx: Omit<AppContext, 'services'>): Services {
  return {
    usersRepository: new UsersRepository(ctx.db),
  };
}
