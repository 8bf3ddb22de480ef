// Files (DESIGN.md section 14): kind, voice waveform, lifecycle timestamps, and the message attachments link table.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE files
      ADD COLUMN kind text NOT NULL DEFAULT 'file' CHECK (kind IN ('image', 'file', 'voice')),
      ADD COLUMN waveform jsonb,
      ADD COLUMN ready_at timestamptz,
      ADD COLUMN delete_after timestamptz`.execute(db);
  await sql`CREATE INDEX files_uploader_idx ON files (uploader_id)`.execute(db);
  await sql`CREATE INDEX files_status_created_idx ON files (status, created_at)`.execute(db);
  await sql`CREATE INDEX files_delete_after_idx ON files (delete_after) WHERE delete_after IS NOT NULL`.execute(
    db,
  );

  // One row per file of a message; a forwarded message links the same files again (they are shared).
  await sql`
    CREATE TABLE message_attachments (
      message_id uuid NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
      file_id uuid NOT NULL REFERENCES files(id) ON DELETE CASCADE,
      position smallint NOT NULL,
      PRIMARY KEY (message_id, file_id)
    )`.execute(db);
  await sql`CREATE INDEX message_attachments_file_idx ON message_attachments (file_id)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS message_attachments`.execute(db);
  await sql`DROP INDEX IF EXISTS files_delete_after_idx`.execute(db);
  await sql`DROP INDEX IF EXISTS files_status_created_idx`.execute(db);
  await sql`DROP INDEX IF EXISTS files_uploader_idx`.execute(db);
  await sql`
    ALTER TABLE files
      DROP COLUMN IF EXISTS delete_after,
      DROP COLUMN IF EXISTS ready_at,
      DROP COLUMN IF EXISTS waveform,
      DROP COLUMN IF EXISTS kind`.execute(db);
}
