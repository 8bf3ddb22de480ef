// Pins, polls and link previews in a browser: pin and unpin (and a pin by the other person showing live), a poll
// created in the page with votes from both sides counted live, and the server's preview of a link under its message.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveChromium } from './e2e.js';
import { conversation, type Person, say, shot, WAIT, WebTest } from './ui.js';

const PAGE = `<!doctype html><html><head><title>Plain</title>
<meta property="og:title" content="Release notes 2.0">
<meta property="og:description" content="Everything new in this release">
<meta property="og:site_name" content="Example News">
</head><body></body></html>`;

function message(page: Page, text: string) {
  return page.getByRole('log', { name: 'Messages' }).locator('li.message', {
    has: page.locator('.text', { hasText: new RegExp(`^${text}`) }),
  });
}

describe.runIf(haveChromium || process.env.CI)('pins, polls and link previews', () => {
  const t = new WebTest();
  let site: Server;
  let alice: Person;
  let bob: Person;
  let id: string;
  let page: Page;

  beforeAll(async () => {
    site = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(PAGE);
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    const port = (site.address() as AddressInfo).port;
    await t.start({ LINK_PREVIEW_ALLOWLIST: `localhost:${port}`, JOB_POLL_INTERVAL_MS: '500' });
    [alice, bob] = await Promise.all([t.person('alice'), t.person('bob')]);
    id = await conversation(alice, [bob]);
    await say(bob, id, 'First message');
    await say(bob, id, 'Second message');
    page = (await t.open(alice, `/c/${id}`)).page;
    await message(page, 'Second message').waitFor({ timeout: WAIT });
  }, 120_000);
  afterAll(async () => {
    await t.stop();
    await new Promise((resolve) => site?.close(resolve));
  });

  it('pins and unpins, lists the pins, and shows a pin made by the other person', async () => {
    const first = message(page, 'First message');
    await first.hover();
    await first.getByRole('button', { name: 'Pin', exact: true }).click();
    await first.locator('.pinned').waitFor({ timeout: WAIT });
    await page.getByRole('button', { name: 'Pinned (1)' }).waitFor({ timeout: WAIT });
    const pins = await bob.call<Array<{ message: { content: string } }>>('GET', `/conversations/${id}/pins`);
    expect(pins.data.map((p) => p.message.content)).toEqual(['First message']);

    const second = await bob.call<Array<{ id: string; content: string }>>(
      'GET',
      `/conversations/${id}/messages`,
    );
    const secondId = second.data.find((m) => m.content === 'Second message')!.id;
    expect((await bob.call('PUT', `/messages/${secondId}/pin`)).status).toBe(200);
    await page.getByRole('button', { name: 'Pinned (2)' }).click({ timeout: WAIT });
    const panel = page.getByRole('region', { name: 'Pinned messages' });
    await panel.locator('.title', { hasText: 'Second message' }).waitFor({ timeout: WAIT });
    await panel
      .getByRole('button', { name: /First message/ })
      .first()
      .click();
    await panel.getByRole('button', { name: 'Unpin First message' }).click();
    await page.getByRole('button', { name: 'Pinned (1)' }).waitFor({ timeout: WAIT });
    expect(await first.locator('.pinned').count()).toBe(0);
    await panel.getByRole('button', { name: 'Close pinned messages' }).click();
  }, 60_000);

  it('creates a poll, and votes from both sides show live', async () => {
    await page.getByRole('button', { name: 'New poll' }).click();
    const dialog = page.getByRole('dialog', { name: 'New poll' });
    await dialog.getByLabel('Question').fill('Lunch?');
    await dialog.getByLabel('Option 1').fill('Pizza');
    await dialog.getByLabel('Option 2').fill('Salad');
    await dialog.getByRole('button', { name: 'Add an option' }).click();
    await dialog.getByLabel('Option 3').fill('Soup');
    await dialog.getByRole('button', { name: 'Create poll' }).click();
    const poll = page.getByRole('group', { name: 'Poll: Lunch?' });
    await poll.waitFor({ timeout: WAIT });

    const polls = await bob.call<Array<{ type: string; metadata: { poll_id: string } }>>(
      'GET',
      `/conversations/${id}/messages`,
    );
    const pollId = polls.data.find((m) => m.type === 'poll')!.metadata.poll_id;
    const view = await bob.call<{ options: Array<{ id: string; text: string }> }>('GET', `/polls/${pollId}`);
    const salad = view.data.options.find((o) => o.text === 'Salad')!.id;
    expect((await bob.call('POST', `/polls/${pollId}/votes`, { option_ids: [salad] })).status).toBe(200);
    await poll.getByRole('button', { name: 'Salad: 1 vote' }).waitFor({ timeout: WAIT });

    await poll.getByRole('button', { name: /^Pizza/ }).click();
    await poll.getByRole('button', { name: 'Pizza: 1 vote', pressed: true }).waitFor({ timeout: WAIT });
    await poll.getByText('2 people voted').waitFor();
    // Another choice replaces a single-choice vote.
    await poll.getByRole('button', { name: /^Salad/ }).click();
    await poll.getByRole('button', { name: 'Salad: 2 votes', pressed: true }).waitFor({ timeout: WAIT });
    const after = await bob.call<{ options: Array<{ text: string; count: number }> }>(
      'GET',
      `/polls/${pollId}`,
    );
    expect(after.data.options.map((o) => [o.text, o.count])).toEqual([
      ['Pizza', 0],
      ['Salad', 2],
      ['Soup', 0],
    ]);

    await poll.getByRole('button', { name: 'Close poll' }).click();
    await poll.getByText(/closed/).waitFor({ timeout: WAIT });
    expect(await poll.getByRole('button', { name: /^Soup/ }).isDisabled()).toBe(true);
  }, 60_000);

  it('shows the preview of a link under its message once the server has it', async () => {
    const port = (site.address() as AddressInfo).port;
    await say(bob, id, `Read http://localhost:${port}/notes`);
    const item = message(page, 'Read http');
    await item.waitFor({ timeout: WAIT });
    const preview = item.getByRole('link', { name: /Release notes 2\.0/ });
    await preview.waitFor({ timeout: 30_000 });
    expect(await preview.textContent()).toContain('Example News');
    expect(await preview.getAttribute('href')).toBe(`http://localhost:${port}/notes`);
    await shot(page, 'pins-polls');
    t.expectClean();
  }, 60_000);
});
