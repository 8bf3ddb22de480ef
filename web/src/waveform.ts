// The waveform of a voice note, computed in the browser before its upload completes (the server decodes only PCM
// WAV itself): the audio decoded, cut into 64 buckets, the peak of each scaled to 0-255 with the loudest bucket at
// 255. Loaded on demand (dynamic import) by the first voice note sent.

export const WAVEFORM_BARS = 64;
/** Below this peak (of 1.0 full scale) the recording counts as silence and is not scaled up. */
const SILENCE = 1 / 256;

/** 64 amplitudes 0-255, or null when the browser cannot decode the audio (the upload goes on without them). */
export async function computeWaveform(blob: Blob): Promise<number[] | null> {
  try {
    const Offline = globalThis.OfflineAudioContext;
    if (!Offline) return null;
    // Decoding resamples to the context's rate: 8 kHz is plenty for peaks and keeps the buffer small.
    const context = new Offline(1, 1, 8000);
    const audio = await context.decodeAudioData(await blob.arrayBuffer());
    const channels = Array.from({ length: audio.numberOfChannels }, (_, i) => audio.getChannelData(i));
    return peaks(channels, audio.length);
  } catch {
    return null;
  }
}

/** Peak per bucket across channels, normalised: the loudest bucket near 255, silence at 0. */
export function peaks(channels: Float32Array[], length: number, buckets = WAVEFORM_BARS): number[] | null {
  if (length < buckets || channels.length === 0) return null;
  const raw: number[] = [];
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor((b * length) / buckets);
    const to = Math.floor(((b + 1) * length) / buckets);
    let peak = 0;
    for (const data of channels)
      for (let i = from; i < to; i++) {
        const v = Math.abs(data[i]!);
        if (v > peak) peak = v;
      }
    raw.push(peak);
  }
  const loudest = Math.max(...raw);
  const scale = loudest < SILENCE ? 255 : 255 / loudest;
  return raw.map((p) => Math.min(255, Math.round(p * scale)));
}
