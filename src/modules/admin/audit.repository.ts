// The audit log: one row per admin action (and the startup admin seed), newest first.
import type { Kysely, Transaction } from 'kysely';
import { newId } from '../../db/ids.js';
import type { DB } from '../../db/schema.js';

type Executor = Kysely<DB> | Transaction<DB>;

export interface AuditEntry {
  actorId: string | null;
  action: string;
  targetType?: string;
  targetId?: string;
  details?: Record<string, unknown>;
  ip?: string | null;
}

export interface AuditView {
  id: string;
  actor_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  details: Record<string, unknown>;
  ip: string | null;
  created_at: string;
}

export class AuditRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async record(entry: AuditEntry, trx: Executor = this.db): Promise<void> {
    await trx
      .insertInto('audit_log')
      .values({
        id: newId(),
        actor_id: entry.actorId,
        action: entry.action,
        target_type: entry.targetType ?? null,
        target_id: entry.targetId ?? null,
        details: JSON.stringify(entry.details ?? {}),
        ip: entry.ip ?? null,
      })
      .execute();
  }

  /** Newest first; `before` is the id of the last entry of the previous page (ids are UUIDv7, time-ordered). */
  async list(options: { limit: number; before?: string; action?: string }): Promise<AuditView[]> {
    let query = this.db.selectFrom('audit_log').selectAll();
    if (options.before) query = query.where('id', '<', options.before);
    if (options.action) query = query.where('action', '=', options.action);
    const rows = await query.orderBy('id', 'desc').limit(options.limit).execute();
    return rows.map((r) => ({
      id: r.id,
      actor_id: r.actor_id,
      action: r.action,
      target_type: r.target_type,
      target_id: r.target_id,
      details: r.details,
      ip: r.ip,
      created_at: r.created_at.toISOString(),
    }));
  }
}
