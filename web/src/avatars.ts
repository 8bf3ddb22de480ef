// Avatars: which address the page may show (its own server's avatar files only; the CSP loads no image from
// another host), their signed URLs fetched once and cached, the initials and colour otherwise, and the upload.
import { errorText, store } from './store.ts';

const FILE_AVATAR = /^\/api\/v1\/files\/([0-9a-f-]{36})\/content$/;

interface Signed {
  src: string | null;
  expires: number;
}

/** Signed URL per avatar file id; one request per file however many places show it. */
const signed = new Map<string, Signed>();
const pending = new Set<string>();
let redrawing = false;
let cachedFor: string | undefined;

/** The avatar file behind an avatar_url, when it is one the page may load. */
export function avatarFileId(avatarUrl: string | null | undefined): string | null {
  return avatarUrl ? (FILE_AVATAR.exec(avatarUrl)?.[1] ?? null) : null;
}

/** The image to show for an avatar_url now, or null (initials) while it loads, on failure or elsewhere. */
export function avatarSrc(avatarUrl: string | null | undefined): string | null {
  const id = avatarFileId(avatarUrl);
  if (!id) return null;
  // What one account was allowed to see is not kept for the next one signing in in this tab.
  if (store.me?.id !== cachedFor) {
    signed.clear();
    cachedFor = store.me?.id;
  }
  const hit = signed.get(id);
  if (!hit || hit.expires < Date.now()) void load(id);
  return hit?.src ?? null;
}

async function load(id: string): Promise<void> {
  if (pending.has(id)) return;
  pending.add(id);
  const { data } = await store.rest.api
    .GET('/api/v1/files/{id}', { params: { path: { id } } })
    .catch(() => ({ data: undefined }));
  pending.delete(id);
  const view = data?.data;
  const src = view ? sameOrigin(view.thumbnail_url ?? view.url) : null;
  const until = src ? Number(new URL(src, location.href).searchParams.get('expires')) * 1000 : 0;
  // Refetched a minute before the signature runs out; a failure is retried after five minutes.
  signed.set(id, { src, expires: until > 0 ? until - 60_000 : Date.now() + 5 * 60_000 });
  // Many avatars arrive together: one render for them all.
  if (redrawing) return;
  redrawing = true;
  setTimeout(() => {
    redrawing = false;
    store.changed();
  }, 16);
}

function sameOrigin(url: string | null): string | null {
  if (!url) return null;
  return new URL(url, location.href).origin === location.origin ? url : null;
}

/** One or two letters of a name. */
export function initials(name: string): string {
  const words = name.trim().replace(/^[@+]/, '').split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0], words[words.length - 1]] : [words[0] ?? '?'];
  return letters.map((w) => [...(w ?? '')][0]?.toUpperCase() ?? '').join('') || '?';
}

/** A colour that stays the same for an id (hue from a string hash); dark enough for white letters (contrast 4.5:1 or more). */
export function avatarColour(id: string): string {
  let hash = 0;
  for (let i = 0; i < id.length; i++) hash = (hash * 31 + id.charCodeAt(i)) | 0;
  return `hsl(${Math.abs(hash) % 360} 50% 30%)`;
}

/** Upload a picture through the files flow (upload URL, PUT, complete); its avatar address, or why not. */
async function uploadPicture(file: File): Promise<{ path: string } | { error: string }> {
  const api = store.rest.api;
  const ticket = await api.POST('/api/v1/files/upload-url', {
    body: { name: file.name || 'avatar', size: file.size, content_type: file.type, kind: 'image' },
  });
  if (!ticket.data) return { error: errorText(ticket.error) };
  const { file: uploaded, upload } = ticket.data.data;
  const put = await fetch(upload.url, { method: upload.method, headers: upload.headers, body: file }).catch(
    () => null,
  );
  if (!put?.ok) return { error: put ? `Upload failed (${put.status})` : 'Upload failed: no connection' };
  const done = await api.POST('/api/v1/files/{id}/complete', {
    params: { path: { id: uploaded.id } },
    body: {},
  });
  if (!done.data) return { error: errorText(done.error) };
  return { path: `/api/v1/files/${uploaded.id}/content` };
}

/** The signed-in user's new picture; null when saved, else the reason. */
export async function uploadAvatar(file: File): Promise<string | null> {
  const result = await uploadPicture(file);
  return 'error' in result ? result.error : store.updateMe({ avatar_url: result.path });
}

/** A group's new picture (admins); null when saved, else the reason. */
export async function uploadGroupAvatar(conversationId: string, file: File): Promise<string | null> {
  const result = await uploadPicture(file);
  return 'error' in result ? result.error : store.updateGroup(conversationId, { avatar_url: result.path });
}
