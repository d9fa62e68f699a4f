// A hash router: URLs look like /#/transfers/<id>?tab=x, so deep links (robot
// messages) work with a plain static index.html. Routes are declared in
// web/src/routes.tsx; patterns use ":name" segments.
import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { Session } from './session';

export interface RouteProps {
  params: Record<string, string>;
  query: URLSearchParams;
}

export interface RouteDef {
  /** e.g. '/transfers/:id' */
  path: string;
  component: ComponentType<RouteProps>;
  /** shown in the navigation when set: an i18n key */
  nav?: string;
  /** who may open it (and see its nav item); default: any logged-in user */
  allow?: (s: Session) => boolean;
  /** reachable without logging in (the login page) */
  public?: boolean;
  /** a hook returning a count shown as a badge on the nav item (e.g. new tasks) */
  useBadge?: () => number;
}

export interface Location {
  path: string;
  query: URLSearchParams;
}

function current(): Location {
  const raw = window.location.hash.replace(/^#/, '') || '/';
  const [path, qs] = raw.split('?', 2);
  return { path: path || '/', query: new URLSearchParams(qs ?? '') };
}

/** Go to an app path, e.g. navigate('/transfers/123'). */
export function navigate(path: string, opts: { replace?: boolean } = {}): void {
  const hash = `#${path}`;
  if (opts.replace) window.location.replace(hash);
  else window.location.hash = hash;
}

/** The current location; re-renders on change. */
export function useLocation(): Location {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const on = () => setLoc(current());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return loc;
}

/** Matches a path against a pattern; returns the params or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split('/').filter(Boolean);
  const s = path.split('/').filter(Boolean);
  if (p.length !== s.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i].startsWith(':')) params[p[i].slice(1)] = decodeURIComponent(s[i]);
    else if (p[i] !== s[i]) return null;
  }
  return params;
}

export function findRoute(routes: RouteDef[], path: string): { route: RouteDef; params: Record<string, string> } | null {
  for (const route of routes) {
    const params = match(route.path, path);
    if (params) return { route, params };
  }
  return null;
}

/** A link inside the app (keeps keyboard and middle-click behaviour: it is a real <a>). */
export function Link(props: { to: string; class?: string; children?: preact.ComponentChildren; 'aria-current'?: 'page' | undefined; onClick?: () => void }) {
  return (
    <a href={`#${props.to}`} class={props.class} aria-current={props['aria-current']} onClick={props.onClick}>
      {props.children}
    </a>
  );
}
