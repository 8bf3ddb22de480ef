// A voice note: play/pause, its waveform as 64 bars (the played part in the accent colour) that is also a slider
// to seek with the pointer or the arrow keys, and the elapsed and total time. A native <audio> without controls
// does the playing; a note without a waveform (older uploads) shows flat bars.
import type { Message } from '@tma/sdk';
import { useEffect, useRef, useState } from 'preact/hooks';

type Attachment = Message['attachments'][number];

const BARS = 64;
const FLAT = 48;
/** Arrow keys move by this share of the note. */
const STEP = 0.05;

/** The stored amplitudes (32-128 of them) spread over 64 bars; flat bars when there are none. */
function bars(waveform: number[] | null): number[] {
  if (!waveform?.length) return Array.from({ length: BARS }, () => FLAT);
  return Array.from({ length: BARS }, (_, i) => waveform[Math.floor((i * waveform.length) / BARS)] ?? 0);
}

export function clock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export function VoiceNote({ f, label }: { f: Attachment & { url: string }; label: string }) {
  const audio = useRef<HTMLAudioElement>(null);
  const [playing, setPlaying] = useState(false);
  const [time, setTime] = useState(0);
  const [mediaDuration, setMediaDuration] = useState(0);
  // The server's duration first: a recording in WebM often reports none (Infinity) until played through.
  const duration = f.duration_ms ? f.duration_ms / 1000 : mediaDuration;
  const played = duration > 0 ? Math.min(1, time / duration) : 0;
  const heights = bars(f.waveform);
  // Each fetch of the message signs a new URL: keep the one playing, take the newest while nothing is loaded or
  // when the one in use fails (expired).
  const [src, setSrc] = useState(f.url);
  useEffect(() => {
    if (!audio.current || audio.current.readyState === 0) setSrc(f.url);
  }, [f.url]);

  useEffect(() => () => audio.current?.pause(), []);

  const toggle = () => {
    const media = audio.current;
    if (!media) return;
    if (media.paused) void media.play().catch(() => setPlaying(false));
    else media.pause();
  };

  const seek = (share: number) => {
    const media = audio.current;
    if (!media || duration <= 0) return;
    const to = Math.max(0, Math.min(1, share)) * duration;
    setTime(to);
    if (media.readyState > 0) media.currentTime = to;
    else {
      // Not loaded yet (preload="none"): load, then move.
      media.addEventListener('loadedmetadata', () => (media.currentTime = to), { once: true });
      media.load();
    }
  };

  const onKey = (e: KeyboardEvent) => {
    const moves: Record<string, number> = {
      ArrowRight: played + STEP,
      ArrowUp: played + STEP,
      ArrowLeft: played - STEP,
      ArrowDown: played - STEP,
      PageUp: played + 2 * STEP,
      PageDown: played - 2 * STEP,
      Home: 0,
      End: 1,
    };
    const to = moves[e.key];
    if (to === undefined) return;
    e.preventDefault();
    seek(to);
  };

  const onPointer = (e: PointerEvent) => {
    const rect = (e.currentTarget as HTMLElement).getBoundingClientRect();
    if (rect.width > 0) seek((e.clientX - rect.left) / rect.width);
  };

  const lit = Math.round(played * BARS);
  return (
    <fieldset class="voice-note" aria-label={label}>
      {/* biome-ignore lint/a11y/useMediaCaption: a voice note has no transcript to offer */}
      <audio
        ref={audio}
        preload="none"
        src={src}
        aria-label={label}
        onError={() => {
          if (src !== f.url) setSrc(f.url);
        }}
        onPlay={() => setPlaying(true)}
        onPause={() => setPlaying(false)}
        onEnded={() => {
          setPlaying(false);
          setTime(0);
        }}
        onTimeUpdate={(e) => setTime((e.currentTarget as HTMLAudioElement).currentTime)}
        onLoadedMetadata={(e) => {
          const d = (e.currentTarget as HTMLAudioElement).duration;
          if (Number.isFinite(d)) setMediaDuration(d);
        }}
      />
      <button
        type="button"
        class="voice-play"
        aria-label={playing ? 'Pause voice note' : 'Play voice note'}
        onClick={toggle}
      >
        <span aria-hidden="true">{playing ? '❚❚' : '▶'}</span>
      </button>
      <div
        class="waveform"
        role="slider"
        tabIndex={0}
        aria-label="Position in the voice note"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(played * 100)}
        aria-valuetext={`${clock(time)} of ${clock(duration)}`}
        onPointerDown={onPointer}
        onKeyDown={onKey}
      >
        {heights.map((h, i) => (
          <span
            key={i}
            class={i < lit ? 'wave-bar played' : 'wave-bar'}
            style={{ height: `${Math.max(8, (h / 255) * 100)}%` }}
          />
        ))}
      </div>
      <span class="voice-time small muted">
        {clock(time)} / {clock(duration)}
      </span>
    </fieldset>
  );
}
