// Avatars kept as files: the same-origin address a profile or a group may point at, and who may set it.
import type { Kysely } from 'kysely';
import type { Environment } from '../../config.js';
import type { DB } from '../../db/schema.js';
import { UnprocessableError, ValidationError } from '../../errors.js';
import { checkedUrl } from '../../http/input-rules.js';
import { FilesRepository } from './files.repository.js';

const AVATAR_PATH =
  /^\/api\/v1\/files\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/content$/;

/** The address an avatar file is stored under in `avatar_url` (relative: the server's own origin). */
export const avatarPath = (fileId: string) => `/api/v1/files/${fileId}/content`;

/**
 * `avatar_url` as given: an http(s) URL (checkedUrl), or `/api/v1/files/{id}/content` naming the actor's own
 * ready image, which then becomes readable by whoever sees the profile or group (AccessService.requireVisibleFile).
 */
export async function checkedAvatarUrl(
  db: Kysely<DB>,
  actorId: string,
  value: string,
  environment: Environment,
): Promise<string> {
  if (!value.startsWith('/')) return checkedUrl(value, 'avatar_url', environment);
  const fileId = AVATAR_PATH.exec(value)?.[1];
  if (!fileId) {
    throw new ValidationError('avatar_url must be a URL or /api/v1/files/{id}/content', {
      field: 'avatar_url',
    });
  }
  if (!(await new FilesRepository(db).isOwnReadyImage(fileId, actorId))) {
    throw new UnprocessableError(
      'avatar_url must name an image you uploaded and completed',
      'invalid_avatar',
      {
        field: 'avatar_url',
      },
    );
  }
  return value;
}
