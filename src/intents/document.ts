// Fetching an upstream's OpenAPI 3 document (a file, or a GET on its URL) and reading its paths
// into operations with intents. Results, not exceptions: a failed fetch keeps the last good document.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { request } from 'undici';
import { parse as parseYaml } from 'yaml';
import { pathTemplate } from '../config/schema-route.ts';
import { mapIntent } from './mapping.ts';
import type { ApiDocument, FetchResult, ImportedApiConfig, ImportedOperation, OperationMethod } from './types.ts';

export const MAX_DOCUMENT_BYTES = 5 * 1024 * 1024;
const METHODS: readonly OperationMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

type Bytes = { ok: true; bytes: Buffer } | { ok: false; problem: string };

async function readSpecFile(file: string): Promise<Bytes> {
  try {
    const bytes = await readFile(resolve(file));
    if (bytes.length > MAX_DOCUMENT_BYTES) return { ok: false, problem: `${file} is larger than ${MAX_DOCUMENT_BYTES} bytes` };
    return { ok: true, bytes };
  } catch (err) {
    return { ok: false, problem: `${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
  }
}

async function getSpecUrl(url: string, timeoutMs: number, signal: AbortSignal | undefined): Promise<Bytes> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const res = await request(url, {
      method: 'GET',
      headers: { accept: 'application/json, application/yaml;q=0.9, */*;q=0.5' },
      signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    if (res.statusCode < 200 || res.statusCode > 299) {
      res.body.on('error', () => {});
      res.body.destroy();
      return { ok: false, problem: `GET ${url} answered ${res.statusCode}` };
    }
    const declared = Number(res.headers['content-length']);
    const chunks: Buffer[] = [];
    let size = 0;
    const tooLarge: Bytes = { ok: false, problem: `GET ${url}: the document is larger than ${MAX_DOCUMENT_BYTES} bytes` };
    if (Number.isFinite(declared) && declared > MAX_DOCUMENT_BYTES) {
      res.body.on('error', () => {});
      res.body.destroy();
      return tooLarge;
    }
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_DOCUMENT_BYTES) {
        res.body.destroy();
        return tooLarge;
      }
      chunks.push(chunk as Buffer);
    }
    return { ok: true, bytes: Buffer.concat(chunks) };
  } catch (err) {
    if (timeout.aborted) return { ok: false, problem: `GET ${url}: no answer within ${timeoutMs} ms` };
    return { ok: false, problem: `GET ${url} failed (${(err as Error).message})` };
  }
}

function parseDocument(text: string): { ok: true; spec: unknown } | { ok: false; problem: string } {
  // JSON is YAML, but JSON.parse is faster and exact for the common case.
  if (text.trimStart().startsWith('{')) {
    try {
      return { ok: true, spec: JSON.parse(text) };
    } catch {
      // A YAML flow mapping: read below.
    }
  }
  try {
    return { ok: true, spec: parseYaml(text, { maxAliasCount: 100 }) };
  } catch (err) {
    return { ok: false, problem: `not JSON or YAML (${(err as Error).message.split('\n')[0]})` };
  }
}

export async function fetchApiDocument(api: string, cfg: ImportedApiConfig, opts: { signal?: AbortSignal; now?: number } = {}): Promise<FetchResult> {
  const source = cfg.spec.file ?? cfg.spec.url ?? '';
  const got = cfg.spec.file !== undefined ? await readSpecFile(cfg.spec.file) : await getSpecUrl(source, cfg.fetchTimeoutMs, opts.signal);
  if (!got.ok) return { ok: false, problem: `apis.${api}: ${got.problem}` };
  const parsed = parseDocument(got.bytes.toString('utf8'));
  if (!parsed.ok) return { ok: false, problem: `apis.${api}: ${source} is ${parsed.problem}` };
  const spec = parsed.spec as Record<string, unknown> | null;
  // YAML reads an unquoted `openapi: 3.1` as a number (and 3.0 as 3).
  const version = typeof spec === 'object' && spec !== null && (typeof spec.openapi === 'string' || typeof spec.openapi === 'number') ? String(spec.openapi) : '';
  if (spec === null || !/^3(\.\d+){0,2}$/.test(version)) {
    return { ok: false, problem: `apis.${api}: ${source} is not an OpenAPI 3.x document (no openapi: 3.x)` };
  }
  const { operations, problems } = readOperations(api, cfg, spec);
  const digest = createHash('sha256').update(got.bytes).digest('hex');
  const document: ApiDocument = { api, operations, digest, fetchedAt: opts.now ?? Date.now(), problems };
  return { ok: true, document };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every scope named in a list of security requirements ([{ oauth: ['orders:read'] }]). */
function scopesOf(security: unknown): string[] {
  if (!Array.isArray(security)) return [];
  return security.filter(isObject).flatMap((req) => Object.values(req).flatMap((s) => (Array.isArray(s) ? s.filter((x): x is string => typeof x === 'string') : [])));
}

function templateProblem(path: string): string | undefined {
  if (pathTemplate.safeParse(path).success) return undefined;
  return 'the path template is not supported (a {param} must be a whole path segment named with letters, digits and _, like /orders/{id})';
}

/** Reads the document's paths into operations (pure: no I/O). */
export function readOperations(api: string, cfg: ImportedApiConfig, spec: unknown): { operations: ImportedOperation[]; problems: string[] } {
  const operations: ImportedOperation[] = [];
  const problems: string[] = [];
  const root = isObject(spec) ? spec : {};
  if (root.paths !== undefined && !isObject(root.paths)) problems.push(`apis.${api}: paths is not an object`);
  const paths = isObject(root.paths) ? root.paths : {};
  for (const [path, item] of Object.entries(paths)) {
    if (!isObject(item)) {
      problems.push(`apis.${api}: ${path}: the path item is not an object`);
      continue;
    }
    if (item.$ref !== undefined) {
      problems.push(`apis.${api}: ${path}: a path-level $ref is not supported; its operations are denied`);
      continue;
    }
    for (const method of METHODS) {
      const raw = item[method.toLowerCase()];
      if (raw === undefined) continue;
      const key = `${method} ${path}`;
      if (!isObject(raw)) {
        problems.push(`apis.${api}: ${key}: the operation is not an object`);
        continue;
      }
      const operationId = typeof raw.operationId === 'string' ? raw.operationId : undefined;
      const tags = Array.isArray(raw.tags) ? raw.tags.filter((t): t is string => typeof t === 'string') : [];
      const scopes = scopesOf(raw.security !== undefined ? raw.security : root.security);
      const mapped = mapIntent(cfg, { key, method, path, operationId, tags, scopes, extension: raw['x-cortex-intent'] });
      if (mapped.problem !== undefined) problems.push(`apis.${api}: ${mapped.problem}`);
      const problem = path.startsWith('/') ? templateProblem(path) : 'a path must start with /';
      if (problem !== undefined) problems.push(`apis.${api}: ${key}: ${problem}; it is denied`);
      operations.push({
        api,
        key,
        method,
        path,
        ...(operationId !== undefined ? { operationId } : {}),
        ...(mapped.intent !== undefined ? { intent: mapped.intent } : {}),
        tags: mapped.tags,
        source: mapped.source,
        ...(problem !== undefined ? { problem } : {}),
      });
    }
  }
  return { operations, problems };
}
