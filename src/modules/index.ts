// Registers every feature module's routes under /api/v1.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';

export async function registerModules(app: FastifyInstance, _ctx: AppContext): Promise<void> {
  await app.register(
    async (_api) => {
      // feature modules register here
    },
    { prefix: '/api/v1' },
  );
}
