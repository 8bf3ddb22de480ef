// Who is calling: every authenticated request and socket carries an Actor.
import type { FastifyRequest } from 'fastify';
import { ForbiddenError, UnauthenticatedError } from '../errors.js';

export type Role = 'admin' | 'user';

export interface Actor {
  userId: string;
  role: Role;
  /** The session the token belongs to (local sessions.id, or the TMS `sid` claim); null when the token has none. */
  sessionId: string | null;
}

/** Verifies a bearer token; throws UnauthenticatedError with token_expired, token_invalid, session_revoked, ... */
export interface Authenticator {
  authenticate(token: string): Promise<Actor>;
}

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor | null;
  }
  interface FastifyContextConfig {
    /** Routes are authenticated unless marked public. */
    public?: boolean;
  }
}

export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return match?.[1];
}

export function actorOf(request: FastifyRequest): Actor {
  if (!request.actor) throw new UnauthenticatedError();
  return request.actor;
}

export function requireAdmin(request: FastifyRequest): Actor {
  const actor = actorOf(request);
  if (actor.role !== 'admin') throw new ForbiddenError('Administrators only', 'admin_required');
  return actor;
}
