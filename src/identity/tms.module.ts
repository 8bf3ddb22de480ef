// placeholder, replaced below
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
export async function registerTmsIdentity(_app: FastifyInstance, _ctx: AppContext): Promise<void> {
  throw new Error('AUTH_MODE=tms is not available yet');
}
