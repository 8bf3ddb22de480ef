// files: signing upload URLs at a paced rate, complete + sniff of 1 MB images, and thumbnail jobs per second.
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import type { ScenarioContext, ScenarioResult } from '../lib/context.js';
import { ServerMeter } from '../lib/context.js';
import { Histogram } from '../lib/histogram.js';
import { pacedLoad } from '../lib/paced-http.js';
import { api, type BenchUser, pool } from '../lib/seed.js';

interface Ticket {
  file: { id: string };
  upload: { url: string; headers: Record<string, string> };
}

interface FileState {
  status: string;
  thumbnail_url: string | null;
}

/** A PNG of noise close to `bytes` long: noise does not compress, so the size is about the pixel data. */
async function noisePng(bytes: number): Promise<Buffer> {
  const side = Math.ceil(Math.sqrt(bytes / 3));
  const pixels = randomBytes(side * side * 3);
  return sharp(pixels, { raw: { width: side, height: side, channels: 3 } })
    .png()
    .toBuffer();
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function files(ctx: ScenarioContext): Promise<ScenarioResult> {
  const rate = ctx.param('rate', 200, 200);
  const durationS = ctx.param('duration', 8, 30);
  const warmupS = ctx.param('warmup', 2, 3);
  const imageCount = ctx.param('images', 20, 100);
  const concurrency = ctx.param('concurrency', 4, 4);
  const imageBytes = ctx.param('bytes', 1_000_000, 1_000_000);
  const base = ctx.target.urls[0] as string;
  const [user] = (await ctx.users(1)) as [BenchUser];
  const meter = new ServerMeter(ctx.target);

  // 1. Signing: POST /files/upload-url at an even rate (each answer also stores a pending file row).
  const signing = {
    url: `${base}/api/v1/files/upload-url`,
    method: 'POST' as const,
    headers: { authorization: `Bearer ${user.token}` },
    body: { name: 'photo.png', content_type: 'image/png', kind: 'image', size: imageBytes },
    rate,
    sockets: 32,
  };
  ctx.log(`files: signing upload URLs at ${rate} req/s for ${durationS} s (after ${warmupS} s of warm-up)`);
  if (warmupS > 0) await pacedLoad({ ...signing, durationS: warmupS });
  await meter.reset();
  const signed = await pacedLoad({ ...signing, durationS });
  const signingCpu = await meter.read();

  // 2. Complete + sniff: upload 1 MB images (not timed), then time each POST /files/{id}/complete.
  const image = await noisePng(imageBytes);
  ctx.log(`files: uploading ${imageCount} images of ${image.length} bytes, ${concurrency} at a time`);
  const tickets = await pool(
    Array.from({ length: imageCount }, (_, i) => i),
    concurrency,
    async () => {
      const ticket = await api<Ticket>(
        base,
        'POST',
        '/files/upload-url',
        { name: 'photo.png', content_type: 'image/png', kind: 'image', size: image.length },
        user.token,
      );
      const url = new URL(ticket.upload.url, base);
      const put = await fetch(url, { method: 'PUT', headers: ticket.upload.headers, body: image });
      if (!put.ok) throw new Error(`PUT ${url.pathname}: ${put.status}`);
      return ticket.file.id;
    },
  );
  ctx.log(`files: completing ${imageCount} uploads, ${concurrency} at a time`);
  const completeLatency = new Histogram();
  await meter.reset();
  const completeStart = performance.now();
  await pool(tickets, concurrency, async (id) => {
    const started = performance.now();
    await api(base, 'POST', `/files/${id}/complete`, {}, user.token);
    completeLatency.record((performance.now() - started) * 1000);
  });
  const completeS = (performance.now() - completeStart) / 1000;
  const completeCpu = await meter.read();

  // 3. Thumbnails: each complete enqueued a job; time until every file has its thumbnail.
  const deadline = Date.now() + 120_000;
  let waiting = [...tickets];
  while (waiting.length > 0 && Date.now() < deadline) {
    const states = await pool(waiting, 8, (id) =>
      api<FileState>(base, 'GET', `/files/${id}`, undefined, user.token),
    );
    waiting = waiting.filter((_, i) => !states[i]?.thumbnail_url);
    if (waiting.length > 0) await sleep(100);
  }
  const thumbnailsS = (performance.now() - completeStart) / 1000;
  const thumbnailsMade = tickets.length - waiting.length;
  const thumbnailCpu = await meter.read();

  const complete = completeLatency.summary();
  const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
  return {
    parameters: {
      rate,
      duration_s: durationS,
      warmup_s: warmupS,
      images: imageCount,
      image_bytes: image.length,
      concurrency,
    },
    figures: {
      signing: { ...signed, server_cores_busy: signingCpu.cores_busy },
      complete: {
        latency: complete,
        per_s: round(imageCount / completeS),
        server_cores_busy: completeCpu.cores_busy,
      },
      thumbnails: {
        made: thumbnailsMade,
        missing: waiting.length,
        seconds_from_first_complete: round(thumbnailsS, 2),
        per_s: round(thumbnailsMade / thumbnailsS),
        server_cores_busy: thumbnailCpu.cores_busy,
      },
    },
    headline: {
      'sign p50 ms': signed.latency.p50_ms,
      'sign p95 ms': signed.latency.p95_ms,
      'sign p99 ms': signed.latency.p99_ms,
      'signed/s': signed.served_per_s,
      'sign non-2xx + errors': signed.non_2xx + signed.errors + signed.timeouts + signed.dropped,
      'complete 1 MB p50 ms': complete.p50_ms,
      'complete 1 MB p95 ms': complete.p95_ms,
      'completes/s': round(imageCount / completeS),
      'thumbnails/s': round(thumbnailsMade / thumbnailsS),
      'thumbnails missing': waiting.length,
    },
  };
}
