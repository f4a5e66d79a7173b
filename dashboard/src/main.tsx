// The dashboard's entry: find out whether this browser holds the admin credential (GET /api/whoami),
// then show the login view or the app with its hash routes.
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, getJson, setUnauthorizedHandler } from './api.ts';
import { Shell } from './shell.tsx';
import type { WhoAmI } from './types.ts';
import { Login } from './views/login.tsx';

type AuthState = { state: 'checking' } | { state: 'login' } | { state: 'in'; whoami: WhoAmI } | { state: 'error'; message: string };

/**
 * Who this browser is to the admin API. A listener without /api/whoami (404) is asked for
 * /api/status instead, which answers only with the admin credential.
 */
async function checkCredential(): Promise<AuthState> {
  try {
    return { state: 'in', whoami: await getJson<WhoAmI>('/api/whoami', { quiet401: true }) };
  } catch (err) {
    if (!(err instanceof ApiError)) return { state: 'error', message: String(err) };
    if (err.status === 401) return { state: 'login' };
    if (err.status !== 404) return { state: 'error', message: err.message };
  }
  try {
    await getJson('/api/status', { quiet401: true });
    return { state: 'in', whoami: { via: 'session', who: null } };
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return { state: 'login' };
    return { state: 'error', message: String(err) };
  }
}

function App() {
  const [auth, setAuth] = useState<AuthState>({ state: 'checking' });
  useEffect(() => {
    setUnauthorizedHandler(() => setAuth({ state: 'login' }));
    void checkCredential().then(setAuth);
  }, []);
  switch (auth.state) {
    case 'checking':
      return <div class="splash">Connecting to Cortex…</div>;
    case 'login':
      return <Login />;
    case 'error':
      return <div class="splash error">The admin API did not answer: {auth.message}</div>;
    case 'in':
      return <Shell whoami={auth.whoami} />;
  }
}

const root = document.getElementById('app');
if (root !== null) render(<App />, root);
