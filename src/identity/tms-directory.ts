// TMS users as local rows: created at first sight, refreshed from profiles (cached), deactivated on demand.
import { randomBytes } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { newId } from '../db/ids.js';
import type { DB, UserRow } from '../db/schema.js';
import { isUniqueViolation, ServiceUnavailableError, UnauthenticatedError } from '../errors.js';
import { UsersRepository } from '../modules/users/users.repository.js';
import type { Cache } from '../platform/cache.js';
import type { Role } from './actor.js';
import type { IdentityDeps } from './identity.js';
import { clearUserDeactivated, markUserDeactivated } from './revocation.js';
import { type TmsClient, TmsUnavailableError, type TmsUser } from './tms-client.js';

type Executor = Kysely<DB> | Transaction<DB>;

/** What the auth hot path needs about a TMS user, cached so a request costs no query. */
export interface TmsUserLink {
  userId: string;
  role: Role;
  deactivated: boolean;
}

const profileKey = (tmsId: string) => `tms:profile:${tmsId}`;
const linkKey = (tmsId: string) => `tms:link:${tmsId}`;

export function mapRoles(roleMap: Record<string, Role>, roles: readonly string[]): Role {
  return roles.some((r) => roleMap[r] === 'admin') ? 'admin' : 'user';
}

function rolesOf(profile: TmsUser): string[] {
  if (Array.isArray(profile.roles)) return profile.roles.filter((r) => typeof r === 'string');
  return typeof profile.role === 'string' ? [profile.role] : [];
}

export const tmsUnavailable = () =>
  new ServiceUnavailableError('tms_unavailable', 'The identity provider (TMS) is unavailable', 5);

export class TmsDirectory {
  private readonly cache: Cache;

  private readonly users: UsersRepository;

  constructor(
    private readonly ctx: IdentityDeps,
    private readonly client: TmsClient,
    cache?: Cache,
  ) {
    this.cache = cache ?? ctx.cache;
    this.users = new UsersRepository(ctx.db);
  }

  private get ttl(): number {
    return this.ctx.config.tms?.cacheTtlSeconds ?? 600;
  }

  roleOf(roles: readonly string[]): Role {
    return mapRoles(this.ctx.config.tms?.roleMap ?? { admin: 'admin' }, roles);
  }

  /** The local user behind a TMS id, creating the row from the TMS profile at first sight. */
  async resolve(tmsId: string): Promise<TmsUserLink> {
    const cached = await this.cache.get<TmsUserLink>(linkKey(tmsId));
    if (cached) return cached;
    const row = await this.users.findByTmsId(tmsId);
    if (row) return this.remember(tmsId, row);
    let profile = await this.cache.get<TmsUser>(profileKey(tmsId));
    if (!profile) {
      try {
        profile = (await this.client.getUser(tmsId)) ?? undefined;
      } catch (error) {
        if (error instanceof TmsUnavailableError) throw tmsUnavailable();
        throw error;
      }
      if (!profile) throw new UnauthenticatedError('token_invalid', 'Unknown TMS user');
    }
    return this.remember(tmsId, (await this.apply(profile)).row);
  }

  /** Profiles for a list of TMS ids: cache first, the rest in batches; what TMS cannot give is left out. */
  async profiles(tmsIds: readonly string[]): Promise<Map<string, TmsUser>> {
    const found = new Map<string, TmsUser>();
    const missing: string[] = [];
    for (const id of new Set(tmsIds)) {
      const cached = await this.cache.get<TmsUser>(profileKey(id));
      if (cached) found.set(id, cached);
      else missing.push(id);
    }
    if (missing.length > 0) {
      try {
        for (const profile of await this.client.getUsers(missing)) {
          found.set(profile.id, profile);
          await this.cache.set(profileKey(profile.id), profile, this.ttl);
        }
      } catch (error) {
        if (!(error instanceof TmsUnavailableError)) throw error;
        this.ctx.logger.warn('TMS unavailable: serving cached profiles only');
      }
    }
    return found;
  }

  /** Local rows for TMS ids (e.g. members of a new group), creating the unseen ones from batched profiles. */
  async ensureLocalUsers(tmsIds: readonly string[]): Promise<UserRow[]> {
    const existing = await this.users.findByTmsIds(tmsIds);
    const known = new Set(existing.map((u) => u.tms_user_id));
    const unseen = tmsIds.filter((id) => !known.has(id));
    if (unseen.length === 0) return existing;
    const profiles = await this.profiles(unseen);
    const created: UserRow[] = [];
    for (const profile of profiles.values()) created.push((await this.apply(profile)).row);
    return [...existing, ...created];
  }

