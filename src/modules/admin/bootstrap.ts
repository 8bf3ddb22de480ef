// The first admin of a local deployment: seeded at startup from TMA_ADMIN_USERNAME/TMA_ADMIN_PASSWORD, or made
// with `npm run admin -- create`. Idempotent: an existing account is promoted, its password left alone.
import { type Kysely, sql } from 'kysely';
import type { Logger } from 'pino';
import { newId } from '../../db/ids.js';
import type { DB } from '../../db/schema.js';
import { isUniqueViolation } from '../../errors.js';
import { hashPassword } from '../../identity/passwords.js';
import { AuditRepository } from './audit.repository.js';

/** Serialises seeding across instances that start together. */
const ADMIN_SEED_LOCK = 72_010_006;

export type EnsureAdminResult = 'created' | 'promoted' | 'unchanged';

export async function ensureAdmin(
  db: Kysely<DB>,
  input: { username: string; password: string; source: 'environment' | 'cli' },
): Promise<{ result: EnsureAdminResult; userId: string }> {
  const passwordHash = await hashPassword(input.password);
  const audit = new AuditRepository(db);
  try {
    return await db.transaction().execute(async (trx) => {
      await sql`SELECT pg_advisory_xact_lock(${ADMIN_SEED_LOCK})`.execute(trx);
      const existing = await trx
        .selectFrom('users')
        .select(['id', 'role', 'tms_user_id'])
        .where(sql<string>`lower(username)`, '=', input.username.toLowerCase())
        .executeTakeFirst();
      if (existing) {
        if (existing.role === 'admin') return { result: 'unchanged' as const, userId: existing.id };
        await trx
          .updateTable('users')
          .set({ role: 'admin', updated_at: new Date() })
          .where('id', '=', existing.id)
          .execute();
        await audit.record(
          {
            actorId: null,
            action: 'admin.bootstrap',
            targetType: 'user',
            targetId: existing.id,
            details: { username: input.username, result: 'promoted', source: input.source },
          },
          trx,
        );
        return { result: 'promoted' as const, userId: existing.id };
      }
      const id = newId();
      await trx
        .insertInto('users')
        .values({
          id,
          username: input.username,
          display_name: input.username,
          role: 'admin',
          password_hash: passwordHash,
          settings: JSON.stringify({}),
        })
        .execute();
      await audit.record(
        {
          actorId: null,
          action: 'admin.bootstrap',
          targetType: 'user',
          targetId: id,
          details: { username: input.username, result: 'created', source: input.source },
        },
        trx,
      );
      return { result: 'created' as const, userId: id };
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new Error(`username ${input.username} is taken by another account`);
    throw error;
  }
}

/** At startup (local mode): seeds TMA_ADMIN_USERNAME when set; TMS mode takes admins from TMS roles. */
export async function seedAdminFromConfig(
  db: Kysely<DB>,
  logger: Logger,
  admin: { username: string; password: string } | undefined,
  authMode: 'local' | 'tms',
): Promise<void> {
  if (!admin) return;
  if (authMode === 'tms') {
    logger.warn(
      'TMA_ADMIN_USERNAME is ignored with AUTH_MODE=tms: admins come from TMS roles (TMS_ROLE_MAP)',
    );
    return;
  }
  const { result } = await ensureAdmin(db, { ...admin, source: 'environment' });
  if (result !== 'unchanged') logger.info({ username: admin.username, result }, `bootstrap admin ${result}`);
}
