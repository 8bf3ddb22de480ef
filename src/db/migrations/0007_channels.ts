// External channels (docs/channels.md): team inboxes (a number or an address) and their members, external
// conversations threaded by (inbox, channel, participant address), channel messages with their idempotency key
// and status history, every provider webhook logged, and the SMS opt-out list per inbox.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE conversations DROP CONSTRAINT IF EXISTS conversations_type_check`.execute(db);
  await sql`ALTER TABLE conversations ADD CONSTRAINT conversations_type_check CHECK (type IN ('dm', 'group', 'external'))`.execute(
    db,
  );

  await sql`
    CREATE TABLE channel_inboxes (
      id uuid PRIMARY KEY,
      channel text NOT NULL CHECK (channel IN ('sms', 'email')),
      address text NOT NULL,
      name text NOT NULL,
      created_by uuid REFERENCES users (id) ON DELETE SET NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT channel_inboxes_address_key UNIQUE (channel, address)
    )`.execute(db);

  await sql`
    CREATE TABLE channel_inbox_members (
      inbox_id uuid NOT NULL REFERENCES channel_inboxes (id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      added_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (inbox_id, user_id)
    )`.execute(db);
  await sql`CREATE INDEX channel_inbox_members_user_idx ON channel_inbox_members (user_id)`.execute(db);

  // One conversation per (inbox, participant): the inbox fixes the channel family (sms/mms or email).
  await sql`
    CREATE TABLE external_conversations (
      conversation_id uuid PRIMARY KEY REFERENCES conversations (id) ON DELETE CASCADE,
      inbox_id uuid NOT NULL REFERENCES channel_inboxes (id) ON DELETE CASCADE,
      channel text NOT NULL CHECK (channel IN ('sms', 'email')),
      participant_address text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT external_conversations_thread_key UNIQUE (inbox_id, channel, participant_address)
    )`.execute(db);
  await sql`CREATE INDEX external_conversations_participant_idx ON external_conversations (participant_address)`.execute(
    db,
  );

  await sql`
    CREATE TABLE channel_messages (
      id uuid PRIMARY KEY,
      conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
      message_id uuid REFERENCES messages (id) ON DELETE SET NULL,
      inbox_id uuid NOT NULL REFERENCES channel_inboxes (id) ON DELETE CASCADE,
      direction text NOT NULL CHECK (direction IN ('outbound', 'inbound')),
      channel text NOT NULL CHECK (channel IN ('sms', 'mms', 'email')),
      from_address text NOT NULL,
      to_address text NOT NULL,
      subject text,
      body text NOT NULL DEFAULT '',
      segments integer NOT NULL DEFAULT 1,
      status text NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'failed', 'undelivered', 'received')),
      provider text,
      provider_message_id text,
      attempts integer NOT NULL DEFAULT 0,
      error_code text,
      error_message text,
      created_by uuid REFERENCES users (id) ON DELETE SET NULL,
      idempotency_key text,
      request_hash text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT channel_messages_idempotency_key UNIQUE (created_by, idempotency_key)
    )`.execute(db);
  await sql`CREATE INDEX channel_messages_conversation_idx ON channel_messages (conversation_id, created_at DESC, id DESC)`.execute(
    db,
  );
  await sql`CREATE UNIQUE INDEX channel_messages_provider_id_key ON channel_messages (provider_message_id) WHERE provider_message_id IS NOT NULL`.execute(
    db,
  );
  await sql`CREATE UNIQUE INDEX channel_messages_message_key ON channel_messages (message_id) WHERE message_id IS NOT NULL`.execute(
    db,
  );

  await sql`
    CREATE TABLE channel_message_events (
      id uuid PRIMARY KEY,
      channel_message_id uuid NOT NULL REFERENCES channel_messages (id) ON DELETE CASCADE,
      status text NOT NULL,
      provider text,
      detail jsonb NOT NULL DEFAULT '{}'::jsonb,
      created_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX channel_message_events_message_idx ON channel_message_events (channel_message_id, created_at)`.execute(
    db,
  );

  await sql`
    CREATE TABLE webhook_logs (
      id uuid PRIMARY KEY,
      source text NOT NULL,
      provider text,
      headers jsonb NOT NULL DEFAULT '{}'::jsonb,
      body_sha256 text NOT NULL,
      body_bytes integer NOT NULL,
      outcome text NOT NULL,
      status_code integer NOT NULL,
      detail text,
      received_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX webhook_logs_received_idx ON webhook_logs (received_at)`.execute(db);

  await sql`
    CREATE TABLE channel_opt_outs (
      inbox_id uuid NOT NULL REFERENCES channel_inboxes (id) ON DELETE CASCADE,
      address text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (inbox_id, address)
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'channel_opt_outs',
    'webhook_logs',
    'channel_message_events',
    'channel_messages',
    'external_conversations',
    'channel_inbox_members',
    'channel_inboxes',
  ]) {
    await sql`DROP TABLE IF EXISTS ${sql.table(table)}`.execute(db);
  }
  await sql`DELETE FROM conversations WHERE type = 'external'`.execute(db);
  await sql`ALTER TABLE conversations DROP CONSTRAINT IF EXISTS conversations_type_check`.execute(db);
  await sql`ALTER TABLE conversations ADD CONSTRAINT conversations_type_check CHECK (type IN ('dm', 'group'))`.execute(
    db,
  );
}
