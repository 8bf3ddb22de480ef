// The identity of an app, built with its context: the authenticator of AUTH_MODE and, in TMS mode, the TMS pieces.
import type { AppContext } from '../context.js';
import { AccessTokens } from './access-tokens.js';
import { resolveJwtSecret } from './jwt-secret.js';
import { RevokedSessionsRepository } from './revoked-sessions.repository.js';
import { SessionsRepository } from './sessions.repository.js';
import { TmsAuthenticator } from './tms-authenticator.js';
import { TmsClient } from './tms-client.js';
import { TmsDirectory } from './tms-directory.js';
import { TmsSync } from './tms-sync.js';
import { TolerantCache } from './tolerant-cache.js';

/** What identity needs from the context; it is built before the services. */
export type IdentityDeps = Pick<AppContext, 'config' | 'logger' | 'database' | 'db' | 'bus' | 'cache'>;

export interface TmsIdentity {
  client: TmsClient;
  directory: TmsDirectory;
  authenticator: TmsAuthenticator;
  sync: TmsSync;
}

export type Identity =
  | { mode: 'local'; authenticator: AccessTokens }
  | { mode: 'tms'; authenticator: TmsAuthenticator; tms: TmsIdentity };

export function createIdentity(deps: IdentityDeps): Identity {
  const { config } = deps;
  if (config.authMode === 'local') {
    const sessions = new SessionsRepository(deps.db);
    const authenticator = new AccessTokens(
      resolveJwtSecret(config),
      config.accessTokenTtlSeconds,
      deps.cache,
      (sid, userId) => sessions.revocationState(sid, userId),
    );
    return { mode: 'local', authenticator };
  }
  if (!config.tms) throw new Error('AUTH_MODE=tms needs the TMS configuration');
  const client = new TmsClient(config.tms, deps.logger);
  // Reads on the request path survive a cache outage (known users are then read from the database).
  const tolerant = new TolerantCache(deps.cache, deps.logger);
  const directory = new TmsDirectory(deps, client, tolerant);
  const revoked = new RevokedSessionsRepository(deps.db);
  const authenticator = new TmsAuthenticator(config.tms, config.jwtSecret, tolerant, directory, (sid) =>
    revoked.isRevoked(sid),
  );
  const sync = new TmsSync(deps, client, directory);
  return { mode: 'tms', authenticator, tms: { client, directory, authenticator, sync } };
}
