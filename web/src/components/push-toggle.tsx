// Push notifications for this browser: on (service worker, subscription, device registered) or off.
import { useState } from 'preact/hooks';
import { disablePush, enablePush, pushDeviceId, pushSupported } from '../push.ts';

export function PushToggle() {
  const [on, setOn] = useState(() => pushDeviceId() !== null);
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<string | null>(null);
  if (!pushSupported()) return <p class="muted small">This browser cannot receive push notifications.</p>;
  const flip = async () => {
    setBusy(true);
    const error = on ? await disablePush() : await enablePush();
    setBusy(false);
    if (error) return setNote(error);
    setOn(!on);
    setNote(on ? 'Push notifications are off in this browser' : 'Push notifications are on in this browser');
  };
  return (
    <div class="stack">
      <div class="row between">
        <span>Push notifications in this browser: {on ? 'on' : 'off'}</span>
        <button type="button" disabled={busy} aria-pressed={on} onClick={() => void flip()}>
          {on ? 'Turn off' : 'Turn on'}
          <span class="visually-hidden"> push notifications in this browser</span>
        </button>
      </div>
      <p class="muted small" role="status">
        {note ?? ''}
      </p>
    </div>
  );
}
