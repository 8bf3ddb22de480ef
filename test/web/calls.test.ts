// Calls in two browser pages with Chromium's fake microphone and camera: a declined call, then an answered one
// that connects peer to peer (signalled through /calls), mute, hang up; both land in the history and in
// GET /calls.
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveChromium } from './e2e.js';
import { conversation, shot, WAIT, WebTest } from './ui.js';

const FAKE_MEDIA = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];

describe.runIf(haveChromium || process.env.CI)('calls in the web client', () => {
  const t = new WebTest();
  beforeAll(() => t.start({}, FAKE_MEDIA), 120_000);
  afterAll(() => t.stop());

  it('rings, is declined; rings, is answered, connects, mutes and hangs up', async () => {
    const [alice, bob] = await Promise.all([t.person('alice'), t.person('bob')]);
    const id = await conversation(alice, [bob]);
    const a = await t.open(alice, `/c/${id}`);
    const b = await t.open(bob, '/');
    await a.context.grantPermissions(['microphone', 'camera']);
    await b.context.grantPermissions(['microphone', 'camera']);
    const aliceCall = a.page.getByRole('region', { name: 'Call' });
    const bobCall = b.page.getByRole('region', { name: 'Call' });

    // Declined.
    await a.page.getByRole('button', { name: 'Call (audio)' }).click();
    await aliceCall.getByText('Calling…').waitFor({ timeout: WAIT });
    const ringing = b.page.getByRole('alertdialog', { name: `Incoming audio call from ${alice.username}` });
    await ringing.waitFor({ timeout: WAIT });
    await ringing.getByRole('button', { name: 'Decline' }).click();
    await aliceCall.getByText('Declined').waitFor({ timeout: WAIT });
    await a.page
      .getByRole('log', { name: 'Messages' })
      .getByText('Declined audio call')
      .waitFor({ timeout: WAIT });
    await aliceCall.getByRole('button', { name: 'Close call' }).click();

    // Answered: both sides connect over WebRTC.
    await a.page.getByRole('button', { name: 'Call (audio)' }).click();
    await ringing.waitFor({ timeout: WAIT });
    await shot(b.page, 'call-incoming');
    await ringing.getByRole('button', { name: 'Accept' }).click();
    await bobCall.getByText('Connected').waitFor({ timeout: WAIT });
    await aliceCall.getByText('Connected').waitFor({ timeout: WAIT });
    expect(await b.page.locator('.call-media audio').count()).toBe(1);
    await aliceCall.getByRole('button', { name: 'Mute microphone' }).click();
    await aliceCall.getByRole('button', { name: 'Unmute microphone', pressed: true }).waitFor();
    await shot(a.page, 'call');
    await bobCall.getByRole('button', { name: 'Hang up' }).click();
    await aliceCall.getByText('Call ended').waitFor({ timeout: WAIT });
    await a.page
      .getByRole('log', { name: 'Messages' })
      .getByText(/^Audio call, \d+:\d\d$/)
      .waitFor({ timeout: WAIT });

    const history = await bob.call<Array<{ status: string; end_reason: string }>>(
      'GET',
      `/calls?conversation_id=${id}`,
    );
    expect(history.data.map((c) => c.end_reason)).toEqual(['completed', 'declined']);
    t.expectClean();
  }, 120_000);

  it('in a group: one declines, joins later, and everyone connects to everyone; the caller ends it for all', async () => {
    const [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((n) => t.person(n)));
    const id = await conversation(alice, [bob, carol], 'Standup');
    const [a, b, c] = await Promise.all([alice, bob, carol].map((p) => t.open(p, `/c/${id}`)));
    const call = (page: Page) => page.getByRole('region', { name: 'Call' });
    const ringing = (page: Page) =>
      page.getByRole('alertdialog', { name: `Incoming audio call from ${alice.username}` });
    // With three pages open, Playwright's click never sees its target as stable (no animation frames reach the
    // pages behind), so these buttons are pressed with a click event once they show.
    const press = async (button: Locator) => {
      await button.waitFor({ timeout: WAIT });
      expect(await button.isEnabled()).toBe(true);
      await button.dispatchEvent('click');
    };

    await press(a.page.getByRole('button', { name: 'Call (audio)' }));
    await press(ringing(b.page).getByRole('button', { name: 'Accept' }));
    await press(ringing(c.page).getByRole('button', { name: 'Decline' }));
    await call(b.page).getByText('Connected').waitFor({ timeout: WAIT });

    // Carol changes her mind: the call is still on, and she joins it.
    await press(c.page.getByRole('button', { name: 'Join call' }));
    await call(c.page).getByText('Connected').waitFor({ timeout: WAIT });
    await expect.poll(() => a.page.locator('.call-media audio').count(), { timeout: WAIT }).toBe(2);
    await expect.poll(() => c.page.locator('.call-media audio').count(), { timeout: WAIT }).toBe(2);

    await press(call(a.page).getByRole('button', { name: 'Hang up' }));
    await call(b.page).getByText('Call ended').waitFor({ timeout: WAIT });
    await call(c.page).getByText('Call ended').waitFor({ timeout: WAIT });
    const history = await carol.call<Array<{ status: string }>>('GET', `/calls?conversation_id=${id}`);
    expect(history.data.map((x) => x.status)).toEqual(['ended']);
    for (const screen of [a, b, c]) await screen.context.close();
    t.expectClean();
  }, 120_000);
});
