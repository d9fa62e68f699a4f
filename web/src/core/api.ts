// The one way the browser talks to the API: api<T>(method, path, body?, opts?).
// - attaches the user's token (the only secret the browser holds, in localStorage);
// - throws ApiError with a message in plain words (the API's message, or a translated
//   one for the common cases), the field details of a 400, the request id;
// - on 401 forgets the token and sends the user to the login page.
import { t } from './i18n';

const TOKEN_KEY = 'ic.token';

export function getToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}
export function setToken(token: string | null): void {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

export interface ApiErrorDetail {
  field: string;
  rule: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
    public code?: string,
    public details?: ApiErrorDetail[],
    /** what the server said, untranslated (for support) */
    public serverMessage?: string,
    public requestId?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
  /** the message of one field (400 details, or a 422 naming the field), if any */
  fieldMessage(field: string): string | undefined {
    const d = this.details?.find((x) => x.field === field);
    if (d) return d.message;
    if (this.serverMessage?.startsWith(`${field}: `)) return this.serverMessage.slice(field.length + 2);
    return undefined;
  }
}

let onUnauthorized: () => void = () => {};
/** session.ts registers what a 401 does (log out, route to login). */
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

export interface ApiOptions {
  signal?: AbortSignal;
  /** return the Response untouched (CSV downloads, streams) */
  raw?: boolean;
  /** do not log out on 401 (the login form itself) */
  noLogout?: boolean;
  headers?: Record<string, string>;
}

/** Plain words for an error body of the API. */
export function plainMessage(status: number, body: { message?: string; code?: string; requestId?: string } | null): string {
  const msg = body?.message ?? '';
  if (status === 0) return t('error.network');
  if (body?.code === 'PERIOD_FROZEN') {
    const period = /period (\S+)/.exec(msg)?.[1] ?? '';
    return t('error.periodFrozen', { period });
  }
  if (status === 401) return t('error.unauthorized');
  if (status === 429) return t('error.tooMany');
  if (status === 503) return t('error.unavailable');
  if (status >= 500) return t('error.server', { requestId: body?.requestId ?? '' });
  if (status === 404 && !msg) return t('error.notFound');
  return msg || t('error.generic', { status });
}

export async function api<T = unknown>(method: string, path: string, body?: unknown, opts: ApiOptions = {}): Promise<T> {
  const token = getToken();
  const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
  if (token) headers.authorization = `Bearer ${token}`;
  let payload: BodyInit | undefined;
  if (body !== undefined) {
    if (typeof body === 'string') {
      payload = body;
      headers['content-type'] ??= 'text/plain';
    } else {
      payload = JSON.stringify(body);
      headers['content-type'] = 'application/json';
    }
  }
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: payload, signal: opts.signal });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, plainMessage(0, null));
  }
  if (res.status === 401 && !opts.noLogout) {
    setToken(null);
    onUnauthorized();
  }
  if (!res.ok) {
    let parsed: { message?: string; code?: string; requestId?: string; details?: ApiErrorDetail[] } | null = null;
    try {
      parsed = await res.json();
    } catch {
      parsed = null;
    }
    throw new ApiError(res.status, plainMessage(res.status, parsed), parsed?.code, parsed?.details, parsed?.message, parsed?.requestId);
  }
  if (opts.raw) return res as unknown as T;
  if (res.status === 204) return undefined as T;
  const type = res.headers.get('content-type') ?? '';
  return (type.includes('json') ? await res.json() : await res.text()) as T;
}
