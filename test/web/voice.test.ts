// Voice notes with a waveform: the page decodes an Ogg/Opus note that rises from silence to loud (a fixture stands
// in for a recording: headless Chromium has no microphone) and sends 64 amplitudes with the upload; the other person
// reads that shape over REST; the note plays with the played part of the 64 bars growing and the time advancing,
// and the waveform is a slider the arrow keys seek. A note uploaded without a waveform shows flat bars.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveChromium } from './e2e.js';
import { conversation, type Person, shot, WAIT, WebTest } from './ui.js';

const FIXTURES = resolve(import.meta.dirname, '../fixtures/files');
const RISING = readFileSync(resolve(FIXTURES, 'voice-rising-3s.opus'));
const TONE = readFileSync(resolve(FIXTURES, 'voice-3s.opus'));

interface Attachment {
  kind: string;
  name: string;
  status: string;
  waveform: number[] | null;
}

/** A voice note sent over REST with no waveform (as older clients did): upload-url, PUT, complete, message. */
async function sendPlainVoiceNote(t: WebTest, who: Person, conversationId: string): Promise<void> {
  const ticket = await who.call<{
    file: { id: string };
    upload: { url: string; method: string; headers: Record<string, string> };
  }>('POST', '/files/upload-url', {
    name: 'plain.ogg',
    size: TONE.length,
    content_type: 'audio/ogg',
    kind: 'voice',
  });
  expect(ticket.status).toBe(201);
  const put = await fetch(new URL(ticket.data.upload.url, t.url), {
    method: ticket.data.upload.method,
    headers: ticket.data.upload.headers,
    body: TONE,
  });
  expect(put.status).toBeLessThan(300);
  const done = await who.call<Attachment>('POST', `/files/${ticket.data.file.id}/complete`, {});
  expect(done.status).toBe(200);
  expect(done.data.waveform).toBeNull();
  const sent = await who.call('POST', `/conversations/${conversationId}/messages`, {
    type: 'voice',
    attachments: [ticket.data.file.id],
  });
  expect(sent.status).toBe(201);
}

