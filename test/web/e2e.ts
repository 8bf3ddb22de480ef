// The browser acceptance scenario, shared by the embedded run (chat.test.ts) and the two-instance run on
// PostgreSQL + Redis (chat.pg.test.ts): two people register in two browser contexts, open a DM, chat live, react,
// reply, edit, delete; then one goes offline while the other sends 20 messages, and on reconnect exactly those 20
// show, in order.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { expect } from 'vitest';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);
const SCREENSHOTS = resolve(import.meta.dirname, '../../docs/screenshots');
const PASSWORD = 'Quiet-Harbor-Lantern-42';
const WAIT = 15_000;

/** Chromium, headless; `extraArgs` add flags (the call test's fake microphone and camera). */
export function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...extraArgs,
    ],
  });
}

interface Person {
  context: BrowserContext;
  page: Page;
  username: string;
  errors: string[];
  external: string[];
}

async function person(browser: Browser, baseUrl: string, name: string): Promise<Person> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 720 }, colorScheme: 'light' });
  const page = await context.newPage();
  const errors: string[] = [];
  const external: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('request', (request) => {
    if (!request.url().startsWith(baseUrl) && !request.url().startsWith('data:'))
      external.push(request.url());
  });
  await page.goto(baseUrl);
  return { context, page, username: `${name}_${randomBytes(3).toString('hex')}`, errors, external };
}

async function shot(page: Page, name: string, save: boolean): Promise<void> {
  if (!save) return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: resolve(SCREENSHOTS, `${name}.png`) });
}

async function register(p: Person): Promise<void> {
  await p.page.getByRole('button', { name: 'New here? Create an account' }).click();
  await p.page.getByLabel('Username').fill(p.username);
  await p.page.getByLabel('Password').fill(PASSWORD);
  await p.page.getByRole('button', { name: 'Create account' }).click();
  await p.page.getByRole('button', { name: 'Settings' }).waitFor({ timeout: WAIT });
}

function log(page: Page): Locator {
  return page.getByRole('log', { name: 'Messages' });
}

function message(page: Page, text: string): Locator {
  return log(page).locator('li.message', {
    has: page.locator('.text', { hasText: new RegExp(`^${text}$`) }),
  });
}

async function send(page: Page, text: string): Promise<void> {
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill(text);
  await box.press('Enter');
}

async function action(page: Page, text: string, name: string): Promise<void> {
  const item = message(page, text);
  await item.hover();
  await item.getByRole('button', { name, exact: true }).click();
}

function texts(page: Page): Promise<string[]> {
  return log(page).locator('li.message:not(.pending) .text').allTextContents();
}

