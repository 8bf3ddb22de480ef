// Web Push opt-in for this browser: the service worker, the browser's subscription with the server's VAPID key, and
// the device registered with POST /devices (removed again with DELETE /devices/{id}).

import { errorText, store } from './store.ts';
import swUrl from './sw.ts?worker&url';

const DEVICE_KEY = 'tma.push-device';

export function pushSupported(): boolean {
  return typeof navigator !== 'undefined' && 'serviceWorker' in navigator && 'PushManager' in window;
}

export function pushDeviceId(): string | null {
  return localStorage.getItem(`${DEVICE_KEY}.${store.me?.id}`);
}

function keyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  const base64 = base64url
    .replace(/-/g, '+')
    .replace(/_/g, '/')
    .padEnd(Math.ceil(base64url.length / 4) * 4, '=');
  const raw = atob(base64);
  const bytes = new Uint8Array(new ArrayBuffer(raw.length));
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

async function registration(): Promise<ServiceWorkerRegistration> {
  // Scope /assets/ (where the script lives): pushes reach it whatever page is open.
  await navigator.serviceWorker.register(swUrl, { scope: '/assets/' });
  const found = await navigator.serviceWorker.getRegistration('/assets/');
  if (!found) throw new Error('The service worker did not register');
  return found;
}

/** Turns notifications on for this browser; null when done, else why not. */
export async function enablePush(): Promise<string | null> {
  if (!pushSupported()) return 'This browser cannot receive push notifications';
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') return 'Notifications are blocked for this site in the browser';
  const key = await store.rest.api.GET('/api/v1/push/vapid-public-key');
  if (!key.data) return `Push is not set up on this server (${errorText(key.error)})`;
  try {
    const reg = await registration();
    const subscription =
      (await reg.pushManager.getSubscription()) ??
      (await reg.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: keyBytes(key.data.data.public_key),
      }));
    const json = subscription.toJSON() as { endpoint: string; keys: { p256dh: string; auth: string } };
    const device = await store.rest.api.POST('/api/v1/devices', {
      body: {
        platform: 'web',
        push: { endpoint: json.endpoint, keys: json.keys },
        name: navigator.userAgent.slice(0, 100),
      },
    });
    if (!device.data) return errorText(device.error);
    localStorage.setItem(`${DEVICE_KEY}.${store.me?.id}`, device.data.data.id);
    return null;
  } catch (error) {
    return `The browser could not subscribe: ${error instanceof Error ? error.message : String(error)}`;
  }
}

export async function disablePush(): Promise<string | null> {
  const id = pushDeviceId();
  if (id) {
    const { error, response } = await store.rest.api.DELETE('/api/v1/devices/{id}', {
      params: { path: { id } },
    });
    if (error && response.status !== 404) return errorText(error);
    localStorage.removeItem(`${DEVICE_KEY}.${store.me?.id}`);
  }
  const reg = pushSupported() ? await navigator.serviceWorker.getRegistration('/assets/') : undefined;
  await (await reg?.pushManager.getSubscription())?.unsubscribe();
  return null;
}