  /**
   * Writes a TMS profile to the local row (insert or update), refreshes the caches and publishes
   * user.updated / user.deactivated. `db` lets the sync run on its own reserved connection.
   */
  async apply(profile: TmsUser, db: Executor = this.ctx.db): Promise<{ row: UserRow; changed: boolean }> {
    const role = this.roleOf(rolesOf(profile));
    const inactive = profile.active === false;
    const fields = {
      email: profile.email ?? null,
      display_name: profile.display_name ?? profile.username,
      position: profile.position ?? null,
      avatar_url: profile.avatar_url ?? null,
      role,
      last_synced_at: new Date(),
    };
    const existing = await this.users.findByTmsId(profile.id, db);
    let row: UserRow;
    let changed = false;
    if (existing) {
      changed =
        existing.email !== fields.email ||
        existing.display_name !== fields.display_name ||
        existing.position !== fields.position ||
        existing.avatar_url !== fields.avatar_url ||
        existing.role !== fields.role ||
        (existing.deactivated_at !== null) !== inactive;
      const deactivated_at = inactive ? (existing.deactivated_at ?? new Date()) : null;
      row = (await this.users.update(existing.id, { ...fields, deactivated_at }, db)) ?? existing;
    } else {
      row = await this.insert(profile, { ...fields, deactivated_at: inactive ? new Date() : null }, db);
    }
    await this.cache.set(profileKey(profile.id), profile, this.ttl);
    await this.remember(profile.id, row);
    if (inactive) await markUserDeactivated(this.cache, row.id, this.ctx.config.accessTokenTtlSeconds);
    else await clearUserDeactivated(this.cache, row.id);
    if (existing && changed) {
      if (inactive && existing.deactivated_at === null)
        this.ctx.bus.publish('user.deactivated', { user_id: row.id });
      else this.ctx.bus.publish('user.updated', { user_id: row.id });
    }
    return { row, changed };
  }

  /** user.deactivated / user.deleted: access is refused at once; the row stays for history. */
  async deactivate(tmsId: string): Promise<void> {
    const existing = await this.users.findByTmsId(tmsId);
    await this.cache.delete(profileKey(tmsId));
    if (!existing) return;
    const row = existing.deactivated_at
      ? existing
      : ((await this.users.update(existing.id, { deactivated_at: new Date() })) ?? existing);
    await this.remember(tmsId, row);
    await markUserDeactivated(this.cache, row.id, this.ctx.config.accessTokenTtlSeconds);
    if (!existing.deactivated_at) this.ctx.bus.publish('user.deactivated', { user_id: row.id });
  }

  /** The local id of a TMS user when one exists (no TMS call). */
  async localIdOf(tmsId: string): Promise<string | undefined> {
    const cached = await this.cache.get<TmsUserLink>(linkKey(tmsId));
    return cached?.userId ?? (await this.users.findByTmsId(tmsId))?.id;
  }

  private async remember(tmsId: string, row: UserRow): Promise<TmsUserLink> {
    const link: TmsUserLink = { userId: row.id, role: row.role, deactivated: row.deactivated_at !== null };
    await this.cache.set(linkKey(tmsId), link, this.ttl);
    return link;
  }

  private async insert(
    profile: TmsUser,
    fields: Omit<
      Parameters<TmsDirectory['users']['insert']>[0],
      'id' | 'username' | 'tms_user_id' | 'settings'
    >,
    db: Executor,
  ): Promise<UserRow> {
    const base = profile.username.slice(0, 48) || `tms-${profile.id.slice(0, 8)}`;
    for (let attempt = 0; ; attempt++) {
      // A local account may already hold the name: suffix until free.
      const username = attempt === 0 ? base : `${base}-${randomBytes(2).toString('hex')}`;
      try {
        return await this.users.insert(
          { id: newId(), tms_user_id: profile.id, username, settings: {}, ...fields },
          db,
        );
      } catch (error) {
        if (!isUniqueViolation(error) || attempt >= 5) throw error;
        // Another request created the same TMS user meanwhile.
        const raced = await this.users.findByTmsId(profile.id, db);
        if (raced) return raced;
      }
    }
  }
}
