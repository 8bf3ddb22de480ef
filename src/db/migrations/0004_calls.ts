// Calls (docs/calls.md): liveness of participants (last_seen_at, the device that signals), one live call per
// conversation, and the indexes the busy check, the history and the sweeper read.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE call_participants
      ADD COLUMN invited_at timestamptz NOT NULL DEFAULT now(),
      ADD COLUMN last_seen_at timestamptz,
      ADD COLUMN device_id text`.execute(db);
  await sql`CREATE INDEX call_participants_user_idx ON call_participants (user_id, call_id)`.execute(db);
  // One ringing or active call per conversation: a second call_start joins the race as 409 call_in_progress.
  await sql`CREATE UNIQUE INDEX calls_live_conversation_idx ON calls (conversation_id)
      WHERE status IN ('ringing', 'active')`.execute(db);
  await sql`CREATE INDEX calls_live_idx ON calls (started_at) WHERE status IN ('ringing', 'active')`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS calls_live_idx`.execute(db);
  await sql`DROP INDEX IF EXISTS calls_live_conversation_idx`.execute(db);
  await sql`DROP INDEX IF EXISTS call_participants_user_idx`.execute(db);
  await sql`ALTER TABLE call_participants
      DROP COLUMN IF EXISTS device_id,
      DROP COLUMN IF EXISTS last_seen_at,
      DROP COLUMN IF EXISTS invited_at`.execute(db);
}
