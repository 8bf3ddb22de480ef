// The signed-in layout: the sidebar (who you are, the connection, the list) and the main pane.
import { useState } from 'preact/hooks';
import { CallLayer } from './call-ui.tsx';
import { ChatView } from './chat-view.tsx';
import { ConversationList } from './conversation-list.tsx';
import { FriendsScreen } from './friends-screen.tsx';
import { NewChatDialog } from './new-chat-dialog.tsx';
import { SettingsScreen } from './settings-screen.tsx';
import { show, useStore } from './util.ts';

const STATE_TEXT = {
  connected: 'Connected',
  connecting: 'Connecting…',
  reconnecting: 'Reconnecting…',
  offline: 'Offline: messages will be sent when you are back online',
  closed: 'Disconnected',
} as const;

export function Shell() {
  const s = useStore();
  const [newChat, setNewChat] = useState(false);
  return (
    <div class="frame">
      <CallLayer />
      <div class={`shell ${s.activeId || s.screen ? 'has-chat' : ''}`}>
        <aside class="sidebar" aria-label="Conversations">
          <header class="bar">
            <strong class="me" title={s.me?.username}>
              {s.userName(s.me?.id)}
            </strong>
            <span class={`conn conn-${s.connection}`} role="status" aria-live="polite">
              {STATE_TEXT[s.connection]}
            </span>
            <nav class="nav" aria-label="Sections">
              <button
                type="button"
                aria-current={s.screen === 'friends' ? 'page' : undefined}
                onClick={() => show({ kind: 'friends' })}
              >
                Friends
                {s.incomingRequests > 0 && (
                  <span class="badge nav-badge">
                    {s.incomingRequests}
                    <span class="visually-hidden"> pending requests</span>
                  </span>
                )}
              </button>
              <button
                type="button"
                aria-current={s.screen === 'settings' ? 'page' : undefined}
                onClick={() => show({ kind: 'settings' })}
              >
                Settings
              </button>
            </nav>
          </header>
          <ConversationList onNew={() => setNewChat(true)} />
        </aside>
        <main class="main">
          {s.screen === 'friends' ? (
            <FriendsScreen />
          ) : s.screen === 'settings' ? (
            <SettingsScreen key={s.me?.id} />
          ) : s.activeId ? (
            <ChatView id={s.activeId} key={s.activeId} />
          ) : (
            <Empty />
          )}
        </main>
        {newChat && <NewChatDialog onClose={() => setNewChat(false)} />}
      </div>
    </div>
  );
}

function Empty() {
  return <p class="center muted">Pick a conversation, or start a new one.</p>;
}
