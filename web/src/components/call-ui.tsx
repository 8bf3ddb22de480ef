// Calls on screen: the call buttons of a chat header, the incoming-call dialog (Accept / Decline), and the call bar
// (status, mute, hang up) with the other people's audio and video.
import { useEffect, useRef } from 'preact/hooks';
import { endText } from '../calls.ts';
import { store } from '../store.ts';
import { useDialog } from './use-dialog.ts';
import { useStore } from './util.ts';

export function CallButtons({ id, group }: { id: string; group: boolean }) {
  const s = useStore();
  // A group call started while this page was closed: look it up once, so it can be joined.
  useEffect(() => {
    if (group) void store.checkCall(id);
  }, [id, group]);
  const busy = s.calls?.state && s.calls.state.phase !== 'ended';
  if (!s.calls) return null;
  const joinable = s.calls.joinable(id);
  if (joinable)
    return (
      <button type="button" class="primary" onClick={() => void s.calls?.join(id)}>
        Join {joinable.media === 'video' ? 'video ' : ''}call
      </button>
    );
  return (
    <>
      <button type="button" disabled={!!busy} onClick={() => void s.calls?.start(id, 'audio')}>
        Call<span class="visually-hidden"> (audio)</span>
      </button>
      <button type="button" disabled={!!busy} onClick={() => void s.calls?.start(id, 'video')}>
        Video<span class="visually-hidden"> call</span>
      </button>
    </>
  );
}

function Media({ stream, video, muted }: { stream: MediaStream; video: boolean; muted?: boolean }) {
  const ref = useRef<HTMLMediaElement>(null);
  useEffect(() => {
    if (ref.current && ref.current.srcObject !== stream) ref.current.srcObject = stream;
  }, [stream]);
  return video ? (
    <video
      ref={ref as { current: HTMLVideoElement | null }}
      autoPlay
      playsInline
      muted={muted}
      class="call-video"
    />
  ) : (
    <audio ref={ref as { current: HTMLAudioElement | null }} autoPlay muted={muted} />
  );
}

export function CallLayer() {
  const s = useStore();
  const state = s.calls?.state;
  if (!state || !s.calls) return null;
  const calls = s.calls;
  const c = s.conversations.get(state.call.conversation_id);
  const where = c ? s.title(c) : 'Call';
  const kind = state.call.media === 'video' ? 'video' : 'audio';
  if (state.phase === 'incoming')
    return (
      <IncomingCall
        title={`Incoming ${kind} call from ${store.userName(state.from)}`}
        where={c?.type === 'group' ? where : null}
        onDecline={() => void calls.decline()}
        onAccept={() => void calls.accept()}
      />
    );
  const connected = [...state.links.values()].some((l) => l === 'connected');
  const status =
    state.phase === 'calling'
      ? 'Calling…'
      : state.phase === 'active'
        ? connected
          ? 'Connected'
          : 'Connecting…'
        : (state.error ?? endText(state.endReason));
  return (
    <section class="call-bar" aria-label="Call">
      <div class="grow">
        <strong>
          {kind === 'video' ? 'Video call' : 'Call'} · {where}
        </strong>
        <p class="small" role="status">
          {status}
        </p>
      </div>
      <div class="call-media">
        {state.local && kind === 'video' && state.phase !== 'ended' && (
          <Media stream={state.local} video muted />
        )}
        {[...state.remote.entries()].map(([user, stream]) => (
          <Media key={user} stream={stream} video={kind === 'video'} />
        ))}
      </div>
      {state.phase === 'ended' ? (
        <button type="button" onClick={() => calls.dismiss()}>
          Close<span class="visually-hidden"> call</span>
        </button>
      ) : (
        <>
          {state.local && (
            <button type="button" aria-pressed={state.muted} onClick={() => calls.toggleMute()}>
              {state.muted ? 'Unmute' : 'Mute'}
              <span class="visually-hidden"> microphone</span>
            </button>
          )}
          <button type="button" class="danger" onClick={() => void calls.hangUp()}>
            Hang up
          </button>
        </>
      )}
    </section>
  );
}

/** The ringing dialog: focus stays in it, Escape declines. */
function IncomingCall(props: {
  title: string;
  where: string | null;
  onDecline: () => void;
  onAccept: () => void;
}) {
  const dialog = useDialog<HTMLDivElement>(props.onDecline, 'dialog');
  return (
    <div class="backdrop">
      <div
        ref={dialog}
        tabIndex={-1}
        class="card dialog"
        role="alertdialog"
        aria-modal="true"
        aria-labelledby="incoming-title"
      >
        <h2 id="incoming-title">{props.title}</h2>
        {props.where && <p class="muted">in {props.where}</p>}
        <div class="row">
          <button type="button" class="danger" onClick={props.onDecline}>
            Decline
          </button>
          <button type="button" class="primary" onClick={props.onAccept}>
            Accept
          </button>
        </div>
      </div>
    </div>
  );
}
