// Web Push opt-in in a browser: the service worker registers from /assets/, the subscription is made with the
// server's VAPID key and registered as a device, a push delivered to the worker shows a notification that names the
// conversation, and turning it off removes the device. Headless Chromium has no push service to subscribe with,
// so the page's PushManager hands out a subscription made here (a real P-256 key); everything after it is real.
import { createECDH, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import webpush from 'web-push';
import { haveChromium } from './e2e.js';
import { WAIT, WebTest } from './ui.js';

const ENDPOINT = 'https://push.example.test/send/abc';

function fakePushManager(): string {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const keys = {
    p256dh: ecdh.getPublicKey().toString('base64url'),
    auth: randomBytes(16).toString('base64url'),
  };
  return `(() => {
    if (typeof PushManager === 'undefined') return;
    let current = null;
    const make = (options) => ({
      endpoint: ${JSON.stringify(ENDPOINT)},
      options,
      toJSON() { return { endpoint: this.endpoint, keys: ${JSON.stringify(keys)} }; },
      unsubscribe: async () => { current = null; return true; },
    });
    PushManager.prototype.subscribe = async function (options) {
      if (!(options.applicationServerKey instanceof Uint8Array) || options.applicationServerKey.length !== 65)
        throw new Error('bad applicationServerKey');
      current = make(options);
      return current;
    };
    PushManager.prototype.getSubscription = async function () { return current; };
  })();`;
}

describe.runIf(haveChromium || process.env.CI)('push notifications opt-in', () => {
  const t = new WebTest();
  beforeAll(() => {
    const vapid = webpush.generateVAPIDKeys();
    return t.start({
      VAPID_PUBLIC_KEY: vapid.publicKey,
      VAPID_PRIVATE_KEY: vapid.privateKey,
      PUSH_ENDPOINT_ALLOWLIST: 'push.example.test',
    });
  }, 120_000);
  afterAll(() => t.stop());

  it('registers the worker and the device, shows a pushed notification, and turns off again', async () => {
    const alice = await t.person('alice');
    const { page, context } = await t.open(alice, '/settings', {
      init: fakePushManager(),
      permissions: ['notifications'],
    });
    const cdp = await context.newCDPSession(page);
    const registrations: Array<{ registrationId: string; scopeURL: string }> = [];
    cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => registrations.push(...e.registrations));
    await cdp.send('ServiceWorker.enable');

    await page.getByRole('button', { name: 'Turn on push notifications in this browser' }).click();
    await page.getByText('Push notifications are on in this browser').waitFor({ timeout: WAIT });
    const devices = await alice.call<Array<{ platform: string; transport: string }>>('GET', '/devices');
    expect(devices.data).toMatchObject([{ platform: 'web', transport: 'web_push' }]);

    // A push delivered to the worker becomes a notification that opens the conversation.
    await expect
      .poll(() => registrations.find((r) => r.scopeURL === `${t.url}/assets/`)?.registrationId, {
        timeout: WAIT,
      })
      .toBeTruthy();
    const registrationId = registrations.find((r) => r.scopeURL === `${t.url}/assets/`)!.registrationId;
    await expect
      .poll(
        () =>
          page.evaluate(
            `navigator.serviceWorker.getRegistration('/assets/').then((r) => Boolean(r && r.active))`,
          ),
        { timeout: WAIT },
      )
      .toBe(true);
    const conversationId = '0190a0a0-0000-7000-8000-000000000001';
    await cdp.send('ServiceWorker.deliverPushMessage', {
      origin: t.url,
      registrationId,
      data: JSON.stringify({ title: 'bob', body: 'Lunch at noon?', conversation_id: conversationId }),
    });
    const shown = `navigator.serviceWorker.getRegistration('/assets/').then((r) => r.getNotifications())
      .then((list) => list.map((n) => ({ title: n.title, body: n.body, url: n.data && n.data.url })))`;
    await expect
      .poll(() => page.evaluate(shown), { timeout: WAIT })
      .toEqual([{ title: 'bob', body: 'Lunch at noon?', url: `/c/${conversationId}` }]);

    // Kept across a reload, then off: the device is gone.
    await page.reload();
    await page.getByRole('button', { name: 'Turn off push notifications in this browser' }).click();
    await page.getByText('Push notifications are off in this browser').waitFor({ timeout: WAIT });
    expect((await alice.call<unknown[]>('GET', '/devices')).data).toEqual([]);
    t.expectClean();
  }, 120_000);
});
