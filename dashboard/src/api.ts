// Calls to the admin API. The browser carries the admin credential as the cortex_admin cookie,
// so every call is same-origin; a 401 anywhere means the session ended and sends the app back to login.
export class ApiError extends Error {
  readonly status: number;
  readonly code: string | undefined;

  constructor(status: number, message: string, code?: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let onUnauthorized: () => void = () => {};

/** What the app does when a call answers 401 after sign-in (show the login view). */
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

async function failure(res: Response): Promise<ApiError> {
  let detail = `${res.status} ${res.statusText}`;
  let code: string | undefined;
  try {
    const body = (await res.json()) as { detail?: unknown; title?: unknown; code?: unknown };
    if (typeof body.detail === 'string') detail = body.detail;
    else if (typeof body.title === 'string') detail = body.title;
    if (typeof body.code === 'string') code = body.code;
  } catch {
    // not problem+json: keep the status line
  }
  return new ApiError(res.status, detail, code);
}

async function call<T>(path: string, init: RequestInit, quiet401: boolean): Promise<T> {
  const res = await fetch(path, { credentials: 'same-origin', ...init, headers: { accept: 'application/json', ...init.headers } });
  if (!res.ok) {
    if (res.status === 401 && !quiet401) onUnauthorized();
    throw await failure(res);
  }
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

export function getJson<T>(path: string, opts: { quiet401?: boolean } = {}): Promise<T> {
  return call<T>(path, { method: 'GET' }, opts.quiet401 === true);
}

export function sendJson<T>(method: 'POST' | 'DELETE', path: string, body?: unknown, opts: { quiet401?: boolean } = {}): Promise<T> {
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { 'content-type': 'application/json' };
  }
  return call<T>(path, init, opts.quiet401 === true);
}

/** A query string from the non-empty values. */
export function query(params: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== '' && value !== false) q.set(name, String(value));
  }
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
