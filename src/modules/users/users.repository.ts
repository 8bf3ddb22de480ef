// SQL for users. Every function takes an optional transaction; none throws HTTP errors.
import { type Kysely, sql, type Transaction } from 'kysely';
import type { DB, NewUser, UserRow, UserUpdate } from '../../db/schema.js';

type Executor = Kysely<DB> | Transaction<DB>;

export class UsersRepository {
  constructor(private readonly db: Kysely<DB>) {}

  findById(id: string, trx: Executor = this.db): Promise<UserRow | undefined> {
    return trx.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findByIds(ids: readonly string[], trx: Executor = this.db): Promise<UserRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return trx
      .selectFrom('users')
      .selectAll()
      .where('id', 'in', [...ids])
      .execute();
  }

  findByUsername(username: string, trx: Executor = this.db): Promise<UserRow | undefined> {
    return trx
      .selectFrom('users')
      .selectAll()
      .where(sql<string>`lower(username)`, '=', username.toLowerCase())
      .executeTakeFirst();
  }

  findByEmail(email: string, trx: Executor = this.db): Promise<UserRow | undefined> {
    return trx
      .selectFrom('users')
      .selectAll()
      .where(sql<string>`lower(email)`, '=', email.toLowerCase())
      .where('tms_user_id', 'is', null)
      .executeTakeFirst();
  }

  findByTmsId(tmsUserId: string, trx: Executor = this.db): Promise<UserRow | undefined> {
    return trx.selectFrom('users').selectAll().where('tms_user_id', '=', tmsUserId).executeTakeFirst();
  }

  findByTmsIds(tmsUserIds: readonly string[], trx: Executor = this.db): Promise<UserRow[]> {
    if (tmsUserIds.length === 0) return Promise.resolve([]);
    return trx
      .selectFrom('users')
      .selectAll()
      .where('tms_user_id', 'in', [...tmsUserIds])
      .execute();
  }

  async count(trx: Executor = this.db): Promise<number> {
    const row = await trx
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  insert(user: NewUser, trx: Executor = this.db): Promise<UserRow> {
    return trx.insertInto('users').values(user).returningAll().executeTakeFirstOrThrow();
  }

  update(id: string, changes: UserUpdate, trx: Executor = this.db): Promise<UserRow | undefined> {
    return trx
      .updateTable('users')
      .set({ ...changes, updated_at: new Date() })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
  }

  /**
   * Trigram search on username and display name, best match first; active users only.
   * `excludeIds` drops e.g. the caller and people who blocked them.
   */
  search(query: string, limit: number, offset: number, trx: Executor = this.db): Promise<UserRow[]> {
    const q = query.toLowerCase();
    const pattern = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    return trx
      .selectFrom('users')
      .selectAll()
      .where('deactivated_at', 'is', null)
      .where((eb) =>
        eb.or([
          eb(sql`lower(username)`, 'like', pattern),
          eb(sql`lower(coalesce(display_name, ''))`, 'like', pattern),
          eb(sql`lower(username)`, sql`%`, q),
          eb(sql`lower(coalesce(display_name, ''))`, sql`%`, q),
        ]),
      )
      .orderBy(
        sql`greatest(similarity(lower(username), ${q}), similarity(lower(coalesce(display_name, '')), ${q}), CASE WHEN lower(username) LIKE ${`${q}%`} THEN 1 ELSE 0 END)`,
        'desc',
      )
      .orderBy('username')
      .limit(limit)
      .offset(offset)
      .execute();
  }
}
