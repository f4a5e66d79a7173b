// The signed-in frame: the left navigation, who is signed in, sign-out, and the current view.
import { sendJson } from './api.ts';
import { useRoute } from './router.ts';
import type { Route } from './router.ts';
import type { WhoAmI } from './types.ts';
import { Explainer } from './views/explainer.tsx';
import { LiveFeed } from './views/feed.tsx';
import { Overview } from './views/overview.tsx';
import { PersonPage } from './views/person.tsx';
import { RoutesView } from './views/routes.tsx';

const NAV: { id: string; href: string; label: string; views: Route['view'][] }[] = [
  { id: 'nav-feed', href: '#/', label: 'Live feed', views: ['feed', 'person'] },
  { id: 'nav-routes', href: '#/routes', label: 'Routes & intents', views: ['routes'] },
  { id: 'nav-overview', href: '#/overview', label: 'Overview', views: ['overview'] },
  { id: 'nav-explain', href: '#/explain', label: 'Explain a decision', views: ['explain'] },
];

function whoText(whoami: WhoAmI): string {
  const who = whoami.who;
  if (who === null || who.subject === 'admin-token') return 'admin token';
  const shown = [who.name, who.username].find((v) => typeof v === 'string' && v !== '') ?? who.subject;
  return shown === who.subject ? who.subject : `${shown} (${who.subject})`;
}

async function signOut(): Promise<void> {
  try {
    await sendJson('DELETE', '/api/session', undefined, { quiet401: true });
  } finally {
    location.hash = '#/';
    location.reload();
  }
}

function View({ route }: { route: Route }) {
  switch (route.view) {
    case 'feed':
      return <LiveFeed />;
    case 'person':
      return <PersonPage key={route.user} user={route.user} />;
    case 'routes':
      return <RoutesView />;
    case 'overview':
      return <Overview />;
    case 'explain':
      return <Explainer />;
  }
}

export function Shell({ whoami }: { whoami: WhoAmI }) {
  const route = useRoute();
  return (
    <div class="layout">
      <aside class="sidebar">
        <div class="sidebar-inner">
        <div class="brand">
          <span class="brand-mark" aria-hidden="true" />
          <span>Cortex</span>
          <span class="brand-sub">admin</span>
        </div>
        <nav>
          {NAV.map((item) => (
            <a key={item.id} data-testid={item.id} href={item.href} class={item.views.includes(route.view) ? 'active' : undefined}>
              {item.label}
            </a>
          ))}
        </nav>
        <div class="session">
          <div class="session-label">Signed in as</div>
          <div class="session-who" data-testid="whoami">
            {whoText(whoami)}
          </div>
          <div class="session-via">via {whoami.via === 'login' ? 'single sign-on' : whoami.via === 'token' ? 'bearer token' : 'admin session'}</div>
          <button type="button" class="button ghost" data-testid="logout" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
        </div>
      </aside>
      <main class="content">
        <View route={route} />
      </main>
    </div>
  );
}
