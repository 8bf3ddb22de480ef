// Handshake authentication for Socket.IO and /ws: the same token rules as REST, refusals carry a stable code.
import { AppError } from '../errors.js';
import type { Actor, Authenticator } from '../identity/actor.js';
import { bearerToken } from '../identity/actor.js';

/** A connect_error whose `data.code` tells the client why (token_expired, token_invalid, ...). */
export class HandshakeError extends Error {
  readonly data: { code: string };
  constructor(code: string, message: string) {
    super(message);
    this.data = { code };
  }
}

/** The token from `auth.token` (Socket.IO), else `Authorization: Bearer`, else (when allowed) `?token=`. */
export function handshakeToken(
  auth: unknown,
  headers: Record<string, string | string[] | undefined>,
  query?: URLSearchParams,
): string | undefined {
  if (typeof auth === 'object' && auth !== null) {
    const token = (auth as { token?: unknown }).token;
    if (typeof token === 'string' && token.length > 0) return token.replace(/^Bearer\s+/i, '');
  }
  const header = headers.authorization;
  const fromHeader = bearerToken(typeof header === 'string' ? header : undefined);
  if (fromHeader) return fromHeader;
  return query?.get('token') ?? undefined;
}

export async function authenticateToken(
  authenticator: Authenticator,
  token: string | undefined,
): Promise<Actor> {
  if (!token) throw new HandshakeError('unauthenticated', 'Missing token');
  if (token.length > 8192) throw new HandshakeError('token_invalid', 'Access token is not valid');
  try {
    return await authenticator.authenticate(token);
  } catch (err) {
    if (err instanceof AppError) throw new HandshakeError(err.code, err.message);
    throw new HandshakeError('internal_error', 'Could not verify the token');
  }
}
