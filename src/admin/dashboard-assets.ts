// The dashboard's static files on the admin listener: GET / answers dashboard/dist/index.html and
// GET /assets/<name> one of the content-hashed files esbuild wrote beside it (dashboard/build.mjs).
// The files hold no data, so anyone may fetch them; every datum comes from /api/, behind the admin
// credential. Only names found in dist/assets when the files are loaded are served, so no request
// path ever reaches the file system.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { problemReply } from './replies.ts';
import type { AdminReply } from './replies.ts';

/** Where `npm run build:dashboard` writes the dashboard, relative to this module. */
export const DEFAULT_DASHBOARD_DIST = join(import.meta.dirname, '..', '..', 'dashboard', 'dist');

export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const ASSETS_PREFIX = '/assets/';
/** A hashed asset never changes under its name. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
const TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': DASHBOARD_CSP,
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

interface LoadedDist {
  index: string;
  /** index.html's mtime when read: a rebuild (new asset names) is picked up at the next visit to `/`. */
  indexMtimeMs: number;
  assets: ReadonlyMap<string, { contentType: string; body: string }>;
}

export interface DashboardAssets {
  /** The answer for a dashboard path (`/`, `/index.html`, `/assets/...`); undefined for every other path. */
  answer(method: string, path: string, requestId: string): AdminReply | undefined;
}

function mtimeOf(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot === -1 ? '' : name.slice(dot);
}

/** The built files, or undefined when index.html is not there (the dashboard was never built). */
function loadDist(dist: string): LoadedDist | undefined {
  const indexPath = join(dist, 'index.html');
  const indexMtimeMs = mtimeOf(indexPath);
  if (indexMtimeMs === undefined) return undefined;
  const assets = new Map<string, { contentType: string; body: string }>();
  const dir = join(dist, 'assets');
  const entries = existsSync(dir) ? readdirSync(dir, { withFileTypes: true }) : [];
  for (const entry of entries) {
    const contentType = TYPES[extensionOf(entry.name)];
    if (!entry.isFile() || contentType === undefined) continue;
    assets.set(entry.name, { contentType, body: readFileSync(join(dir, entry.name), 'utf8') });
  }
  return { index: readFileSync(indexPath, 'utf8'), indexMtimeMs, assets };
}

function notBuilt(dist: string): AdminReply {
  const body = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8"><title>Cortex dashboard not built</title></head><body>',
    '<h1>The Cortex dashboard is not built</h1>',
    `<p>Run <code>npm run build:dashboard</code> in the Cortex checkout, then reload this page (code <code>admin.dashboard_not_built</code>).</p>`,
    `<p>Looked for <code>${escapeHtml(join(dist, 'index.html'))}</code>. The admin API under <code>/api/</code> works without it.</p>`,
    '</body></html>',
  ].join('\n');
  return { status: 503, contentType: 'text/html; charset=utf-8', body, headers: { ...SECURITY_HEADERS, 'cache-control': 'no-store' } };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function createDashboardAssets(dist: string = DEFAULT_DASHBOARD_DIST): DashboardAssets {
  let loaded = loadDist(dist);
  /** The files as last loaded; reloaded when index.html appeared or changed (checked on visits to `/` only). */
  function current(isIndex: boolean): LoadedDist | undefined {
    if (loaded === undefined || (isIndex && mtimeOf(join(dist, 'index.html')) !== loaded.indexMtimeMs)) loaded = loadDist(dist);
    return loaded;
  }
  return {
    answer(method, path, requestId) {
      const isIndex = path === '/' || path === '/index.html';
      if (!isIndex && !path.startsWith(ASSETS_PREFIX)) return undefined;
      if (method !== 'GET' && method !== 'HEAD') {
        return problemReply('admin.method_not_allowed', requestId, `${method} is not allowed on ${path}.`, { allow: 'GET, HEAD' });
      }
      const files = current(isIndex);
      if (isIndex) {
        if (files === undefined) return notBuilt(dist);
        return { status: 200, contentType: 'text/html; charset=utf-8', body: files.index, headers: { ...SECURITY_HEADERS, 'cache-control': 'no-store' } };
      }
      const asset = files?.assets.get(path.slice(ASSETS_PREFIX.length));
      if (asset === undefined) return { ...problemReply('admin.not_found', requestId, `No dashboard asset at ${path}.`), headers: { ...SECURITY_HEADERS } };
      return { status: 200, contentType: asset.contentType, body: asset.body, headers: { ...SECURITY_HEADERS, 'cache-control': IMMUTABLE } };
    },
  };
}
