// The settings screen in a browser: profile, privacy and notification settings saved through PATCH /users/me and
// shown again after a reload; a refused value says why; sign out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveChromium } from './e2e.js';
import { shot, WAIT, WebTest } from './ui.js';

interface Me {
  display_name: string | null;
  position: string | null;
  settings: {
    privacy: { last_seen: string; online: boolean; read_receipts: boolean };
    notifications: {
      mentions_only: boolean;
      sound: boolean;
      quiet_hours: { from: string; to: string } | null;
    };
  };
}

describe.runIf(haveChromium || process.env.CI)('the settings screen', () => {
  const t = new WebTest();
  beforeAll(() => t.start(), 120_000);
  afterAll(() => t.stop());

  it('saves profile, privacy and notification settings, keeps them across a reload, and signs out', async () => {
    const alice = await t.person('alice');
    const { page } = await t.open(alice);
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'Settings' }).waitFor({ timeout: WAIT });
    expect(new URL(page.url()).pathname).toBe('/settings');

    await page.getByLabel('Display name').fill('Alice Liddell');
    await page.getByLabel('Position').fill('Engineer');
    await page.getByLabel('Who sees when I was last online').selectOption('nobody');
    await page.getByLabel('Send read receipts').uncheck();
    await page.getByLabel('Only when I am mentioned').check();
    await page.getByLabel('Play a sound').uncheck();
    await page.getByLabel('Quiet hours').check();
    await page.getByLabel('From').fill('21:30');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByRole('status').getByText('Settings saved').waitFor({ timeout: WAIT });
    await shot(page, 'settings');

    const me = (await alice.call<Me>('GET', '/auth/me')).data;
    expect(me.display_name).toBe('Alice Liddell');
    expect(me.position).toBe('Engineer');
    expect(me.settings.privacy).toMatchObject({ last_seen: 'nobody', read_receipts: false, online: true });
    expect(me.settings.notifications).toMatchObject({ mentions_only: true, sound: false });
    expect(me.settings.notifications.quiet_hours).toMatchObject({ from: '21:30', to: '07:00' });

    // The sidebar shows the new name; a reload shows the saved values.
    await page.locator('.sidebar .me').getByText('Alice Liddell').waitFor({ timeout: WAIT });
    await page.reload();
    await page.getByRole('heading', { name: 'Settings' }).waitFor({ timeout: WAIT });
    expect(await page.getByLabel('Display name').inputValue()).toBe('Alice Liddell');
    expect(await page.getByLabel('Who sees when I was last online').inputValue()).toBe('nobody');
    expect(await page.getByLabel('Send read receipts').isChecked()).toBe(false);
    expect(await page.getByLabel('Only when I am mentioned').isChecked()).toBe(true);
    expect(await page.getByLabel('From').inputValue()).toBe('21:30');

    // A value the server refuses is reported and nothing changes.
    await page.getByLabel('Avatar address').fill('ftp://example.com/me.png');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.locator('p.error[role="status"]').waitFor({ timeout: WAIT });
    expect((await alice.call<{ avatar_url: string | null }>('GET', '/auth/me')).data.avatar_url).toBeNull();

    // Phone width, dark.
    const phone = await t.open(alice, '/settings', { width: 390, height: 780, dark: true });
    await phone.page.getByRole('heading', { name: 'Settings' }).waitFor({ timeout: WAIT });
    await shot(phone.page, 'settings-phone-dark');
    await phone.context.close();

    // Sign out: back to the sign-in form, and a reload stays signed out.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to TMA' }).waitFor({ timeout: WAIT });
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in to TMA' }).waitFor({ timeout: WAIT });
    t.expectClean();
  }, 120_000);
});
