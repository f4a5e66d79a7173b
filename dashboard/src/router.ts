// Hash routes: #/ (live feed), #/people/<user>, #/routes, #/overview, #/explain.
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { view: 'feed' }
  | { view: 'person'; user: string }
  | { view: 'routes' }
  | { view: 'overview' }
  | { view: 'explain' };

export function parseHash(hash: string): Route {
  const path = hash.replace(/^#/, '') || '/';
  const person = /^\/people\/(.+)$/.exec(path);
  if (person !== null) {
    try {
      return { view: 'person', user: decodeURIComponent(person[1] ?? '') };
    } catch {
      return { view: 'feed' };
    }
  }
  if (path === '/routes') return { view: 'routes' };
  if (path === '/overview') return { view: 'overview' };
  if (path === '/explain') return { view: 'explain' };
  return { view: 'feed' };
}

export function personHref(user: string): string {
  return `#/people/${encodeURIComponent(user)}`;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const onChange = (): void => setRoute(parseHash(location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
