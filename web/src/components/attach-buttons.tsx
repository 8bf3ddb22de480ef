// Beside the composer: attach files (images, documents, audio), record a voice note where the browser can,
// and start a poll.
import { useEffect, useRef, useState } from 'preact/hooks';
import { store } from '../store.ts';

const canRecord = () =>
  typeof MediaRecorder !== 'undefined' &&
  typeof navigator !== 'undefined' &&
  !!navigator.mediaDevices?.getUserMedia;

export function AttachButtons({ id, onPoll }: { id: string; onPoll: () => void }) {
  const input = useRef<HTMLInputElement>(null);
  const send = (files: FileList | null) => {
    for (const file of files ?? []) void store.sendFile(id, file, file.name);
    if (input.current) input.current.value = '';
  };
  return (
    <div class="attach">
      <input
        ref={input}
        type="file"
        multiple
        class="visually-hidden"
        tabIndex={-1}
        aria-label="Files to send"
        onChange={(e) => send((e.currentTarget as HTMLInputElement).files)}
      />
      <button type="button" title="Attach files" onClick={() => input.current?.click()}>
        Attach<span class="visually-hidden"> files</span>
      </button>
      {canRecord() && <VoiceRecorder id={id} />}
      <button type="button" title="New poll" onClick={onPoll}>
        <span class="visually-hidden">New </span>Poll
      </button>
    </div>
  );
}

/** Hold nothing: one click starts, the next stops and sends (Ogg/Opus or WebM/Opus, as the browser records). */
function VoiceRecorder({ id }: { id: string }) {
  const [recording, setRecording] = useState<MediaRecorder | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(
    () => () => {
      for (const track of recording?.stream.getTracks() ?? []) track.stop();
    },
    [recording],
  );
  const start = async () => {
    setError(null);
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      const type = ['audio/ogg;codecs=opus', 'audio/webm;codecs=opus'].find((t) =>
        MediaRecorder.isTypeSupported(t),
      );
      const recorder = new MediaRecorder(stream, type ? { mimeType: type } : {});
      const chunks: Blob[] = [];
      recorder.ondataavailable = (e) => chunks.push(e.data);
      recorder.onstop = () => {
        for (const track of stream.getTracks()) track.stop();
        const mime = (recorder.mimeType || 'audio/webm').split(';')[0]!;
        const blob = new Blob(chunks, { type: mime });
        if (blob.size > 0)
          void store.sendFile(id, blob, `voice-note.${mime === 'audio/ogg' ? 'ogg' : 'webm'}`);
      };
      recorder.start();
      setRecording(recorder);
    } catch {
      setError('The microphone is not available');
    }
  };
  const stop = () => {
    recording?.stop();
    setRecording(null);
  };
  return (
    <>
      <button
        type="button"
        aria-pressed={recording !== null}
        title={recording ? 'Stop and send the voice note' : 'Record a voice note'}
        class={recording ? 'recording' : ''}
        onClick={() => void (recording ? stop() : start())}
      >
        {recording ? 'Stop' : 'Voice'}
        <span class="visually-hidden">{recording ? ' and send voice note' : ' note'}</span>
      </button>
      {error && (
        <span role="alert" class="error small">
          {error}
        </span>
      )}
    </>
  );
}