export async function chatScenario(urls: { a: string; b: string }, options: { screenshots: boolean }) {
  const save = options.screenshots;
  const browser = await launchBrowser();
  try {
    const alice = await person(browser, urls.a, 'alice');
    const bob = await person(browser, urls.b, 'bob');
    await alice.page.getByRole('heading', { name: 'Sign in to TMA' }).waitFor({ timeout: WAIT });
    await shot(alice.page, 'sign-in', save);
    await register(alice);
    await register(bob);

    // Alice opens a DM with Bob and writes; Bob sees the conversation appear with one unread message.
    await alice.page.getByRole('button', { name: 'New chat' }).click();
    await alice.page.getByLabel('Find people').fill(bob.username);
    await alice.page.getByRole('checkbox', { name: new RegExp(bob.username) }).check({ timeout: WAIT });
    await shot(alice.page, 'new-chat', save);
    await alice.page.getByRole('button', { name: 'Start chat' }).click();
    await send(alice.page, 'Hello Bob');
    const row = bob.page.getByRole('button', { name: new RegExp(alice.username) });
    await bob.page
      .getByRole('button', { name: new RegExp(`${alice.username}.*1 unread`) })
      .waitFor({ timeout: WAIT });
    await shot(bob.page, 'conversation-list', save);
    await row.click();
    await message(bob.page, 'Hello Bob').waitFor({ timeout: WAIT });

    // Live both ways, with typing.
    await bob.page.getByRole('textbox', { name: 'Message' }).fill('typing...');
    await alice.page.getByText(/is typing…/).waitFor({ timeout: WAIT });
    await send(bob.page, 'Hi Alice');
    await message(alice.page, 'Hi Alice').waitFor({ timeout: WAIT });
    // Bob has read Alice's message: her tick turns to read.
    await message(alice.page, 'Hello Bob').getByLabel('read').waitFor({ timeout: WAIT });

    // Reaction.
    await action(bob.page, 'Hello Bob', 'React');
    await bob.page.getByRole('button', { name: 'React with 👍' }).click();
    await message(alice.page, 'Hello Bob').getByRole('button', { name: '👍 1' }).waitFor({ timeout: WAIT });

    // Reply.
    await action(alice.page, 'Hi Alice', 'Reply');
    await send(alice.page, 'A reply');
    const reply = message(bob.page, 'A reply');
    await reply.waitFor({ timeout: WAIT });
    expect(await reply.locator('blockquote').textContent()).toBe('Hi Alice');

    // Edit.
    await action(alice.page, 'Hello Bob', 'Edit');
    // The composer holds the message being edited before the new text goes in.
    await alice.page.getByText('Editing message').waitFor({ timeout: WAIT });
    await alice.page.waitForFunction(
      "document.querySelector('.composer textarea')?.value === 'Hello Bob'",
      undefined,
      {
        timeout: WAIT,
      },
    );
    await alice.page.getByRole('textbox', { name: 'Message' }).fill('Hello Bob, edited');
    await alice.page.getByRole('textbox', { name: 'Message' }).press('Enter');
    await message(bob.page, 'Hello Bob, edited')
      .getByText('edited', { exact: true })
      .waitFor({ timeout: WAIT });
    await shot(alice.page, 'chat', save);

    // Search: conversations by name, messages by content.
    const search = bob.page.getByRole('searchbox', { name: 'Search conversations' });
    await search.fill('edited');
    await bob.page
      .getByRole('region', { name: 'Messages found' })
      .getByText('Hello Bob, edited')
      .waitFor({ timeout: WAIT });
    await shot(bob.page, 'search', save);
    await search.fill('');

    // Delete.
    await action(alice.page, 'A reply', 'Delete');
    await message(bob.page, 'Message deleted').waitFor({ timeout: WAIT });
    expect(await texts(bob.page)).not.toContain('A reply');

    // Alice loses the network; Bob sends 20 messages; Alice comes back and has exactly those 20, in order.
    await alice.context.setOffline(true);
    await alice.page
      .getByRole('status')
      .getByText(/Offline/)
      .waitFor({ timeout: WAIT });
    const burst = Array.from({ length: 20 }, (_, i) => `burst ${i + 1}`);
    for (const text of burst) await send(bob.page, text);
    await message(bob.page, 'burst 20').waitFor({ timeout: WAIT });
    await bob.page.locator('li.pending').first().waitFor({ state: 'detached', timeout: WAIT });
    await shot(alice.page, 'offline', save);
    expect((await texts(alice.page)).filter((t) => t.startsWith('burst'))).toEqual([]);
    await alice.context.setOffline(false);
    await message(alice.page, 'burst 20').waitFor({ timeout: WAIT });
    await expect
      .poll(async () => (await texts(alice.page)).filter((t) => t.startsWith('burst')), { timeout: WAIT })
      .toEqual(burst);
    expect(await texts(alice.page)).toEqual(await texts(bob.page));

    // Alice's queued send while offline goes out once, with its client_id, when she is back.
    await alice.context.setOffline(true);
    await alice.page
      .getByRole('status')
      .getByText(/Offline/)
      .waitFor({ timeout: WAIT });
    await send(alice.page, 'queued while offline');
    await alice.page.locator('li.pending').waitFor({ timeout: WAIT });
    await alice.context.setOffline(false);
    await message(bob.page, 'queued while offline').waitFor({ timeout: WAIT });
    await expect.poll(() => texts(alice.page), { timeout: WAIT }).toEqual(await texts(bob.page));
    expect((await texts(bob.page)).filter((t) => t === 'queued while offline')).toHaveLength(1);

    // Keyboard: ArrowUp in the empty composer edits the last own message, Escape leaves it.
    const box = alice.page.getByRole('textbox', { name: 'Message' });
    await box.press('ArrowUp');
    await alice.page.getByRole('button', { name: 'Save' }).waitFor({ timeout: WAIT });
    expect(await box.inputValue()).toBe('queued while offline');
    await box.press('Escape');
    expect(await box.inputValue()).toBe('');

    if (save) {
      // Bob's session on a phone-sized screen in dark mode.
      const dark = await browser.newContext({
        viewport: { width: 390, height: 780 },
        colorScheme: 'dark',
        storageState: await bob.context.storageState(),
      });
      const phone = await dark.newPage();
      await phone.goto(bob.page.url());
      await message(phone, 'burst 20').waitFor({ timeout: WAIT });
      await shot(phone, 'chat-phone-dark', save);
      await dark.close();
    }

    expect([...alice.errors, ...bob.errors]).toEqual([]);
    expect([...alice.external, ...bob.external]).toEqual([]);
  } finally {
    await browser.close();
  }
}
