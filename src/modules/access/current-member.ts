// The one spelling of "current member": a conversation_members row whose member has not left.
import { type RawBuilder, sql } from 'kysely';

/**
 * `<alias>.left_at IS NULL`, for Kysely (`.where(currentMember('cm'))`) and for SQL templates
 * (`${currentMember('cm')}`). The text is constant for an alias, so prepared statements stay prepared, and it is
 * the predicate of the partial index on members' user ids, so the planner can use that index.
 */
export function currentMember(alias = 'conversation_members'): RawBuilder<boolean> {
  return sql<boolean>`${sql.ref(`${alias}.left_at`)} IS NULL`;
}
