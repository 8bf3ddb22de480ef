// Profile, privacy and notification settings (PATCH /users/me), and sign out.
import type { CurrentUser } from '@tma/sdk';
import { useState } from 'preact/hooks';
import { avatarFileId, uploadAvatar } from '../avatars.ts';
import { store } from '../store.ts';
import { Avatar } from './avatar.tsx';
import { BackButton } from './back-button.tsx';
import { PushToggle } from './push-toggle.tsx';
import { useStore } from './util.ts';

type Settings = CurrentUser['settings'];
type Notifications = Settings['notifications'];

interface Draft {
  display_name: string;
  position: string;
  avatar_url: string;
  privacy: Settings['privacy'];
  notifications: Notifications;
}

function draftOf(me: CurrentUser): Draft {
  return {
    display_name: me.display_name ?? '',
    position: me.position ?? '',
    avatar_url: me.avatar_url ?? '',
    privacy: { ...me.settings.privacy },
    notifications: { ...me.settings.notifications },
  };
}

const NOTIFICATION_OPTIONS: Array<[keyof Omit<Notifications, 'quiet_hours'>, string]> = [
  ['enabled', 'Notifications on'],
  ['sound', 'Play a sound'],
  ['preview', 'Show message text in notifications'],
  ['mentions_only', 'Only when I am mentioned'],
  ['mentions_override_mute', 'Mentions notify me in muted chats'],
  ['email_digest', 'E-mail me a digest of what I missed'],
];

const value = (e: Event) => (e.currentTarget as HTMLInputElement).value;
const checked = (e: Event) => (e.currentTarget as HTMLInputElement).checked;

