// The service worker: shows Web Push notifications (payload: {title, body, conversation_id, ...}, docs/notifications.md)
// and opens the conversation when one is clicked. Served from /assets/ (hashed, like every other script).
interface PushPayload {
  title?: string;
  body?: string;
  conversation_id?: string | null;
  notification_id?: string;
}
interface WorkerScope {
  registration: { showNotification(title: string, options: object): Promise<void> };
  clients: {
    matchAll(
      options: object,
    ): Promise<Array<{ url: string; focus(): Promise<unknown>; navigate?(url: string): Promise<unknown> }>>;
    openWindow(url: string): Promise<unknown>;
  };
  addEventListener(
    type: 'push',
    handler: (e: { data: { json(): unknown } | null; waitUntil(p: Promise<unknown>): void }) => void,
  ): void;
  addEventListener(
    type: 'notificationclick',
    handler: (e: {
      notification: { data: { url: string }; close(): void };
      waitUntil(p: Promise<unknown>): void;
    }) => void,
  ): void;
}

const worker = self as unknown as WorkerScope;

worker.addEventListener('push', (event) => {
  let data: PushPayload = {};
  try {
    data = (event.data?.json() ?? {}) as PushPayload;
  } catch {
    data = {};
  }
  const url = data.conversation_id ? `/c/${data.conversation_id}` : '/';
  event.waitUntil(
    worker.registration.showNotification(data.title ?? 'TMA', {
      body: data.body ?? '',
      tag: data.conversation_id ?? data.notification_id ?? 'tma',
      data: { url },
    }),
  );
});

worker.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = event.notification.data.url;
  event.waitUntil(
    worker.clients.matchAll({ type: 'window', includeUncontrolled: true }).then(async (windows) => {
      const open = windows[0];
      if (!open) return worker.clients.openWindow(url);
      await open.navigate?.(url);
      return open.focus();
    }),
  );
});
