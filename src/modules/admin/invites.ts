// Invite codes for REGISTRATION=invite: created by admins, stored hashed, each good for max_uses sign-ups.
import { createHash, randomBytes } from 'node:crypto';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { DB } from '../../db/schema.js';

type Executor = Kysely<DB> | Transaction<DB>;

const hashCode = (code: string) => createHash('sha256').update(code).digest('hex');

export interface InviteView {
  /** Shown once, when the invite is created. */
  code?: string;
  id: string;
  max_uses: number;
  uses: number;
  expires_at: string;
  created_at: string;
  revoked: boolean;
}

export class InvitesRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async create(
    createdBy: string,
    maxUses: number,
    ttlSeconds: number,
    trx: Executor = this.db,
  ): Promise<InviteView> {
    const code = randomBytes(18).toString('base64url');
    const row = await trx
      .insertInto('invites')
      .values({
        code_hash: hashCode(code),
        created_by: createdBy,
        max_uses: maxUses,
        expires_at: new Date(Date.now() + ttlSeconds * 1000),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { code, ...view(row) };
  }

  async list(trx: Executor = this.db): Promise<InviteView[]> {
    const rows = await trx
      .selectFrom('invites')
      .selectAll()
      .orderBy('created_at', 'desc')
      .limit(200)
      .execute();
    return rows.map(view);
  }

  /** `id` is the first 16 hex characters of the code's hash (what list shows). */
  async revoke(id: string, trx: Executor = this.db): Promise<boolean> {
    const result = await trx
      .updateTable('invites')
      .set({ revoked_at: new Date() })
      .where(sql<string>`left(code_hash, 16)`, '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Spends one use of a live code; false when the code is unknown, used up, expired or revoked. */
  async consume(code: string, trx: Executor = this.db): Promise<boolean> {
    const result = await trx
      .updateTable('invites')
      .set((eb) => ({ uses: eb('uses', '+', 1) }))
      .where('code_hash', '=', hashCode(code))
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', new Date())
      .where((eb) => eb('uses', '<', eb.ref('max_uses')))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}

function view(row: {
  code_hash: string;
  max_uses: number;
  uses: number;
  expires_at: Date;
  created_at: Date;
  revoked_at: Date | null;
}): InviteView {
  return {
    id: row.code_hash.slice(0, 16),
    max_uses: row.max_uses,
    uses: row.uses,
    expires_at: row.expires_at.toISOString(),
    created_at: row.created_at.toISOString(),
    revoked: row.revoked_at !== null,
  };
}