export function SettingsScreen() {
  const s = useStore();
  const me = s.me!;
  const [draft, setDraft] = useState<Draft>(() => draftOf(me));
  const [status, setStatus] = useState<{ text: string; error: boolean } | null>(null);
  const [busy, setBusy] = useState<false | 'save' | 'picture'>(false);
  const set = (patch: Partial<Draft>) => {
    setDraft({ ...draft, ...patch });
    setStatus(null);
  };
  const privacy = (patch: Partial<Settings['privacy']>) => set({ privacy: { ...draft.privacy, ...patch } });
  const notify = (patch: Partial<Notifications>) =>
    set({ notifications: { ...draft.notifications, ...patch } });
  const quiet = draft.notifications.quiet_hours;

  const save = async (event: Event) => {
    event.preventDefault();
    setBusy('save');
    const error = await store.updateMe({
      display_name: draft.display_name.trim() || null,
      position: draft.position.trim() || null,
      avatar_url: draft.avatar_url.trim() || null,
      privacy: draft.privacy,
      notifications: draft.notifications,
    });
    setBusy(false);
    setStatus(error ? { text: error, error: true } : { text: 'Settings saved', error: false });
    if (!error && store.me) setDraft(draftOf(store.me));
  };

  // A picture is saved at once (upload, then PATCH /users/me); the rest of the draft stays as typed.
  const avatarChanged = (error: string | null, done: string) => {
    setBusy(false);
    setStatus(error ? { text: error, error: true } : { text: done, error: false });
    if (!error) setDraft((d) => ({ ...d, avatar_url: store.me?.avatar_url ?? '' }));
  };
  const picture = async (input: HTMLInputElement) => {
    const file = input.files?.[0];
    input.value = '';
    if (!file) return;
    setBusy('picture');
    avatarChanged(await uploadAvatar(file), 'Picture saved');
  };
  const removePicture = async () => {
    setBusy('picture');
    avatarChanged(await store.updateMe({ avatar_url: null }), 'Picture removed');
  };

  return (
    <section class="screen" aria-labelledby="settings-title">
      <header class="bar">
        <BackButton />
        <h2 id="settings-title" class="grow">
          Settings
        </h2>
      </header>
      <form class="screen-body settings" onSubmit={save}>
        <fieldset>
          <legend>Profile</legend>
          <p class="muted small">Signed in as @{me.username}</p>
          <div class="avatar-edit">
            <Avatar id={me.id} name={me.display_name ?? me.username} url={me.avatar_url} size="large" />
            <label class="button">
              {busy === 'picture' ? 'Uploading…' : 'Upload picture'}
              <input
                type="file"
                class="visually-hidden"
                accept="image/jpeg,image/png,image/webp,image/gif,image/avif"
                disabled={busy !== false}
                onChange={(e) => void picture(e.currentTarget as HTMLInputElement)}
              />
            </label>
            {me.avatar_url && (
              <button type="button" disabled={busy !== false} onClick={() => void removePicture()}>
                Remove picture
              </button>
            )}
          </div>
          <label>
            Display name
            <input
              value={draft.display_name}
              maxLength={100}
              onInput={(e) => set({ display_name: value(e) })}
            />
          </label>
          <label>
            Position
            <input value={draft.position} maxLength={100} onInput={(e) => set({ position: value(e) })} />
          </label>
          <label>
            Avatar address
            <input
              type="url"
              value={avatarFileId(draft.avatar_url) ? '' : draft.avatar_url}
              maxLength={2048}
              placeholder="https://…"
              onInput={(e) => set({ avatar_url: value(e) })}
            />
          </label>
        </fieldset>

        <fieldset>
          <legend>Privacy</legend>
          <label>
            Who sees when I was last online
            <select
              value={draft.privacy.last_seen}
              onChange={(e) =>
                privacy({
                  last_seen: (e.currentTarget as HTMLSelectElement).value as Draft['privacy']['last_seen'],
                })
              }
            >
              <option value="everyone">Everyone</option>
              <option value="contacts">My contacts</option>
              <option value="nobody">Nobody</option>
            </select>
          </label>
          <label class="check">
            <input
              type="checkbox"
              checked={draft.privacy.online}
              onChange={(e) => privacy({ online: checked(e) })}
            />
            Show when I am online
          </label>
          <label class="check">
            <input
              type="checkbox"
              checked={draft.privacy.read_receipts}
              onChange={(e) => privacy({ read_receipts: checked(e) })}
            />
            Send read receipts
          </label>
        </fieldset>

        <fieldset>
          <legend>Notifications</legend>
          <PushToggle />
          {NOTIFICATION_OPTIONS.map(([key, label]) => (
            <label class="check" key={key}>
              <input
                type="checkbox"
                checked={draft.notifications[key]}
                onChange={(e) => notify({ [key]: checked(e) })}
              />
              {label}
            </label>
          ))}
          <label class="check">
            <input
              type="checkbox"
              checked={quiet !== null}
              onChange={(e) =>
                notify({
                  quiet_hours: checked(e)
                    ? { from: '22:00', to: '07:00', tz: Intl.DateTimeFormat().resolvedOptions().timeZone }
                    : null,
                })
              }
            />
            Quiet hours
          </label>
          {quiet && (
            <div class="row">
              <label class="grow">
                From
                <input
                  type="time"
                  value={quiet.from}
                  required
                  onInput={(e) => notify({ quiet_hours: { ...quiet, from: value(e) } })}
                />
              </label>
              <label class="grow">
                To
                <input
                  type="time"
                  value={quiet.to}
                  required
                  onInput={(e) => notify({ quiet_hours: { ...quiet, to: value(e) } })}
                />
              </label>
            </div>
          )}
        </fieldset>

        <p role="status" class={status?.error ? 'error' : 'muted small'}>
          {status?.text ?? ''}
        </p>
        <div class="row">
          <button type="submit" class="primary" disabled={busy !== false}>
            Save settings
          </button>
          <span class="grow" />
          <button type="button" onClick={() => void s.signOut()}>
            Sign out
          </button>
        </div>
      </form>
    </section>
  );
}
