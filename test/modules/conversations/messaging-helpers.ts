// Shared helpers for the messaging suites: JSON calls as a user, query counts (groups, DMs and messages: factories).
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { TestUser } from '../../helpers/factories.js';

export type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export function call(
  app: FastifyInstance,
  user: TestUser | null,
  method: Method,
  url: string,
  payload?: unknown,
): Promise<LightMyRequestResponse> {
  return app.inject({
    method,
    url: `/api/v1${url}`,
    headers: user ? user.headers : {},
    ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
  });
}

/** How many SQL queries a request runs. */
export async function countQueries<T>(app: FastifyInstance, work: () => Promise<T>): Promise<number> {
  return app.tma.database.countQueries(work);
}
