// Uploads in a browser: an image (progress while it goes up on a slowed link, then the thumbnail once the server
// made it), a voice note (a fixture .ogg stands in for a recording: headless Chromium has no microphone) that
// plays, and a document; the other person sees the same attachments over REST.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveChromium } from './e2e.js';
import { conversation, shot, WAIT, WebTest } from './ui.js';

const VOICE = resolve(import.meta.dirname, '../fixtures/files/voice-3s.opus');

interface Attachment {
  kind: string;
  name: string;
  status: string;
  thumbnail_url: string | null;
}

describe.runIf(haveChromium || process.env.CI)('file uploads', () => {
  const t = new WebTest();
  const dataDir = mkdtempSync(join(tmpdir(), 'tma-web-files-'));
  beforeAll(() => t.start({ DATA_DIR: dataDir, JOB_POLL_INTERVAL_MS: '500' }), 120_000);
  afterAll(async () => {
    await t.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('sends an image with progress and a thumbnail, a voice note and a file', async () => {
    const [alice, bob] = await Promise.all([t.person('alice'), t.person('bob')]);
    const id = await conversation(alice, [bob]);
    const { page, context } = await t.open(alice, `/c/${id}`);
    const log = page.getByRole('log', { name: 'Messages' });
    const files = page.getByLabel('Files to send');

    // A noisy image compresses badly: big enough to watch it go up on a link slowed to 256 KB/s.
    const pixels = Buffer.alloc(400 * 300 * 3);
    for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7919) % 251;
    const image = await sharp(pixels, { raw: { width: 400, height: 300, channels: 3 } })
      .png()
      .toBuffer();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: 256 * 1024,
    });
    await files.setInputFiles({ name: 'noise.png', mimeType: 'image/png', buffer: image });
    await page.getByRole('progressbar', { name: 'Upload of noise.png' }).waitFor({ timeout: WAIT });
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: -1,
    });
    const img = log.getByRole('img', { name: 'noise.png' });
    await img.waitFor({ timeout: WAIT });
    // The thumbnail replaces the original once made (message_updated).
    await log.locator('img.thumbnail[alt="noise.png"]').waitFor({ timeout: 60_000 });
    const loaded = await img.evaluate((el) => {
      const image = el as unknown as { complete: boolean; naturalWidth: number };
      return image.complete && image.naturalWidth > 0;
    });
    expect(loaded).toBe(true);

    await files.setInputFiles({ name: 'voice.ogg', mimeType: 'audio/ogg', buffer: readFileSync(VOICE) });
    const audio = log.locator('audio'); // the player's source, without native controls (test/web/voice.test.ts)
    await audio.waitFor({ state: 'attached', timeout: WAIT });
    expect(await audio.getAttribute('aria-label')).toBe('Voice note, 0:03');
    const playable = await audio.evaluate(async (el) => {
      const media = el as unknown as {
        preload: string;
        duration: number;
        load(): void;
        addEventListener(name: string, handler: () => void, options: { once: boolean }): void;
      };
      media.preload = 'auto';
      const ready = new Promise<void>((r) => media.addEventListener('loadedmetadata', r, { once: true }));
      media.load();
      await ready;
      return media.duration;
    });
    expect(playable).toBeGreaterThan(2.5);

    await files.setInputFiles({
      name: 'notes.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('meeting notes\n'),
    });
    await log.getByRole('link', { name: /notes\.txt/ }).waitFor({ timeout: WAIT });
    await shot(page, 'files');

    const seen = await bob.call<Array<{ seq: number; type: string; attachments: Attachment[] }>>(
      'GET',
      `/conversations/${id}/messages`,
    );
    seen.data.sort((a, b) => a.seq - b.seq);
    expect(seen.data.map((m) => [m.type, m.attachments.map((a) => a.name)])).toEqual([
      ['image', ['noise.png']],
      ['voice', ['voice.ogg']],
      ['file', ['notes.txt']],
    ]);
    expect(seen.data[0]!.attachments[0]!.thumbnail_url).not.toBeNull();
    t.expectClean();
  }, 120_000);

  it('says why a refused upload failed, and lets it be dismissed', async () => {
    const [alice, bob] = await Promise.all([t.person('alice'), t.person('bob')]);
    const id = await conversation(alice, [bob]);
    const { page, context } = await t.open(alice, `/c/${id}`);
    // Declared an image, but the bytes are not one: the server rejects it at complete.
    await page.getByLabel('Files to send').setInputFiles({
      name: 'fake.png',
      mimeType: 'image/png',
      buffer: Buffer.from('not an image at all'),
    });
    const failed = page.getByRole('log', { name: 'Messages' }).getByRole('alert');
    await failed.waitFor({ timeout: WAIT });
    await failed.getByRole('button', { name: 'Dismiss' }).click();
    await failed.waitFor({ state: 'detached', timeout: WAIT });
    expect((await bob.call<unknown[]>('GET', `/conversations/${id}/messages`)).data).toEqual([]);
    await context.close();
    t.expectClean();
  }, 60_000);
});
