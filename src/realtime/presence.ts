// Presence: online while any /messaging socket of the user is connected anywhere; shown to contacts, per privacy.
import type { Logger } from 'pino';
import type { AccessService } from '../modules/access/access.service.js';
import type { ViewingStore } from '../modules/notifications/viewing.js';
import { userSettings } from '../modules/users/users.schemas.js';
import type { PresenceStore } from '../platform/presence.js';
import type { Fanout } from './fanout.js';
import type { PresenceEntry } from './protocol.js';
import { rooms } from './protocol.js';
import type { RealtimeRepository } from './realtime.repository.js';

export class PresenceService {
  constructor(
    private readonly store: PresenceStore,
    private readonly repository: RealtimeRepository,
    /** Contacts: who may see a user's presence (the one definition, src/modules/access). */
    private readonly contacts: Pick<AccessService, 'contactIds' | 'contactsAmong'>,
    private readonly fanout: Fanout,
    private readonly logger: Logger,
    /** A connection that goes views nothing any more. */
    private readonly viewing?: Pick<ViewingStore, 'clear'>,
  ) {}

  async connected(userId: string, connectionId: string): Promise<void> {
    try {
      if (!(await this.store.connect(userId, connectionId))) return;
      await this.announce(userId, true);
    } catch (err) {
      this.logger.warn({ err, user_id: userId }, 'presence: could not record a connection');
    }
  }

  async disconnected(userId: string, connectionId: string): Promise<void> {
    try {
      await this.viewing?.clear(userId, connectionId).catch(() => undefined);
      if (!(await this.store.disconnect(userId, connectionId))) return;
      await this.announce(userId, false);
    } catch (err) {
      this.logger.warn({ err, user_id: userId }, 'presence: could not record a disconnection');
    }
  }

  /** Which of these users have a live connection anywhere (no privacy applied: for server-side decisions). */
  online(userIds: readonly string[]): Promise<Set<string>> {
    return this.store.online(userIds);
  }

  heartbeat(connections: Iterable<{ userId: string; connectionId: string }>): Promise<void> {
    return this.store.heartbeat(connections);
  }

  restore(connections: Iterable<{ userId: string; connectionId: string }>): Promise<void> {
    return this.store.restore(connections);
  }

  /** Presence of `userIds` as `viewerId` may see it: contacts only, and never what privacy hides. */
  async query(viewerId: string, userIds: readonly string[]): Promise<PresenceEntry[]> {
    const unique = [...new Set(userIds)];
    const [contacts, profiles, online] = await Promise.all([
      this.contacts.contactsAmong(viewerId, unique),
      this.repository.presenceProfiles(unique),
      this.store.online(unique).catch((err: unknown) => {
        this.logger.warn({ err }, 'presence: store unavailable; reporting everyone offline');
        return new Set<string>();
      }),
    ]);
    const byId = new Map(profiles.map((p) => [p.id, p]));
    return unique.map((id) => {
      const profile = byId.get(id);
      const visible = profile !== undefined && (id === viewerId || contacts.has(id));
      if (!visible) return { user_id: id, online: false, last_seen_at: null };
      const { privacy } = userSettings(profile);
      const self = id === viewerId;
      return {
        user_id: id,
        online: online.has(id) && (self || privacy.online),
        last_seen_at:
          self || privacy.last_seen !== 'nobody' ? (profile.last_seen_at?.toISOString() ?? null) : null,
      };
    });
  }

  private async announce(userId: string, online: boolean): Promise<void> {
    const now = new Date();
    if (!online) await this.repository.touchLastSeen(userId, now);
    const [profile] = await this.repository.presenceProfiles([userId]);
    if (!profile) return;
    const { privacy } = userSettings(profile);
    if (!privacy.online) return;
    const contacts = await this.contacts.contactIds(userId);
    if (contacts.length === 0) return;
    const lastSeen = online || privacy.last_seen === 'nobody' ? null : now.toISOString();
    this.fanout.emit(contacts.map(rooms.user), online ? 'user_online' : 'user_offline', {
      user_id: userId,
      last_seen_at: lastSeen,
    });
  }
}