describe.runIf(haveChromium || process.env.CI)('voice notes with a waveform', () => {
  const t = new WebTest();
  beforeAll(() => t.start({}, ['--autoplay-policy=no-user-gesture-required']), 120_000);
  afterAll(() => t.stop());

  it('computes the waveform in the page, plays with the played part growing, and seeks', async () => {
    const [alice, bob] = await Promise.all([t.person('alice'), t.person('bob')]);
    const id = await conversation(alice, [bob]);
    const { page } = await t.open(alice, `/c/${id}`);
    const log = page.getByRole('log', { name: 'Messages' });

    await page
      .getByLabel('Files to send')
      .setInputFiles({ name: 'rising.ogg', mimeType: 'audio/ogg', buffer: RISING });
    const note = log.getByRole('group', { name: 'Voice note, 0:03' });
    await note.waitFor({ timeout: WAIT });

    // What the page computed, as the other person reads it: 64 values, quiet first, loud last.
    const seen = await bob.call<Array<{ type: string; attachments: Attachment[] }>>(
      'GET',
      `/conversations/${id}/messages`,
    );
    const waveform = seen.data[0]!.attachments[0]!.waveform!;
    expect(seen.data[0]!.type).toBe('voice');
    expect(waveform).toHaveLength(64);
    expect(waveform.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)).toBe(true);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(Math.max(...waveform)).toBeGreaterThan(230);
    expect(mean(waveform.slice(0, 8))).toBeLessThan(60);
    expect(mean(waveform.slice(-8))).toBeGreaterThan(200);
    expect(mean(waveform.slice(0, 16))).toBeLessThan(mean(waveform.slice(-16)));

    // 64 bars drawn from it: the first lower than the last.
    const bars = note.locator('.wave-bar');
    expect(await bars.count()).toBe(64);
    const heights = await bars.evaluateAll((els) =>
      els.map(
        (el) =>
          (el as unknown as { getBoundingClientRect(): { height: number } }).getBoundingClientRect().height,
      ),
    );
    expect(heights[0]!).toBeLessThan(heights[63]!);

    // The slider: arrow keys seek by 5%, Home goes back.
    const slider = note.getByRole('slider', { name: 'Position in the voice note' });
    expect(await slider.getAttribute('aria-valuemin')).toBe('0');
    expect(await slider.getAttribute('aria-valuemax')).toBe('100');
    expect(await slider.getAttribute('aria-valuenow')).toBe('0');
    await slider.focus();
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => slider.getAttribute('aria-valuenow'), { timeout: WAIT }).toBe('5');
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => slider.getAttribute('aria-valuenow'), { timeout: WAIT }).toBe('10');
    await page.keyboard.press('ArrowLeft');
    await expect.poll(() => slider.getAttribute('aria-valuenow'), { timeout: WAIT }).toBe('5');
    await page.keyboard.press('Home');
    await expect.poll(() => slider.getAttribute('aria-valuenow'), { timeout: WAIT }).toBe('0');

    // Playing: the button turns to pause, the played bars grow and the time advances.
    const played = note.locator('.wave-bar.played');
    const time = note.locator('.voice-time');
    expect(await played.count()).toBe(0);
    expect(await time.textContent()).toBe('0:00 / 0:03');
    await note.getByRole('button', { name: 'Play voice note' }).click();
    await note.getByRole('button', { name: 'Pause voice note' }).waitFor({ timeout: WAIT });
    await expect.poll(() => played.count(), { timeout: WAIT }).toBeGreaterThan(10);
    const early = await played.count();
    await expect.poll(() => played.count(), { timeout: WAIT }).toBeGreaterThan(early);
    await expect.poll(() => time.textContent(), { timeout: WAIT }).not.toBe('0:00 / 0:03');
    await note.getByRole('button', { name: 'Pause voice note' }).click();
    await note.getByRole('button', { name: 'Play voice note' }).waitFor({ timeout: WAIT });
    const paused = Number(await slider.getAttribute('aria-valuenow'));
    expect(paused).toBeGreaterThan(0);

    // Seeking while loaded moves the audio itself; a click on the waveform seeks too.
    await slider.focus();
    await page.keyboard.press('ArrowRight');
    await expect.poll(async () => Number(await slider.getAttribute('aria-valuenow'))).toBe(paused + 5);
    const current = await note
      .locator('audio')
      .evaluate((el) => (el as unknown as { currentTime: number }).currentTime);
    expect(current).toBeCloseTo(((paused + 5) / 100) * 3, 0);
    const box = (await slider.boundingBox())!;
    await slider.click({ position: { x: box.width * 0.75, y: box.height / 2 } });
    await expect
      .poll(async () => Number(await slider.getAttribute('aria-valuenow')))
      .toBeGreaterThanOrEqual(74);
    expect(await played.count()).toBeGreaterThanOrEqual(47);
    await slider.blur();
    await shot(page, 'voice-note');

    // An older note without a waveform: 64 flat bars.
    await sendPlainVoiceNote(t, bob, id);
    const plain = log.getByRole('group', { name: 'Voice note, 0:03' }).nth(1);
    await plain.waitFor({ timeout: WAIT });
    const flat = await plain
      .locator('.wave-bar')
      .evaluateAll((els) =>
        els.map(
          (el) =>
            (el as unknown as { getBoundingClientRect(): { height: number } }).getBoundingClientRect().height,
        ),
      );
    expect(flat).toHaveLength(64);
    expect(new Set(flat).size).toBe(1);
    t.expectClean();
  }, 120_000);

  it('draws the waveform in the dark theme too', async () => {
    const [alice, bob] = await Promise.all([t.person('alice'), t.person('bob')]);
    const id = await conversation(alice, [bob]);
    await sendPlainVoiceNote(t, alice, id);
    const { page } = await t.open(bob, `/c/${id}`, { dark: true });
    const note = page.getByRole('log', { name: 'Messages' }).getByRole('group', { name: 'Voice note, 0:03' });
    await note.waitFor({ timeout: WAIT });
    const colours = await note.evaluate((el) => {
      const g = globalThis as unknown as {
        getComputedStyle(e: unknown): { backgroundColor: string; color: string };
      };
      const root = el as unknown as { querySelector(s: string): unknown };
      return {
        bar: g.getComputedStyle(root.querySelector('.wave-bar')).backgroundColor,
        button: g.getComputedStyle(root.querySelector('.voice-play')).backgroundColor,
      };
    });
    // The dark accent (#5b8cff) on the play button; the bars are a muted tint, not the accent.
    expect(colours.button).toBe('rgb(91, 140, 255)');
    expect(colours.bar).not.toBe(colours.button);
    // A click at 40% colours the bars before it as played, in the accent.
    const slider = note.getByRole('slider');
    const box = (await slider.boundingBox())!;
    await slider.click({ position: { x: box.width * 0.4, y: box.height / 2 } });
    await expect
      .poll(async () => Number(await slider.getAttribute('aria-valuenow')), { timeout: WAIT })
      .toBeGreaterThanOrEqual(39);
    const background = (n: number) =>
      note
        .locator('.wave-bar')
        .nth(n)
        .evaluate(
          (el) =>
            (
              globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }
            ).getComputedStyle(el).backgroundColor,
        );
    expect(await background(0)).toBe('rgb(91, 140, 255)');
    expect(await background(63)).toBe(colours.bar);
    await slider.blur();
    await shot(page, 'voice-note-dark');
    t.expectClean();
  }, 60_000);
});
