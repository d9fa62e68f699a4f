// The logged-in user (GET /api/me), the public app config (GET /api/config), and
// what the user may do. useSession() re-renders on login / logout.
import { useEffect, useState } from 'preact/hooks';
import { api, getToken, setToken, setUnauthorizedHandler } from './api';
import { navigate } from './router';

export type EntityRole = 'ACCOUNTANT' | 'SUPERVISOR';
export interface EntityRef {
  id: string;
  code: string;
  name: string;
}
export interface Me {
  id: string;
  username: string;
  displayName: string;
  groupRole: 'HQ_FINANCE' | 'ADMIN' | null;
  memberships: Array<{ entity: EntityRef; role: EntityRole }>;
}
export interface AppConfig {
  demoMode: boolean;
  temporalUiUrl: string;
  temporalNamespace: string;
  /** red / amber thresholds of the user's group (exact decimals), if the user has a group */
  thresholds: { red: string; amber: string; currency: string } | null;
  /** entities of the user's group(s) */
  entities: Array<EntityRef & { kind: string }>;
}
export interface Session {
  user: Me;
  config: AppConfig;
}

let session: Session | null = null;
let loading = false;
const listeners = new Set<() => void>();
const emit = () => listeners.forEach((fn) => fn());

setUnauthorizedHandler(() => {
  session = null;
  emit();
  navigate('/login');
});

/** Loads the user and config if a token is stored; resolves to the session or null. */
export async function restore(): Promise<Session | null> {
  if (!getToken()) return null;
  loading = true;
  emit();
  try {
    const [user, config] = await Promise.all([api<Me>('GET', '/api/me'), api<AppConfig>('GET', '/api/config')]);
    session = { user, config };
    return session;
  } catch {
    session = null;
    return null;
  } finally {
    loading = false;
    emit();
  }
}

export async function login(username: string, password: string): Promise<Session> {
  const r = await api<{ token: string; user: Me }>('POST', '/api/auth/login', { username, password }, { noLogout: true });
  setToken(r.token);
  const config = await api<AppConfig>('GET', '/api/config');
  session = { user: r.user, config };
  emit();
  return session;
}

export function logout(): void {
  setToken(null);
  session = null;
  emit();
  navigate('/login');
}

export function getSession(): Session | null {
  return session;
}

/** The session (null when logged out) and whether it is being loaded. */
export function useSession(): { session: Session | null; loading: boolean } {
  const [, tick] = useState(0);
  useEffect(() => {
    const fn = () => tick((n) => n + 1);
    listeners.add(fn);
    return () => void listeners.delete(fn);
  }, []);
  return { session, loading };
}

// ---- what the user may do -----------------------------------------------------

export const isHq = (s: Session | null): boolean => !!s && (s.user.groupRole === 'HQ_FINANCE' || s.user.groupRole === 'ADMIN');
export const isHqFinance = (s: Session | null): boolean => s?.user.groupRole === 'HQ_FINANCE';
/** entities where the user has the role (any role if omitted) */
export const entitiesOf = (s: Session | null, role?: EntityRole): EntityRef[] =>
  s ? s.user.memberships.filter((m) => !role || m.role === role).map((m) => m.entity) : [];
export const memberOf = (s: Session | null, entityId: string, role?: EntityRole): boolean =>
  !!s && s.user.memberships.some((m) => m.entity.id === entityId && (!role || m.role === role));

export type Capability = 'createTransfer' | 'import' | 'hq' | 'arbitrate';
/** Coarse permissions for navigation; per-transfer actions come from GET /api/transfers/:id/actions. */
export function can(s: Session | null, what: Capability): boolean {
  switch (what) {
    case 'createTransfer':
    case 'import':
      return entitiesOf(s, 'ACCOUNTANT').length > 0;
    case 'hq':
      return isHq(s);
    case 'arbitrate':
      return isHqFinance(s);
  }
}
