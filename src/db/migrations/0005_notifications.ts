// Notifications (DESIGN.md section 16): device names, in-app notifications, one delivery row per (notification,
// device) for at-most-once pushes, per-conversation push windows (coalescing, quiet hours) and digest state.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE devices ADD COLUMN name text`.execute(db);
  await sql`CREATE INDEX devices_user_idx ON devices (user_id)`.execute(db);

  await sql`
    CREATE TABLE notifications (
      id uuid PRIMARY KEY,
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      kind text NOT NULL CHECK (kind IN ('message', 'mention', 'reply', 'added', 'missed_call')),
      conversation_id uuid REFERENCES conversations(id) ON DELETE CASCADE,
      message_id uuid REFERENCES messages(id) ON DELETE CASCADE,
      actor_id uuid REFERENCES users(id) ON DELETE SET NULL,
      in_app boolean NOT NULL,
      payload jsonb NOT NULL DEFAULT '{}'::jsonb,
      created_at timestamptz NOT NULL DEFAULT now(),
      read_at timestamptz
    )`.execute(db);
  await sql`CREATE INDEX notifications_user_idx ON notifications (user_id, id DESC) WHERE in_app`.execute(db);
  await sql`CREATE INDEX notifications_created_idx ON notifications (created_at)`.execute(db);

  await sql`
    CREATE TABLE notification_deliveries (
      notification_id uuid NOT NULL REFERENCES notifications(id) ON DELETE CASCADE,
      device_id uuid NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'retry', 'sent', 'failed')),
      attempts int NOT NULL DEFAULT 0,
      coalesced int NOT NULL DEFAULT 1,
      last_error text,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (notification_id, device_id)
    )`.execute(db);
  await sql`CREATE INDEX notification_deliveries_device_idx ON notification_deliveries (device_id)`.execute(
    db,
  );

  await sql`
    CREATE TABLE push_windows (
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      conversation_id uuid NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
      window_until timestamptz NOT NULL,
      pending_count int NOT NULL DEFAULT 0,
      pending_notification_id uuid,
      PRIMARY KEY (user_id, conversation_id)
    )`.execute(db);

  // Messages whose notifications were worked out: a retried job or the sweep never does one twice.
  await sql`
    CREATE TABLE notified_messages (
      message_id uuid PRIMARY KEY,
      processed_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX notified_messages_processed_idx ON notified_messages (processed_at)`.execute(db);

  await sql`
    CREATE TABLE notification_user_state (
      user_id uuid PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
      last_digest_at timestamptz
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'notification_user_state',
    'notified_messages',
    'push_windows',
    'notification_deliveries',
    'notifications',
  ]) {
    await sql`DROP TABLE IF EXISTS ${sql.table(table)}`.execute(db);
  }
  await sql`DROP INDEX IF EXISTS devices_user_idx`.execute(db);
  await sql`ALTER TABLE devices DROP COLUMN IF EXISTS name`.execute(db);
}
