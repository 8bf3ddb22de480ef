// /admin/*: administrators only (403 admin_required for everyone else, before the input is looked at).
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../../context.js';
import { Envelope, errors, ListEnvelope, ok, page } from '../../http/envelope.js';
import { requireAdmin } from '../../identity/actor.js';
import {
  AdminUserView,
  AuditQuery,
  AuditView,
  ExportView,
  IdParams,
  InviteBody,
  InviteParams,
  InviteView,
  ListUsersQuery,
  RetentionBody,
  RetentionView,
  RevokeResult,
  RoleBody,
} from './admin.schemas.js';
import { AdminService } from './admin.service.js';

const meta = (request: FastifyRequest) => ({ ip: request.ip });
const tags = ['admin'];

export async function adminRoutes(app: FastifyInstance, ctx: AppContext): Promise<AdminService> {
  const service = new AdminService(ctx);
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  // After the global auth hook (onRequest, registered first); before validation, so input never matters.
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.url === undefined) return;
    requireAdmin(request);
  });

  api.get(
    '/admin/users',
    {
      schema: {
        tags,
        operationId: 'adminListUsers',
        summary: 'Every account, filtered by text, status or role',
        description: 'Ordered by id; page with `cursor`. `q` matches username, display name and email.',
        querystring: ListUsersQuery,
        response: { 200: ListEnvelope(AdminUserView), ...errors(400, 401, 403) },
      },
    },
    async (request) => {
      const { items, nextCursor } = await service.listUsers(request.query);
      return page(items, nextCursor);
    },
  );

  api.post(
    '/admin/users/:id/deactivate',
    {
      schema: {
        tags,
        operationId: 'adminDeactivateUser',
        summary: 'Deactivate an account: its sessions are revoked and its tokens refused at once',
        description: 'Idempotent. An admin cannot deactivate themself (409 cannot_modify_self).',
        params: IdParams,
        response: { 200: Envelope(AdminUserView), ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => ok(await service.deactivate(requireAdmin(request), request.params.id, meta(request))),
  );

  api.post(
    '/admin/users/:id/reactivate',
    {
      schema: {
        tags,
        operationId: 'adminReactivateUser',
        summary: 'Reactivate an account (it logs in again)',
        description: 'Idempotent. Sessions revoked by the deactivation stay revoked.',
        params: IdParams,
        response: { 200: Envelope(AdminUserView), ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => ok(await service.reactivate(requireAdmin(request), request.params.id, meta(request))),
  );

  api.put(
    '/admin/users/:id/role',
    {
      schema: {
        tags,
        operationId: 'adminSetUserRole',
        summary: 'Make an account admin or user (local mode)',
        description:
          'Access tokens carry the role, so the account is logged out everywhere. In TMS mode roles come from TMS (409 role_managed_by_tms); an admin cannot change their own role (409 cannot_modify_self).',
        params: IdParams,
        body: RoleBody,
        response: { 200: Envelope(AdminUserView), ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) =>
      ok(await service.setRole(requireAdmin(request), request.params.id, request.body.role, meta(request))),
  );

  api.post(
    '/admin/users/:id/sessions/revoke',
    {
      schema: {
        tags,
        operationId: 'adminRevokeUserSessions',
        summary: 'Log an account out everywhere',
        description: 'Revokes every live session; their access tokens are refused at once. Answers how many.',
        params: IdParams,
        response: { 200: Envelope(RevokeResult), ...errors(400, 401, 403, 404) },
      },
    },
    async (request) =>
      ok(await service.revokeSessions(requireAdmin(request), request.params.id, meta(request))),
  );

  api.get(
    '/admin/users/:id/export',
    {
      schema: {
        tags,
        operationId: 'adminExportUser',
        summary: 'Everything stored about one person (privacy requests)',
        description:
          'Profile, settings, logins (no secrets), friendships, blocks, memberships, messages written, reactions and uploaded files with short-lived download URLs. Audited.',
        params: IdParams,
        response: { 200: Envelope(ExportView), ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => ok(await service.exportUser(requireAdmin(request), request.params.id, meta(request))),
  );

  api.get(
    '/admin/conversations/:id/export',
    {
      schema: {
        tags,
        operationId: 'adminExportConversation',
        summary: 'A conversation as stored: members, every message and its event log',
        description: 'Deleted messages are included with deleted_at set. Audited.',
        params: IdParams,
        response: { 200: Envelope(ExportView), ...errors(400, 401, 403, 404) },
      },
    },
    async (request) =>
      ok(await service.exportConversation(requireAdmin(request), request.params.id, meta(request))),
  );

  api.get(
    '/admin/settings/retention',
    {
      schema: {
        tags,
        operationId: 'adminGetRetention',
        summary: 'How long messages, catch-up events and files are kept',
        description: 'Days; null keeps forever. Defaults come from MESSAGE_/EVENT_/FILE_RETENTION_DAYS.',
        response: { 200: Envelope(RetentionView), ...errors(401, 403) },
      },
    },
    async () => ok(await service.retention()),
  );

  api.put(
    '/admin/settings/retention',
    {
      schema: {
        tags,
        operationId: 'adminSetRetention',
        summary: 'Change retention (applied by the hourly retention jobs)',
        description: 'Send the fields to change; null keeps forever. Answers the settings now in force.',
        body: RetentionBody,
        response: { 200: Envelope(RetentionView), ...errors(400, 401, 403) },
      },
    },
    async (request) => ok(await service.setRetention(requireAdmin(request), request.body, meta(request))),
  );

  api.post(
    '/admin/invites',
    {
      schema: {
        tags,
        operationId: 'adminCreateInvite',
        summary: 'Create an invite code (REGISTRATION=invite)',
        description: 'The code is shown once; registration sends it as invite_code.',
        body: Type.Union([InviteBody, Type.Null()]),
        response: { 201: Envelope(InviteView), ...errors(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const body = {
        max_uses: request.body?.max_uses ?? 1,
        expires_in_hours: request.body?.expires_in_hours ?? 168,
      };
      const invite = await service.createInvite(requireAdmin(request), body, meta(request));
      return reply.status(201).send(ok(invite));
    },
  );

  api.get(
    '/admin/invites',
    {
      schema: {
        tags,
        operationId: 'adminListInvites',
        summary: 'Invite codes, newest first (without the codes)',
        description: 'The 200 newest invites.',
        response: { 200: Envelope(Type.Array(InviteView)), ...errors(401, 403) },
      },
    },
    async () => ok(await service.invites.list()),
  );

  api.delete(
    '/admin/invites/:id',
    {
      schema: {
        tags,
        operationId: 'adminRevokeInvite',
        summary: 'Revoke an invite code',
        description: '`id` is the invite id from the list.',
        params: InviteParams,
        response: { 200: Envelope(Type.Object({ revoked: Type.Boolean() })), ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      await service.revokeInvite(requireAdmin(request), request.params.id, meta(request));
      return ok({ revoked: true });
    },
  );

  api.get(
    '/admin/audit',
    {
      schema: {
        tags,
        operationId: 'adminListAudit',
        summary: 'The audit log, newest first',
        description: 'Every admin action and the startup admin seed; page with `cursor`, filter by `action`.',
        querystring: AuditQuery,
        response: { 200: ListEnvelope(AuditView), ...errors(400, 401, 403) },
      },
    },
    async (request) => {
      const { limit, cursor, action } = request.query;
      const items = await service.listAudit({ limit: limit + 1, before: cursor, action });
      const pageItems = items.slice(0, limit);
      return page(pageItems, items.length > limit ? (pageItems.at(-1)?.id ?? null) : null);
    },
  );

  return service;
}
