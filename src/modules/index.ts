// Registers every feature module's routes under /api/v1.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { adminRoutes } from './admin/admin.routes.js';
import { blocksRoutes } from './blocks/blocks.routes.js';
import { registerCalls } from './calls/calls.module.js';
import { callsRoutes } from './calls/calls.routes.js';
import { registerChannels } from './channels/channels.module.js';
import { conversationsRoutes } from './conversations/conversations.routes.js';
import { registerFiles } from './files/files.module.js';
import { filesRoutes } from './files/files.routes.js';
import { friendsRoutes } from './friends/friends.routes.js';
import { registerLinkPreviews } from './link-previews/link-previews.module.js';
import { registerMentions } from './mentions/mentions.module.js';
import { messagesRoutes } from './messages/messages.routes.js';
import { registerNotifications } from './notifications/notifications.module.js';
import { notificationsRoutes } from './notifications/notifications.routes.js';
import { pinsRoutes } from './pins/pins.routes.js';
import { pollsRoutes } from './polls/polls.routes.js';
import { reactionsRoutes } from './reactions/reactions.routes.js';
import { searchRoutes } from './search/search.routes.js';
import { syncRoutes } from './sync/sync.routes.js';
import { usersRoutes } from './users/users.routes.js';

export async function registerModules(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const digest = await registerNotifications(app, ctx);
  const channels = await registerChannels(ctx);
  await app.register(
    async (api) => {
      // feature modules register here
      await api.register(async (scope) => usersRoutes(scope, ctx));
      await api.register(async (scope) => friendsRoutes(scope, ctx));
      await api.register(async (scope) => blocksRoutes(scope, ctx));
      await api.register(async (scope) => searchRoutes(scope, ctx));
      await api.register(async (scope) => reactionsRoutes(scope, ctx));
      await api.register(async (scope) => pinsRoutes(scope, ctx));
      await api.register(async (scope) => pollsRoutes(scope, ctx));
      await api.register(async (scope) => conversationsRoutes(scope, ctx));
      await api.register(async (scope) => messagesRoutes(scope, ctx));
      await api.register(async (scope) => syncRoutes(scope, ctx));
      await api.register(async (scope) => filesRoutes(scope, ctx, ctx.services.files));
      await api.register(async (scope) => callsRoutes(scope, ctx));
      await api.register(async (scope) => notificationsRoutes(scope, ctx, digest));
      await api.register(async (scope) => void (await adminRoutes(scope, ctx)));
      await channels.routes(api);
    },
    { prefix: '/api/v1' },
  );
  await registerLinkPreviews(ctx);
  registerMentions(ctx);
  await registerFiles(ctx);
  await registerCalls(ctx);
}
