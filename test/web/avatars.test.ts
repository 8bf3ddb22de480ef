// Avatars and dialog focus in a browser: a picture uploaded in Settings is what the other person sees in the list
// and the chat header (loaded from this server, its signed URL fetched once); initials on a colour for someone
// without one; Tab stays inside an open dialog, Escape closes it and focus returns to the button that opened it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveChromium } from './e2e.js';
import { conversation, say, WAIT, WebTest } from './ui.js';

interface InPage {
  complete: boolean;
  naturalWidth: number;
  contains(other: unknown): boolean;
  ownerDocument: {
    activeElement: unknown;
    defaultView: { getComputedStyle(el: unknown): { backgroundColor: string } };
  };
}
const loaded = (img: Locator) =>
  img.evaluate((el) => (el as unknown as InPage).complete && (el as unknown as InPage).naturalWidth);
const focused = (locator: Locator) =>
  locator.evaluate((el) => (el as unknown as InPage).ownerDocument.activeElement === el);
const holdsFocus = (locator: Locator) =>
  locator.evaluate((el) =>
    (el as unknown as InPage).contains((el as unknown as InPage).ownerDocument.activeElement),
  );
const background = (locator: Locator) =>
  locator.evaluate(
    (el) => (el as unknown as InPage).ownerDocument.defaultView.getComputedStyle(el).backgroundColor,
  );

/** Presses Tab (or Shift+Tab) `times` times; after each, focus must be inside `dialog`. Returns the names seen. */
async function tabAround(page: Page, dialog: Locator, key: 'Tab' | 'Shift+Tab', times: number) {
  const seen: string[] = [];
  for (let i = 0; i < times; i++) {
    await page.keyboard.press(key);
    const inside = await holdsFocus(dialog);
    expect(inside, `focus left the dialog after ${i + 1} × ${key}`).toBe(true);
    seen.push(await page.evaluate<string>('document.activeElement?.outerHTML.slice(0, 60) ?? ""'));
  }
  return seen;
}

