// SQL for users. Every function takes an optional transaction; none throws HTTP errors.
import { type Kysely, type RawBuilder, sql, type Transaction } from 'kysely';
import type { DB, NewUser, UserRow, UserUpdate } from '../../db/schema.js';
import { currentMember } from '../access/current-member.js';

type Executor = Kysely<DB> | Transaction<DB>;
type JsonObject = Record<string, unknown>;

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
   * Trigram search on username and display name, best match first; leaves out deactivated users and
   * everyone who blocked `viewerId`.
   */
  searchVisibleTo(
    viewerId: string,
    query: string,
    limit: number,
    offset: number,
    trx: Executor = this.db,
  ): Promise<UserRow[]> {
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
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('user_blocks')
              .select('user_blocks.blocker_id')
              .whereRef('user_blocks.blocker_id', '=', 'users.id')
              .where('user_blocks.blocked_id', '=', viewerId),
          ),
        ),
      )
      .orderBy(
        sql`greatest(similarity(lower(username), ${q}), similarity(lower(coalesce(display_name, '')), ${q}), CASE WHEN lower(username) LIKE ${`${q}%`} THEN 1 ELSE 0 END)`,
        'desc',
      )
      .orderBy('username')
      .orderBy('id')
      .limit(limit)
      .offset(offset)
      .execute();
  }

  /**
   * Updates profile columns and merges partial privacy / notification settings into users.settings
   * in one statement, so concurrent partial updates do not overwrite each other.
   */
  updateProfileAndSettings(
    id: string,
    profile: Pick<UserUpdate, 'display_name' | 'avatar_url' | 'position'>,
    settings: { privacy?: Record<string, unknown>; notifications?: Record<string, unknown> },
    trx: Executor = this.db,
  ): Promise<UserRow | undefined> {
    const merged = (['privacy', 'notifications'] as const).reduce<RawBuilder<JsonObject>>((acc, key) => {
      const part = settings[key];
      if (!part || Object.keys(part).length === 0) return acc;
      return sql`jsonb_set(${acc}, ${sql.lit(`{${key}}`)}::text[], coalesce(${acc} -> ${key}, '{}'::jsonb) || ${JSON.stringify(part)}::jsonb)`;
    }, sql<JsonObject>`coalesce(settings, '{}'::jsonb)`);
    return trx
      .updateTable('users')
      .set({ ...profile, settings: merged, updated_at: new Date() })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
  }

  /** True when both users are current members of at least one common conversation. */
  async shareConversation(a: string, b: string, trx: Executor = this.db): Promise<boolean> {
    const row = await trx
      .selectFrom('conversation_members as m1')
      .innerJoin('conversation_members as m2', 'm2.conversation_id', 'm1.conversation_id')
      .select('m1.conversation_id')
      .where('m1.user_id', '=', a)
      .where('m2.user_id', '=', b)
      .where(currentMember('m1'))
      .where(currentMember('m2'))
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }
}
