// Session revocations of TMS logins (logout through TMA, session.revoked webhooks): stored, so a cache flush cannot
// re-admit their tokens. Local logins are revoked in `sessions.revoked_at`.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE revoked_sessions (
      session_id text PRIMARY KEY,
      revoked_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX revoked_sessions_expires_idx ON revoked_sessions (expires_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS revoked_sessions`.execute(db);
}
