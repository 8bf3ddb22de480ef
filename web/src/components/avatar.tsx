// A person's or a group's picture: their uploaded avatar when the page may load it, else initials on a colour
// that stays the same for their id. Named (role img) unless `decorative` says the name is right beside it.

import type { Conversation } from '@tma/sdk';
import type { ComponentChildren } from 'preact';
import { avatarColour, avatarSrc, initials } from '../avatars.ts';
import { store } from '../store.ts';

export function Avatar({
  id,
  name,
  url,
  size = 'medium',
  decorative = false,
  children,
}: {
  id: string;
  name: string;
  url: string | null | undefined;
  size?: 'tiny' | 'small' | 'medium' | 'large';
  decorative?: boolean;
  /** Drawn over the picture (the presence dot). */
  children?: ComponentChildren;
}) {
  const src = avatarSrc(url);
  const named = decorative ? { 'aria-hidden': true as const } : { role: 'img' as const, 'aria-label': name };
  return (
    <span
      class={`avatar avatar-${size}`}
      style={src ? undefined : { background: avatarColour(id) }}
      {...named}
    >
      {src ? <img src={src} alt="" decoding="async" /> : initials(name)}
      {children}
    </span>
  );
}

/** A conversation's picture: the other person's in a DM, the group's own in a group. */
export function ConversationAvatar({
  c,
  size,
  decorative,
  children,
}: {
  c: Conversation;
  size?: 'small' | 'medium' | 'large';
  decorative?: boolean;
  children?: ComponentChildren;
}) {
  const peer = store.peerOf(c);
  return (
    <Avatar
      id={peer ?? c.id}
      name={store.title(c)}
      url={peer ? store.users.get(peer)?.avatar_url : c.avatar_url}
      size={size}
      decorative={decorative}
    >
      {children}
    </Avatar>
  );
}

/** A person's picture by user id (their profile as the store has it). */
export function UserAvatar({
  id,
  size,
  decorative,
}: {
  id: string;
  size?: 'tiny' | 'small' | 'medium' | 'large';
  decorative?: boolean;
}) {
  return (
    <Avatar
      id={id}
      name={store.userName(id)}
      url={store.users.get(id)?.avatar_url}
      size={size}
      decorative={decorative}
    />
  );
}
