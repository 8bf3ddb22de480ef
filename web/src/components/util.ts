// Shared by the screens: the store hook, client routes and time formatting.
import { useEffect, useState } from 'preact/hooks';
import { type Route, store } from '../store.ts';

export function useStore() {
  const [, setVersion] = useState(0);
  useEffect(() => store.subscribe(() => setVersion(store.version)), []);
  return store;
}

export function route(): Route {
  const path = location.pathname;
  const match = /^\/c\/([0-9a-f-]{36})$/i.exec(path);
  if (match) return { kind: 'chat', id: match[1]! };
  if (path === '/friends') return { kind: 'friends' };
  if (path === '/settings') return { kind: 'settings' };
  return { kind: 'home' };
}

function pathOf(to: Route): string {
  if (to.kind === 'chat') return `/c/${to.id}`;
  if (to.kind === 'home') return '/';
  return `/${to.kind}`;
}

/** Shows a route and puts it in the address bar (Back returns to the previous one). */
export function show(to: Route): void {
  const path = pathOf(to);
  if (location.pathname !== path) history.pushState(null, '', path);
  store.show(to);
}

/** Opens a conversation, or the list when id is null. */
export function navigate(id: string | null): void {
  show(id ? { kind: 'chat', id } : { kind: 'home' });
}

export function time(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export function presenceText(online: boolean, lastSeen: string | null | undefined): string {
  if (online) return 'online';
  if (!lastSeen) return 'offline';
  const at = new Date(lastSeen);
  const today = at.toDateString() === new Date().toDateString();
  return `last seen ${today ? time(lastSeen) : at.toLocaleDateString()}`;
}
