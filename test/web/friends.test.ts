// The friends screen in a browser: answer requests, add by username, cancel, message a friend, block, unblock,
// unfriend; each change checked against the REST API of the other person.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveChromium } from './e2e.js';
import { shot, WAIT, WebTest } from './ui.js';

describe.runIf(haveChromium || process.env.CI)('the friends screen', () => {
  const t = new WebTest();
  beforeAll(() => t.start(), 120_000);
  afterAll(() => t.stop());

  it('accepts, declines, sends, withdraws, blocks, unblocks and unfriends', async () => {
    const [alice, bob, carol, dave] = await Promise.all(
      ['alice', 'bob', 'carol', 'dave'].map((n) => t.person(n)),
    );
    expect((await bob.call('POST', '/friends/requests', { username: alice.username })).status).toBe(201);
    expect((await carol.call('POST', '/friends/requests', { user_id: alice.id })).status).toBe(201);

    const { page } = await t.open(alice, '/friends');
    await page.getByRole('heading', { name: 'Friends', exact: true }).waitFor({ timeout: WAIT });
    const requests = page.getByRole('region', { name: 'Requests' });
    const friends = page.getByRole('region', { name: 'Your friends' });
    const blocked = page.getByRole('region', { name: 'Blocked' });

    // Bob's request accepted: he is a friend on both sides.
    await requests.getByRole('button', { name: `Accept ${bob.username}` }).click();
    await friends.locator('.title', { hasText: bob.username }).waitFor({ timeout: WAIT });
    await page.getByRole('status').getByText(`You and ${bob.username} are friends`).waitFor();
    const bobsFriends = await bob.call<Array<{ user: { id: string } }>>('GET', '/friends');
    expect(bobsFriends.data.map((f) => f.user.id)).toEqual([alice.id]);

    // Add Dave by username: an outgoing request; an unknown name says so.
    await page.getByLabel('Add a friend by username').fill(dave.username);
    await page.getByRole('button', { name: 'Send request' }).click();
    await requests
      .getByRole('button', { name: `Cancel request to ${dave.username}` })
      .waitFor({ timeout: WAIT });
    const davesRequests = await dave.call<Array<{ direction: string; user: { id: string } }>>(
      'GET',
      '/friends/requests',
    );
    expect(davesRequests.data).toMatchObject([{ direction: 'incoming', user: { id: alice.id } }]);
    await page.getByLabel('Add a friend by username').fill('nobody_here_at_all');
    await page.getByRole('button', { name: 'Send request' }).click();
    await page.locator('p.error[role="status"]').waitFor({ timeout: WAIT });

    // Carol blocked from her request: out of the requests, into the blocked list.
    await requests.getByRole('button', { name: `Block ${carol.username}` }).click();
    await blocked.locator('.title', { hasText: carol.username }).waitFor({ timeout: WAIT });
    expect(await requests.locator('.title', { hasText: carol.username }).count()).toBe(0);
    expect((await carol.call('POST', '/friends/requests', { user_id: alice.id })).status).toBe(403);
    await shot(page, 'friends');

    // Message a friend: opens the DM with him.
    await friends.getByRole('button', { name: `Message ${bob.username}` }).click();
    await page.getByRole('heading', { name: bob.username }).waitFor({ timeout: WAIT });
    expect(new URL(page.url()).pathname).toMatch(/^\/c\/[0-9a-f-]{36}$/);
    await page.getByRole('button', { name: 'Friends' }).click();

    // Withdraw the request to Dave, unblock Carol, unfriend Bob.
    await requests.getByRole('button', { name: `Cancel request to ${dave.username}` }).click();
    await requests.getByText('No pending requests').waitFor({ timeout: WAIT });
    expect((await dave.call<unknown[]>('GET', '/friends/requests')).data).toEqual([]);
    await blocked.getByRole('button', { name: `Unblock ${carol.username}` }).click();
    await blocked.getByText('Nobody is blocked').waitFor({ timeout: WAIT });
    expect((await alice.call<unknown[]>('GET', '/blocks')).data).toEqual([]);
    await friends.getByRole('button', { name: `Unfriend ${bob.username}` }).click();
    await friends.getByText('No friends yet').waitFor({ timeout: WAIT });
    expect((await bob.call<unknown[]>('GET', '/friends')).data).toEqual([]);

    // Back and forward through the address bar keep the screen.
    await page.goBack();
    await page.goForward();
    await page.getByRole('heading', { name: 'Friends', exact: true }).waitFor({ timeout: WAIT });
    t.expectClean();
  }, 120_000);
});
