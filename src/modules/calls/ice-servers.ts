// ICE servers for a user: STUN as configured, TURN with coturn REST credentials (use-auth-secret):
// username `<expiry unix>:<user id>`, credential base64(HMAC-SHA1(secret, username)).
import { createHmac } from 'node:crypto';
import type { Config } from '../../config.js';
import type { IceServers } from './calls.schemas.js';

export function turnCredential(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username).digest('base64');
}

export function iceServersFor(settings: Config['calls'], userId: string, now = Date.now()): IceServers {
  const ice_servers: IceServers['ice_servers'] = [];
  if (settings.stunUrls.length > 0) ice_servers.push({ urls: settings.stunUrls });
  if (settings.turnUrls.length === 0 || !settings.turnSecret) return { ice_servers, expires_at: null };
  const expiry = Math.floor(now / 1000) + settings.turnTtlSeconds;
  const username = `${expiry}:${userId}`;
  ice_servers.push({
    urls: settings.turnUrls,
    username,
    credential: turnCredential(settings.turnSecret, username),
  });
  return { ice_servers, expires_at: new Date(expiry * 1000).toISOString() };
}
