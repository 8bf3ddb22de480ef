// Friend requests live in the browser: a request, its answer, a withdrawal and an unfriending show up on the other
// person's open screen and in the count on their Friends button, without a reload.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveChromium } from './e2e.js';
import { WAIT, WebTest } from './ui.js';

/** Marks the page, so a reload (which would lose the mark) shows. */
async function mark(page: Page): Promise<void> {
  await page.evaluate('window.__notReloaded = true');
}
async function stillTheSamePage(page: Page): Promise<boolean> {
  return (await page.evaluate('window.__notReloaded === true')) as boolean;
}

function friendsButton(page: Page) {
  return page.getByRole('navigation', { name: 'Sections' }).getByRole('button', { name: /^Friends/ });
}

describe.runIf(haveChromium || process.env.CI)('friend requests live', () => {
  const t = new WebTest();
  beforeAll(() => t.start(), 120_000);
  afterAll(() => t.stop());

  it('shows a request, its acceptance, a withdrawal and an unfriending on the other screen as they happen', async () => {
    const [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((n) => t.person(n)));
    const a = (await t.open(alice, '/friends')).page;
    const b = (await t.open(bob, '/friends')).page;
    const c = (await t.open(carol, '/')).page;
    for (const page of [a, b, c]) {
      await page.locator('.conn-connected').waitFor({ timeout: WAIT });
      await mark(page);
    }
    const bobsRequests = b.getByRole('region', { name: 'Requests' });
    const alicesRequests = a.getByRole('region', { name: 'Requests' });
    await bobsRequests.getByText('No pending requests').waitFor({ timeout: WAIT });
    expect(await friendsButton(b).locator('.badge').count()).toBe(0);

    // Alice asks Bob from her screen: his list and the count on his Friends button show it.
    await a.getByLabel('Add a friend by username').fill(bob.username);
    await a.getByRole('button', { name: 'Send request' }).click();
    await bobsRequests.getByRole('button', { name: `Accept ${alice.username}` }).waitFor({ timeout: WAIT });
    await friendsButton(b).locator('.badge', { hasText: '1' }).waitFor({ timeout: WAIT });
    expect(await friendsButton(b).textContent()).toContain('1 pending requests');
    expect(await friendsButton(a).locator('.badge').count()).toBe(0);

    // Bob accepts: Alice sees him among her friends, her outgoing request gone; Bob's count is gone.
    await bobsRequests.getByRole('button', { name: `Accept ${alice.username}` }).click();
    const alicesFriends = a.getByRole('region', { name: 'Your friends' });
    await alicesFriends.locator('.title', { hasText: bob.username }).waitFor({ timeout: WAIT });
    await alicesRequests.getByText('No pending requests').waitFor({ timeout: WAIT });
    await friendsButton(b).locator('.badge').waitFor({ state: 'detached', timeout: WAIT });

    // Alice asks Carol, who is on her chat list: the count shows, and goes once Alice withdraws.
    await a.getByLabel('Add a friend by username').fill(carol.username);
    await a.getByRole('button', { name: 'Send request' }).click();
    await friendsButton(c).locator('.badge', { hasText: '1' }).waitFor({ timeout: WAIT });
    await alicesRequests.getByRole('button', { name: `Cancel request to ${carol.username}` }).click();
    await friendsButton(c).locator('.badge').waitFor({ state: 'detached', timeout: WAIT });

    // Bob unfriends Alice: she sees it.
    await b
      .getByRole('region', { name: 'Your friends' })
      .getByRole('button', { name: `Unfriend ${alice.username}` })
      .click();
    await alicesFriends.getByText('No friends yet').waitFor({ timeout: WAIT });

    for (const page of [a, b, c]) expect(await stillTheSamePage(page)).toBe(true);
    t.expectClean();
  }, 120_000);
});
