// Admin operations: users (list, deactivate, reactivate, role), sessions, exports, retention, invites, audit.
// Every change is written to the audit log; the caller has been checked to be an admin by the routes.
import { sql } from 'kysely';
import type { AppContext } from '../../context.js';
import { ConflictError, NotFoundError } from '../../errors.js';
import type { Actor, Role } from '../../identity/actor.js';
import { markSessionRevoked } from '../../identity/revocation.js';
import { SessionsRepository } from '../../identity/sessions.repository.js';
import { deactivateUser, reactivateUser } from '../../identity/user-access.js';
import { toSelfView } from '../users/users.schemas.js';
import { AuditRepository, type AuditView } from './audit.repository.js';
import { InvitesRepository, type InviteView } from './invites.js';
import { type RetentionSettings, ServerSettings } from './settings.js';

export interface AdminUserView {
  id: string;
  username: string;
  display_name: string | null;
  email: string | null;
  role: Role;
  tms_user_id: string | null;
  created_at: string;
  last_seen_at: string | null;
  deactivated_at: string | null;
}

export interface RequestMeta {
  ip: string | null;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export class AdminService {
  readonly audit: AuditRepository;
  readonly invites: InvitesRepository;
  readonly settings: ServerSettings;
  private readonly sessions: SessionsRepository;

  constructor(private readonly ctx: AppContext) {
    this.audit = new AuditRepository(ctx.db);
    this.invites = new InvitesRepository(ctx.db);
    this.settings = new ServerSettings(ctx.db, ctx.config);
    this.sessions = new SessionsRepository(ctx.db);
  }

  async listUsers(options: {
    q?: string;
    status?: 'active' | 'deactivated';
    role?: Role;
    limit: number;
    cursor?: string;
  }): Promise<{ items: AdminUserView[]; nextCursor: string | null }> {
    let query = this.ctx.db.selectFrom('users').selectAll();
    if (options.q) {
      const like = `%${options.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      query = query.where((eb) =>
        eb.or([
          eb(sql<string>`lower(username)`, 'like', like),
          eb(sql<string>`lower(coalesce(display_name, ''))`, 'like', like),
          eb(sql<string>`lower(coalesce(email, ''))`, 'like', like),
        ]),
      );
    }
    if (options.status === 'active') query = query.where('deactivated_at', 'is', null);
    if (options.status === 'deactivated') query = query.where('deactivated_at', 'is not', null);
    if (options.role) query = query.where('role', '=', options.role);
    if (options.cursor) query = query.where('id', '>', options.cursor);
    const rows = await query
      .orderBy('id')
      .limit(options.limit + 1)
      .execute();
    const page = rows.slice(0, options.limit);
    return {
      items: page.map((r) => ({
        id: r.id,
        username: r.username,
        display_name: r.display_name,
        email: r.email,
        role: r.role,
        tms_user_id: r.tms_user_id,
        created_at: r.created_at.toISOString(),
        last_seen_at: iso(r.last_seen_at),
        deactivated_at: iso(r.deactivated_at),
      })),
      nextCursor: rows.length > options.limit ? (page.at(-1)?.id ?? null) : null,
    };
  }

  private async user(userId: string) {
    const row = await this.ctx.services.usersRepository.findById(userId);
    if (!row) throw new NotFoundError('User', 'user_not_found');
    return row;
  }

  private notSelf(actor: Actor, userId: string, what: string) {
    if (actor.userId === userId) {
      throw new ConflictError(`Admins cannot ${what} themselves`, 'cannot_modify_self');
    }
  }

  async deactivate(actor: Actor, userId: string, meta: RequestMeta): Promise<AdminUserView> {
    this.notSelf(actor, userId, 'deactivate');
    await this.user(userId);
    await deactivateUser(this.ctx, userId);
    await this.audit.record({
      actorId: actor.userId,
      action: 'user.deactivate',
      targetType: 'user',
      targetId: userId,
      ip: meta.ip,
    });
    return this.view(userId);
  }

  async reactivate(actor: Actor, userId: string, meta: RequestMeta): Promise<AdminUserView> {
    await this.user(userId);
    await reactivateUser(this.ctx, userId);
    await this.audit.record({
      actorId: actor.userId,
      action: 'user.reactivate',
      targetType: 'user',
      targetId: userId,
      ip: meta.ip,
    });
    return this.view(userId);
  }

  /** Local mode only (TMS roles decide in TMS mode). Revokes the user's sessions: tokens carry the role. */
  async setRole(actor: Actor, userId: string, role: Role, meta: RequestMeta): Promise<AdminUserView> {
    if (this.ctx.identity.mode === 'tms') {
      throw new ConflictError('Roles come from TMS in TMS mode (TMS_ROLE_MAP)', 'role_managed_by_tms');
    }
    this.notSelf(actor, userId, 'change the role of');
    const before = await this.user(userId);
    if (before.role !== role) {
      await this.ctx.services.usersRepository.update(userId, { role });
      await this.revokeAll(userId);
      this.ctx.bus.publish('user.updated', { user_id: userId });
    }
    await this.audit.record({
      actorId: actor.userId,
      action: 'user.role',
      targetType: 'user',
      targetId: userId,
      details: { from: before.role, to: role },
      ip: meta.ip,
    });
    return this.view(userId);
  }

  async revokeSessions(actor: Actor, userId: string, meta: RequestMeta): Promise<{ revoked: number }> {
    await this.user(userId);
    const revoked = await this.revokeAll(userId);
    await this.audit.record({
      actorId: actor.userId,
      action: 'user.sessions_revoke',
      targetType: 'user',
      targetId: userId,
      details: { revoked },
      ip: meta.ip,
    });
    return { revoked };
  }

  private async revokeAll(userId: string): Promise<number> {
    const families = await this.sessions.revokeAllForUser(userId);
    for (const family of families) {
      await markSessionRevoked(this.ctx.cache, family, this.ctx.config.accessTokenTtlSeconds);
      this.ctx.bus.publish('session.revoked', { session_id: family, user_id: userId });
    }
    return families.length;
  }

  private async view(userId: string): Promise<AdminUserView> {
    const r = await this.user(userId);
    return {
      id: r.id,
      username: r.username,
      display_name: r.display_name,
      email: r.email,
      role: r.role,
      tms_user_id: r.tms_user_id,
      created_at: r.created_at.toISOString(),
      last_seen_at: iso(r.last_seen_at),
      deactivated_at: iso(r.deactivated_at),
    };
  }

  /** A conversation as stored: the conversation, its members, every message (deleted ones marked) and its events. */
  async exportConversation(actor: Actor, conversationId: string, meta: RequestMeta) {
    const { db } = this.ctx;
    const conversation = await db
      .selectFrom('conversations')
      .selectAll()
      .where('id', '=', conversationId)
      .executeTakeFirst();
    if (!conversation) throw new NotFoundError('Conversation', 'conversation_not_found');
    const [members, messages, events, attachments] = await Promise.all([
      db
        .selectFrom('conversation_members as m')
        .innerJoin('users as u', 'u.id', 'm.user_id')
        .select(['m.user_id', 'u.username', 'm.role', 'm.joined_at', 'm.left_at', 'm.read_seq'])
        .where('m.conversation_id', '=', conversationId)
        .execute(),
      db
        .selectFrom('messages')
        .select([
          'id',
          'seq',
          'sender_id',
          'type',
          'content',
          'metadata',
          'reply_to_id',
          'forwarded_from_id',
          'created_at',
          'edited_at',
          'deleted_at',
        ])
        .where('conversation_id', '=', conversationId)
        .orderBy('seq')
        .execute(),
      db
        .selectFrom('conversation_events')
        .select(['seq', 'type', 'message_id', 'actor_id', 'payload', 'created_at'])
        .where('conversation_id', '=', conversationId)
        .orderBy('seq')
        .execute(),
      db
        .selectFrom('message_attachments as a')
        .innerJoin('messages as msg', 'msg.id', 'a.message_id')
        .innerJoin('files as f', 'f.id', 'a.file_id')
        .select(['a.message_id', 'f.id', 'f.filename', 'f.mime_type', 'f.size_bytes', 'f.sha256'])
        .where('msg.conversation_id', '=', conversationId)
        .execute(),
    ]);
    await this.audit.record({
      actorId: actor.userId,
      action: 'conversation.export',
      targetType: 'conversation',
      targetId: conversationId,
      details: { messages: messages.length },
      ip: meta.ip,
    });
    return {
      exported_at: new Date().toISOString(),
      conversation,
      members,
      messages: messages.map((m) => ({
        ...m,
        attachments: attachments.filter((a) => a.message_id === m.id).map(({ message_id: _, ...f }) => f),
      })),
      events,
    };
  }

  /**
   * Everything stored about one person (privacy requests): profile and settings, logins (no secrets), friends,
   * blocks, memberships, the messages they wrote, their reactions and the files they uploaded (with download
   * URLs; `npm run admin -- export-user` also copies the files).
   */
  async exportUser(actor: Actor | null, userId: string, meta: RequestMeta) {
    const { db } = this.ctx;
    const user = await this.user(userId);
    const [sessions, friendships, blocks, memberships, messages, reactions, files] = await Promise.all([
      db
        .selectFrom('sessions')
        .select([
          'id',
          'family_id',
          'created_at',
          'last_used_at',
          'expires_at',
          'revoked_at',
          'user_agent',
          'ip',
        ])
        .where('user_id', '=', userId)
        .orderBy('created_at')
        .execute(),
      db
        .selectFrom('friendships')
        .selectAll()
        .where((eb) => eb.or([eb('requester_id', '=', userId), eb('receiver_id', '=', userId)]))
        .execute(),
      db.selectFrom('user_blocks').selectAll().where('blocker_id', '=', userId).execute(),
      db
        .selectFrom('conversation_members as m')
        .innerJoin('conversations as c', 'c.id', 'm.conversation_id')
        .select(['m.conversation_id', 'c.type', 'c.name', 'm.role', 'm.joined_at', 'm.left_at'])
        .where('m.user_id', '=', userId)
        .execute(),
      db
        .selectFrom('messages')
        .select([
          'id',
          'conversation_id',
          'seq',
          'type',
          'content',
          'metadata',
          'created_at',
          'edited_at',
          'deleted_at',
        ])
        .where('sender_id', '=', userId)
        .orderBy('created_at')
        .execute(),
      db.selectFrom('message_reactions').selectAll().where('user_id', '=', userId).execute(),
      db.selectFrom('files').selectAll().where('uploader_id', '=', userId).orderBy('created_at').execute(),
    ]);
    const fileViews = await Promise.all(
      files.map(async (f) => ({
        id: f.id,
        filename: f.filename,
        mime_type: f.mime_type,
        size_bytes: f.size_bytes,
        sha256: f.sha256,
        status: f.status,
        created_at: f.created_at,
        storage_key: f.storage_key,
        url: f.status === 'ready' ? (await this.ctx.services.files.view(f)).url : null,
      })),
    );
    await this.audit.record({
      actorId: actor?.userId ?? null,
      action: 'user.export',
      targetType: 'user',
      targetId: userId,
      details: { messages: messages.length, files: files.length },
      ip: meta.ip,
    });
    return {
      exported_at: new Date().toISOString(),
      user: toSelfView(user),
      sessions,
      friendships,
      blocks,
      memberships,
      messages,
      reactions,
      files: fileViews,
    };
  }

  retention(): Promise<RetentionSettings> {
    return this.settings.retention();
  }

  async setRetention(
    actor: Actor,
    patch: Partial<RetentionSettings>,
    meta: RequestMeta,
  ): Promise<RetentionSettings> {
    const before = await this.settings.retention();
    const after = await this.settings.setRetention(patch, actor.userId);
    await this.audit.record({
      actorId: actor.userId,
      action: 'settings.retention',
      details: { before, after },
      ip: meta.ip,
    });
    return after;
  }

  async createInvite(
    actor: Actor,
    input: { max_uses: number; expires_in_hours: number },
    meta: RequestMeta,
  ): Promise<InviteView> {
    const invite = await this.invites.create(actor.userId, input.max_uses, input.expires_in_hours * 3600);
    await this.audit.record({
      actorId: actor.userId,
      action: 'invite.create',
      targetType: 'invite',
      targetId: invite.id,
      details: { max_uses: input.max_uses, expires_at: invite.expires_at },
      ip: meta.ip,
    });
    return invite;
  }

  async revokeInvite(actor: Actor, id: string, meta: RequestMeta): Promise<void> {
    if (!(await this.invites.revoke(id))) throw new NotFoundError('Invite', 'invite_not_found');
    await this.audit.record({
      actorId: actor.userId,
      action: 'invite.revoke',
      targetType: 'invite',
      targetId: id,
      ip: meta.ip,
    });
  }

  listAudit(options: { limit: number; before?: string; action?: string }): Promise<AuditView[]> {
    return this.audit.list(options);
  }
}
