// Group administration in a browser: rename, add and remove members, make an admin, mute, leave; a rename by
// someone else shows live. Each change is checked through the REST API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveChromium } from './e2e.js';
import { conversation, shot, WAIT, WebTest } from './ui.js';

interface Group {
  name: string | null;
  muted_until: string | null;
  members: Array<{ user_id: string; role: string }>;
}

describe.runIf(haveChromium || process.env.CI)('group administration', () => {
  const t = new WebTest();
  beforeAll(() => t.start(), 120_000);
  afterAll(() => t.stop());

  it('renames, adds, promotes, removes, mutes and leaves', async () => {
    const [alice, bob, carol, dave] = await Promise.all(
      ['alice', 'bob', 'carol', 'dave'].map((n) => t.person(n)),
    );
    const id = await conversation(alice, [bob, carol], 'Team');
    const group = async () => (await bob.call<Group>('GET', `/conversations/${id}`)).data;
    const { page } = await t.open(alice, `/c/${id}`);
    await page.getByRole('heading', { name: 'Team' }).waitFor({ timeout: WAIT });

    await page.getByRole('button', { name: 'Group info' }).click();
    const dialog = page.getByRole('dialog', { name: 'Group info' });
    await dialog.getByLabel('Group name').fill('Core team');
    await dialog.getByRole('button', { name: 'Save name' }).click();
    await dialog.getByRole('status').getByText('Group updated').waitFor({ timeout: WAIT });
    expect((await group()).name).toBe('Core team');

    await dialog.getByLabel('Add people').fill(dave.username);
    await dialog.getByRole('button', { name: `Add ${dave.username}` }).click({ timeout: WAIT });
    await dialog.getByRole('status').getByText(`${dave.username} was added`).waitFor({ timeout: WAIT });
    await dialog.getByText('4 members').waitFor({ timeout: WAIT });

    await dialog.getByRole('button', { name: `Make admin ${bob.username}` }).click();
    await dialog.getByRole('button', { name: `Remove admin ${bob.username}` }).waitFor({ timeout: WAIT });
    expect((await group()).members.find((m) => m.user_id === bob.id)?.role).toBe('admin');

    await dialog.getByRole('button', { name: `Remove ${carol.username}`, exact: true }).click();
    await dialog.getByText('3 members').waitFor({ timeout: WAIT });
    expect((await carol.call('GET', `/conversations/${id}`)).status).toBe(404);

    await dialog.getByRole('button', { name: 'Mute', exact: true }).click();
    await dialog.getByRole('button', { name: 'Unmute', exact: true }).waitFor({ timeout: WAIT });
    expect((await alice.call<Group>('GET', `/conversations/${id}`)).data.muted_until).not.toBeNull();
    await shot(page, 'group-info');
    await dialog.getByRole('button', { name: 'Close' }).click();

    // Someone else renames it: the header follows live.
    expect((await bob.call('PATCH', `/conversations/${id}`, { name: 'Renamed by Bob' })).status).toBe(200);
    await page.getByRole('heading', { name: 'Renamed by Bob' }).waitFor({ timeout: WAIT });

    // Leave: back to the list, the group gone from it, and Alice no longer a member.
    await page.getByRole('button', { name: 'Group info' }).click();
    await dialog.getByRole('button', { name: 'Leave group' }).click();
    await page.getByText('Pick a conversation, or start a new one.').waitFor({ timeout: WAIT });
    expect(await page.getByRole('button', { name: /Renamed by Bob/ }).count()).toBe(0);
    expect((await group()).members.map((m) => m.user_id).sort()).toEqual([bob.id, dave.id].sort());
    t.expectClean();
  }, 120_000);

  it('shows a plain member the group without admin controls', async () => {
    const [alice, bob] = await Promise.all(['alice', 'bob'].map((n) => t.person(n)));
    const id = await conversation(alice, [bob], 'Readers');
    const { page, context } = await t.open(bob, `/c/${id}`);
    await page.getByRole('button', { name: 'Group info' }).click();
    const dialog = page.getByRole('dialog', { name: 'Group info' });
    await dialog.getByText('2 members').waitFor({ timeout: WAIT });
    expect(await dialog.getByLabel('Group name').count()).toBe(0);
    expect(await dialog.getByRole('button', { name: /^Remove / }).count()).toBe(0);
    expect(await dialog.getByRole('button', { name: 'Leave group' }).count()).toBe(1);
    await context.close();
    t.expectClean();
  }, 60_000);
});