describe.runIf(haveChromium || process.env.CI)('avatars and dialog focus', () => {
  const t = new WebTest();
  const dataDir = mkdtempSync(join(tmpdir(), 'tma-web-avatars-'));
  beforeAll(() => t.start({ DATA_DIR: dataDir, JOB_POLL_INTERVAL_MS: '500' }), 120_000);
  afterAll(async () => {
    await t.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('shows an uploaded picture to the other person, and initials for someone without one', async () => {
    const [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((n) => t.person(n)));
    const dm = await conversation(alice, [bob]);
    await say(alice, dm, 'hello from Alice');
    const withCarol = await conversation(carol, [bob]);
    await say(carol, withCarol, 'hi, no picture here');

    // Alice uploads a picture in Settings: her initials first, then the picture.
    const a = await t.open(alice, '/settings');
    const mine = a.page.locator('.avatar-edit').getByRole('img', { name: alice.username });
    await mine.waitFor({ timeout: WAIT });
    expect(await mine.textContent()).toBe('A');
    const picture = await sharp({
      create: { width: 256, height: 256, channels: 3, background: { r: 30, g: 140, b: 90 } },
    })
      .png()
      .toBuffer();
    await a.page
      .getByLabel('Upload picture')
      .setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: picture });
    await a.page.getByRole('status').getByText('Picture saved').waitFor({ timeout: WAIT });
    await mine.locator('img').waitFor({ timeout: WAIT });
    await expect.poll(() => loaded(mine.locator('img')), { timeout: WAIT }).toBeGreaterThan(0);
    const me = (await alice.call<{ avatar_url: string }>('GET', '/auth/me')).data;
    expect(me.avatar_url).toMatch(/^\/api\/v1\/files\/[0-9a-f-]{36}\/content$/);
    const fileId = me.avatar_url.split('/')[4];

    // Bob sees it in the list and in the chat header; the file's view is asked for once for both.
    const b = await t.open(bob, '/');
    const views: string[] = [];
    b.page.on('request', (r) => {
      if (new URL(r.url()).pathname === `/api/v1/files/${fileId}`) views.push(r.url());
    });
    const row = b.page.getByRole('button', { name: new RegExp(alice.username) });
    await expect.poll(() => loaded(row.locator('.avatar img')), { timeout: WAIT }).toBeGreaterThan(0);
    await row.click();
    const header = b.page.locator('.chat header.bar');
    await header.getByRole('heading', { name: alice.username }).waitFor({ timeout: WAIT });
    await expect.poll(() => loaded(header.locator('.avatar img')), { timeout: WAIT }).toBeGreaterThan(0);
    expect(await header.locator('.avatar img').getAttribute('src')).toMatch(/^\/api\/v1\/files\/blob\//);
    expect(views.length).toBeLessThanOrEqual(1);

    // Carol has no picture: her initials on a colour, no image, the same colour on every render.
    const carolRow = b.page.getByRole('button', { name: new RegExp(carol.username) });
    const initials = carolRow.locator('.avatar');
    expect(await initials.locator('img').count()).toBe(0);
    expect(await initials.textContent()).toBe('C');
    expect(await initials.getAttribute('aria-hidden')).toBe('true');
    const colour = await background(initials);
    expect(colour).toMatch(/^rgb/);
    await carolRow.click();
    await b.page
      .locator('.chat header.bar')
      .getByRole('heading', { name: carol.username })
      .waitFor({ timeout: WAIT });
    expect(await background(b.page.locator('.chat header.bar .avatar'))).toBe(colour);
    t.expectClean();
  }, 120_000);

  it("a group admin sets the group's picture in Group info; a member sees it in the list", async () => {
    const [fay, gus] = await Promise.all(['fay', 'gus'].map((n) => t.person(n)));
    const id = await conversation(fay, [gus], 'Pictured');
    await say(fay, id, 'welcome');
    const { page } = await t.open(fay, `/c/${id}`);
    await page.getByRole('button', { name: 'Group info' }).click();
    const dialog = page.getByRole('dialog', { name: 'Group info' });
    const picture = await sharp({
      create: { width: 120, height: 90, channels: 3, background: { r: 200, g: 120, b: 20 } },
    })
      .jpeg()
      .toBuffer();
    await dialog
      .getByLabel('Upload group picture')
      .setInputFiles({ name: 'group.jpg', mimeType: 'image/jpeg', buffer: picture });
    await dialog.getByRole('status').getByText('Group picture saved').waitFor({ timeout: WAIT });
    const group = (await gus.call<{ avatar_url: string }>('GET', `/conversations/${id}`)).data;
    expect(group.avatar_url).toMatch(/^\/api\/v1\/files\/[0-9a-f-]{36}\/content$/);
    await expect
      .poll(() => loaded(dialog.getByRole('img', { name: 'Pictured' }).locator('img')), { timeout: WAIT })
      .toBeGreaterThan(0);

    const member = await t.open(gus, '/');
    const row = member.page.getByRole('button', { name: /Pictured/ });
    await expect.poll(() => loaded(row.locator('.avatar img')), { timeout: WAIT }).toBeGreaterThan(0);
    t.expectClean();
  }, 120_000);

  it('keeps Tab inside an open dialog; Escape closes it and focus returns to its opener', async () => {
    const [dan, erin] = await Promise.all(['dan', 'erin'].map((n) => t.person(n)));
    const dm = await conversation(dan, [erin]);
    const { page } = await t.open(dan, `/c/${dm}`);
    await page.getByRole('heading', { name: erin.username }).waitFor({ timeout: WAIT });

    // New chat, opened from the keyboard.
    const opener = page.getByRole('button', { name: 'New chat' });
    await opener.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'New chat' });
    await dialog.waitFor({ timeout: WAIT });
    expect(await holdsFocus(dialog)).toBe(true);
    const forward = await tabAround(page, dialog, 'Tab', 6);
    expect(new Set(forward).size).toBeGreaterThan(1); // it moved, and wrapped round inside
    await tabAround(page, dialog, 'Shift+Tab', 6);
    // A click on the backdrop does not let Tab out either.
    await page.mouse.click(5, 5);
    await tabAround(page, dialog, 'Tab', 2);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached', timeout: WAIT });
    await expect.poll(() => focused(opener), { timeout: WAIT }).toBe(true);

    // The poll dialog, from its button beside the composer.
    const poll = page.getByRole('button', { name: /^New poll$/i });
    await poll.click();
    const pollDialog = page.getByRole('dialog', { name: 'New poll' });
    await pollDialog.waitFor({ timeout: WAIT });
    await tabAround(page, pollDialog, 'Tab', 12);
    await tabAround(page, pollDialog, 'Shift+Tab', 3);
    await page.keyboard.press('Escape');
    await pollDialog.waitFor({ state: 'detached', timeout: WAIT });
    await expect.poll(() => focused(poll), { timeout: WAIT }).toBe(true);
    t.expectClean();
  }, 120_000);
});
