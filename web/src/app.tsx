// The client's root: boot the session, follow the address bar and the network, then sign-in or the shell.
import { useEffect } from 'preact/hooks';
import { AuthScreen } from './components/auth-screen.tsx';
import { Shell } from './components/shell.tsx';
import { route, useStore } from './components/util.ts';

export function App() {
  const s = useStore();
  useEffect(() => {
    void s.boot().then(() => s.show(route()));
    const onPop = () => s.show(route());
    const offline = () => s.rt?.offline();
    const online = () => s.rt?.online();
    addEventListener('popstate', onPop);
    addEventListener('offline', offline);
    addEventListener('online', online);
    return () => {
      removeEventListener('popstate', onPop);
      removeEventListener('offline', offline);
      removeEventListener('online', online);
    };
  }, [s]);
  if (s.booting) return <p class="center">Loading…</p>;
  if (!s.me) return <AuthScreen />;
  return <Shell />;
}
