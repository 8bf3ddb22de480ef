// The whole schema of DESIGN.md section 4 in one migration, so feature modules do not churn it.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE EXTENSION IF NOT EXISTS pg_trgm`.execute(db);

  await sql`
    CREATE TABLE users (
      id uuid PRIMARY KEY,
      tms_user_id text UNIQUE,
      username text NOT NULL,
      email text,
      display_name text,
      avatar_url text,
      position text,
      role text NOT NULL DEFAULT 'user' CHECK (role IN ('admin', 'user')),
      password_hash text,
      settings jsonb NOT NULL DEFAULT '{}'::jsonb,
      last_seen_at timestamptz,
      last_synced_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      deactivated_at timestamptz
    )`.execute(db);
  await sql`CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username))`.execute(db);
  await sql`CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email)) WHERE email IS NOT NULL AND tms_user_id IS NULL`.execute(
    db,
  );
  await sql`CREATE INDEX users_username_trgm ON users USING gin (lower(username) gin_trgm_ops)`.execute(db);
  await sql`CREATE INDEX users_display_name_trgm ON users USING gin (lower(coalesce(display_name, '')) gin_trgm_ops)`.execute(
    db,
  );

  await sql`
    CREATE TABLE sessions (
      id uuid PRIMARY KEY,
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      refresh_hash text NOT NULL UNIQUE,
      family_id uuid NOT NULL,
      expires_at timestamptz NOT NULL,
      revoked_at timestamptz,
      replaced_by uuid,
      user_agent text,
      ip text,
      created_at timestamptz NOT NULL DEFAULT now(),
      last_used_at timestamptz
    )`.execute(db);
  await sql`CREATE INDEX sessions_family_idx ON sessions (family_id)`.execute(db);
  await sql`CREATE INDEX sessions_user_idx ON sessions (user_id)`.execute(db);

  await sql`
    CREATE TABLE friendships (
      id uuid PRIMARY KEY,
      requester_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      receiver_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'rejected')),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CHECK (requester_id <> receiver_id)
    )`.execute(db);
  await sql`CREATE UNIQUE INDEX friendships_pair_key ON friendships (least(requester_id, receiver_id), greatest(requester_id, receiver_id))`.execute(
    db,
  );
  await sql`CREATE INDEX friendships_receiver_idx ON friendships (receiver_id, status)`.execute(db);

  await sql`
    CREATE TABLE user_blocks (
      blocker_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      blocked_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (blocker_id, blocked_id),
      CHECK (blocker_id <> blocked_id)
    )`.execute(db);
  await sql`CREATE INDEX user_blocks_blocked_idx ON user_blocks (blocked_id)`.execute(db);

  await sql`
    CREATE TABLE conversations (
      id uuid PRIMARY KEY,
      type text NOT NULL CHECK (type IN ('dm', 'group')),
      name text,
      description text,
      avatar_url text,
      dm_key text UNIQUE,
      created_by uuid REFERENCES users(id) ON DELETE SET NULL,
      last_seq bigint NOT NULL DEFAULT 0,
      last_message_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CHECK ((type = 'dm') = (dm_key IS NOT NULL))
    )`.execute(db);
  await sql`CREATE INDEX conversations_name_trgm ON conversations USING gin (lower(coalesce(name, '')) gin_trgm_ops)`.execute(
    db,
  );

  await sql`
    CREATE TABLE conversation_members (
      conversation_id uuid NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      role text NOT NULL DEFAULT 'member' CHECK (role IN ('admin', 'member')),
      joined_at timestamptz NOT NULL DEFAULT now(),
      joined_seq bigint NOT NULL DEFAULT 0,
      delivered_seq bigint NOT NULL DEFAULT 0,
      read_seq bigint NOT NULL DEFAULT 0,
      delivered_at timestamptz,
      read_at timestamptz,
      muted_until timestamptz,
      left_at timestamptz,
      PRIMARY KEY (conversation_id, user_id)
    )`.execute(db);
  await sql`CREATE INDEX conversation_members_user_idx ON conversation_members (user_id) WHERE left_at IS NULL`.execute(
    db,
  );

  await sql`
    CREATE TABLE messages (
      id uuid PRIMARY KEY,
      conversation_id uuid NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
      seq bigint NOT NULL,
      sender_id uuid REFERENCES users(id) ON DELETE SET NULL,
      client_id uuid,
      type text NOT NULL CHECK (type IN ('text', 'image', 'file', 'voice', 'poll', 'call', 'system')),
      content text,
      metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
      reply_to_id uuid REFERENCES messages(id) ON DELETE SET NULL,
      forwarded_from_id uuid REFERENCES messages(id) ON DELETE SET NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      edited_at timestamptz,
      deleted_at timestamptz,
      search tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(content, ''))) STORED,
      CONSTRAINT messages_conversation_seq_key UNIQUE (conversation_id, seq),
      CONSTRAINT messages_sender_client_key UNIQUE (sender_id, client_id)
    )`.execute(db);
  await sql`CREATE INDEX messages_reply_to_idx ON messages (reply_to_id) WHERE reply_to_id IS NOT NULL`.execute(
    db,
  );
  await sql`CREATE INDEX messages_search_idx ON messages USING gin (search)`.execute(db);
  await sql`CREATE INDEX messages_sender_idx ON messages (sender_id, created_at)`.execute(db);

  await sql`
    CREATE TABLE conversation_events (
      conversation_id uuid NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
      seq bigint NOT NULL,
      type text NOT NULL,
      message_id uuid,
      actor_id uuid,
      payload jsonb NOT NULL DEFAULT '{}'::jsonb,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (conversation_id, seq)
    )`.execute(db);
  await sql`CREATE INDEX conversation_events_created_idx ON conversation_events (created_at)`.execute(db);

  await sql`
    CREATE TABLE message_reactions (
      message_id uuid NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      emoji text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (message_id, user_id, emoji)
    )`.execute(db);

  await sql`
    CREATE TABLE message_pins (
      conversation_id uuid NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
      message_id uuid NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
      pinned_by uuid REFERENCES users(id) ON DELETE SET NULL,
      pinned_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (conversation_id, message_id)
    )`.execute(db);

  await sql`
    CREATE TABLE polls (
      id uuid PRIMARY KEY,
      message_id uuid NOT NULL UNIQUE REFERENCES messages(id) ON DELETE CASCADE,
      conversation_id uuid NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
      created_by uuid REFERENCES users(id) ON DELETE SET NULL,
      question text NOT NULL,
      multiple_choice boolean NOT NULL DEFAULT false,
      anonymous boolean NOT NULL DEFAULT false,
      expires_at timestamptz,
      closed_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`
    CREATE TABLE poll_options (
      id uuid PRIMARY KEY,
      poll_id uuid NOT NULL REFERENCES polls(id) ON DELETE CASCADE,
      text text NOT NULL,
      position int NOT NULL,
      UNIQUE (poll_id, position)
    )`.execute(db);
  await sql`
    CREATE TABLE poll_votes (
      poll_id uuid NOT NULL REFERENCES polls(id) ON DELETE CASCADE,
      option_id uuid NOT NULL REFERENCES poll_options(id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (option_id, user_id)
    )`.execute(db);
  await sql`CREATE INDEX poll_votes_poll_user_idx ON poll_votes (poll_id, user_id)`.execute(db);

  await sql`
    CREATE TABLE calls (
      id uuid PRIMARY KEY,
      conversation_id uuid NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
      initiator_id uuid REFERENCES users(id) ON DELETE SET NULL,
      message_id uuid REFERENCES messages(id) ON DELETE SET NULL,
      media text NOT NULL DEFAULT 'audio' CHECK (media IN ('audio', 'video')),
      status text NOT NULL DEFAULT 'ringing' CHECK (status IN ('ringing', 'active', 'ended', 'missed', 'declined')),
      started_at timestamptz NOT NULL DEFAULT now(),
      answered_at timestamptz,
      ended_at timestamptz,
      end_reason text
    )`.execute(db);
  await sql`CREATE INDEX calls_conversation_idx ON calls (conversation_id, started_at DESC)`.execute(db);
  await sql`
    CREATE TABLE call_participants (
      call_id uuid NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      status text NOT NULL DEFAULT 'invited' CHECK (status IN ('invited', 'joined', 'left', 'declined', 'missed')),
      joined_at timestamptz,
      left_at timestamptz,
      PRIMARY KEY (call_id, user_id)
    )`.execute(db);

  await sql`
    CREATE TABLE files (
      id uuid PRIMARY KEY,
      uploader_id uuid REFERENCES users(id) ON DELETE SET NULL,
      conversation_id uuid REFERENCES conversations(id) ON DELETE CASCADE,
      storage_key text NOT NULL UNIQUE,
      filename text NOT NULL,
      mime_type text NOT NULL,
      size_bytes bigint NOT NULL,
      sha256 text,
      width int,
      height int,
      duration_ms int,
      thumbnail_key text,
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'ready', 'failed')),
      created_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX files_conversation_idx ON files (conversation_id, created_at DESC)`.execute(db);

  await sql`
    CREATE TABLE link_previews (
      url text PRIMARY KEY,
      status text NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'failed')),
      title text,
      description text,
      image_url text,
      site_name text,
      error text,
      fetched_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);

  await sql`
    CREATE TABLE encryption_keys (
      id uuid PRIMARY KEY,
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      device_id text NOT NULL,
      key_type text NOT NULL,
      public_key text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      revoked_at timestamptz,
      UNIQUE (user_id, device_id, key_type)
    )`.execute(db);

  await sql`
    CREATE TABLE devices (
      id uuid PRIMARY KEY,
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      platform text NOT NULL CHECK (platform IN ('web', 'ios', 'android')),
      push_token text NOT NULL,
      push_keys jsonb,
      created_at timestamptz NOT NULL DEFAULT now(),
      last_seen_at timestamptz,
      UNIQUE (user_id, push_token)
    )`.execute(db);

  await sql`
    CREATE TABLE webhook_receipts (
      id text PRIMARY KEY,
      source text NOT NULL,
      received_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX webhook_receipts_received_idx ON webhook_receipts (received_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'webhook_receipts',
    'devices',
    'encryption_keys',
    'link_previews',
    'files',
    'call_participants',
    'calls',
    'poll_votes',
    'poll_options',
    'polls',
    'message_pins',
    'message_reactions',
    'conversation_events',
    'messages',
    'conversation_members',
    'conversations',
    'user_blocks',
    'friendships',
    'sessions',
    'users',
  ]) {
    await sql`DROP TABLE IF EXISTS ${sql.table(table)} CASCADE`.execute(db);
  }
}
