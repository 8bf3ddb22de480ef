// A long history in a browser: only a window of messages is in the page; scrolling up pages older ones in from the
// server and moves the window without moving what is on screen; "Jump to latest" returns to the newest.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveChromium } from './e2e.js';
import { conversation, say, shot, WAIT, WebTest } from './ui.js';

const TOTAL = 260;
/** The window (80) plus a step (40) of slack while it moves. */
const MOST_RENDERED = 120;

/** The message at the top of the view and where it is on screen. */
function topMessage(page: Page): Promise<{ text: string; y: number } | null> {
  return page.evaluate(`(() => {
    const log = document.querySelector('[role="log"]');
    const box = log.getBoundingClientRect();
    for (const li of log.querySelectorAll('li.message[data-id]')) {
      const r = li.getBoundingClientRect();
      if (r.bottom > box.top + 1) return { text: li.querySelector('.text')?.textContent ?? '', y: r.top };
    }
    return null;
  })()`);
}

/** Where the message with this text is on screen, or null when it is not in the page. */
function positionOf(page: Page, text: string): Promise<number | null> {
  return page.evaluate(`(() => {
    const li = [...document.querySelectorAll('[role="log"] li.message')].find(
      (el) => el.querySelector('.text')?.textContent === ${JSON.stringify(text)},
    );
    return li ? li.getBoundingClientRect().top : null;
  })()`);
}

const rendered = (page: Page) => page.locator('[role="log"] li.message[data-id]').count();

describe.runIf(haveChromium || process.env.CI)('a long history', () => {
  const t = new WebTest();
  beforeAll(() => t.start(), 120_000);
  afterAll(() => t.stop());

  it('renders a window, pages older messages in on scroll up without a jump, jumps to the latest and to a search hit', async () => {
    const [alice, bob] = await Promise.all([t.person('alice'), t.person('bob')]);
    const id = await conversation(alice, [bob]);
    for (let i = 1; i <= TOTAL; i++)
      await say(i % 3 ? bob : alice, id, i === 42 ? 'message 42 pineapple' : `message ${i}`);
    const { page } = await t.open(alice, `/c/${id}`);
    const log = page.getByRole('log', { name: 'Messages' });
    await log.getByText(`message ${TOTAL}`, { exact: true }).waitFor({ timeout: WAIT });

    // Scroll up a little at a time, as a person would: whatever was at the top of the view stays put whenever
    // the window moves or a page arrives.
    let seenFirst = false;
    for (let step = 0; step < 400 && !seenFirst; step++) {
      const before = await topMessage(page);
      const moved = await log.evaluate((el) => {
        const from = el.scrollTop;
        el.scrollTop = Math.max(0, from - 250);
        return from - el.scrollTop;
      });
      await page.waitForTimeout(50);
      await expect.poll(() => page.locator('.older[disabled]').count(), { timeout: WAIT }).toBe(0);
      // The message that was at the top is still in the page, lower by exactly the distance scrolled.
      const y = await positionOf(page, before!.text);
      expect(y).not.toBeNull();
      expect(Math.abs(y! - before!.y - moved)).toBeLessThanOrEqual(2);
      expect(await rendered(page)).toBeLessThanOrEqual(MOST_RENDERED);
      seenFirst = (await log.getByText('message 1', { exact: true }).count()) > 0;
    }
    expect(seenFirst).toBe(true);
    await log.getByText('message 1', { exact: true }).scrollIntoViewIfNeeded();
    expect(await log.getByText(`message ${TOTAL}`, { exact: true }).count()).toBe(0);
    await shot(page, 'history');

    // A message arriving while reading old ones does not pull the view down.
    const top = await topMessage(page);
    await say(bob, id, 'a new one');
    await page.getByRole('button', { name: 'Jump to latest' }).waitFor({ timeout: WAIT });
    await page.waitForTimeout(300);
    expect((await topMessage(page))?.text).toBe(top?.text);

    await page.getByRole('button', { name: 'Jump to latest' }).click();
    await log.getByText('a new one', { exact: true }).waitFor({ timeout: WAIT });
    await expect.poll(() => rendered(page), { timeout: WAIT }).toBeLessThanOrEqual(MOST_RENDERED);
    const last = await log.getByText('a new one', { exact: true }).boundingBox();
    const box = await log.boundingBox();
    expect(last!.y + last!.height).toBeLessThanOrEqual(box!.y + box!.height + 1);

    // A search hit far back in the history, from a fresh page: the chat pages back to that message and shows it.
    const fresh = await t.open(alice, '/');
    await fresh.page.getByRole('searchbox', { name: 'Search conversations' }).fill('pineapple');
    await fresh.page
      .getByRole('region', { name: 'Messages found' })
      .getByRole('button')
      .first()
      .click({ timeout: WAIT });
    const freshLog = fresh.page.getByRole('log', { name: 'Messages' });
    const hit = freshLog.getByText('message 42 pineapple', { exact: true });
    await hit.waitFor({ timeout: WAIT });
    await expect
      .poll(
        async () => {
          const at = await hit.boundingBox();
          const view = await freshLog.boundingBox();
          return Boolean(at && view && at.y >= view.y && at.y + at.height <= view.y + view.height);
        },
        { timeout: WAIT },
      )
      .toBe(true);
    expect(await rendered(fresh.page)).toBeLessThanOrEqual(MOST_RENDERED);
    t.expectClean();
  }, 180_000);
});
