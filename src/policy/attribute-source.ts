// Resource attributes from an attribute source: an HTTP GET to a URL template filled from the
// route's path parameters, whose JSON answer yields the attributes policies compare (resource.owner).
// Answers are cached per URL for a few seconds (bounded, oldest dropped first) and one lookup per
// URL is in flight at a time. A 404 means the object does not exist: the lookup succeeds with no
// attributes, so policies decide (`resource has owner` is false). Anything else that is not a
// clean answer is a failed lookup, which the authz filter turns into a deny.
import { request } from 'undici';
import type { Dispatcher } from 'undici';

/** Cedar attribute name → the answer's field (dotted for nested), a String or a Set<String>. */
export type PickSpec = Readonly<Record<string, string | { readonly field: string; readonly type: 'string' | 'set' }>>;

export interface AttributeSourceConfig {
  readonly url: string;
  readonly pick: PickSpec;
  readonly timeoutMs: number;
  readonly cacheSeconds: number;
}

export type AttributeValue = string | readonly string[];
export type ResourceAttributes = Readonly<Record<string, AttributeValue>>;

export type AttributeLookup = { ok: true; attributes: ResourceAttributes; found: boolean } | { ok: false; error: string };

export interface AttributeSourceStats {
  /** Requests sent to the source. */
  lookups: number;
  /** Lookups answered from the cache or joined to one in flight. */
  hits: number;
}

export interface AttributeSource {
  lookup(params: Readonly<Record<string, string | undefined>>): Promise<AttributeLookup>;
  stats(): AttributeSourceStats;
}

export interface AttributeSourceOptions {
  dispatcher?: Dispatcher;
  /**
   * Headers for each lookup: the gateway's own signed assertion, so a service that trusts only
   * assertions answers it. Never the caller's: answers are cached per URL, whoever asked.
   */
  headers?: () => Record<string, string> | Promise<Record<string, string>>;
  maxEntries?: number;
  maxBodyBytes?: number;
  now?: () => number;
}

const PARAM = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** The path parameters a URL template names. */
export function templateParams(template: string): string[] {
  return [...template.matchAll(PARAM)].map((m) => m[1] as string);
}

/** The URL for these parameters (each percent-encoded), or undefined when one is missing. */
export function fillTemplate(template: string, params: Readonly<Record<string, string | undefined>>): string | undefined {
  let missing = false;
  const url = template.replace(PARAM, (_, name: string) => {
    const v = params[name];
    if (v === undefined) missing = true;
    return encodeURIComponent(v ?? '');
  });
  return missing ? undefined : url;
}

export function pickType(spec: PickSpec[string]): 'string' | 'set' {
  return typeof spec === 'string' ? 'string' : spec.type;
}

function fieldAt(answer: unknown, path: string): unknown {
  let v = answer;
  for (const part of path.split('.')) {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.hasOwn(v, part)) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

/** The picked attributes of a JSON answer, or the reason it does not fit. */
export function pickAttributes(answer: unknown, pick: PickSpec): AttributeLookup {
  const attributes: Record<string, AttributeValue> = {};
  for (const [name, spec] of Object.entries(pick)) {
    const field = typeof spec === 'string' ? spec : spec.field;
    const v = fieldAt(answer, field);
    if (pickType(spec) === 'string') {
      if (typeof v !== 'string') return { ok: false, error: `field '${field}' is ${v === undefined ? 'missing' : 'not a string'}` };
      attributes[name] = v;
    } else {
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) return { ok: false, error: `field '${field}' is not an array of strings` };
      attributes[name] = [...new Set(v)];
    }
  }
  return { ok: true, attributes, found: true };
}

async function readCapped(body: AsyncIterable<Buffer>, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

async function fetchAttributes(url: string, cfg: AttributeSourceConfig, opts: AttributeSourceOptions): Promise<AttributeLookup> {
  try {
    const res = await request(url, {
      method: 'GET',
      headers: { ...(opts.headers ? await opts.headers() : {}), accept: 'application/json' },
      signal: AbortSignal.timeout(cfg.timeoutMs),
      headersTimeout: cfg.timeoutMs,
      bodyTimeout: cfg.timeoutMs,
      ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
    });
    if (res.statusCode === 404) {
      res.body.on('error', () => {});
      res.body.destroy();
      return { ok: true, attributes: {}, found: false };
    }
    const body = await readCapped(res.body, opts.maxBodyBytes ?? 256 * 1024);
    if (res.statusCode < 200 || res.statusCode > 299) return { ok: false, error: `the attribute source answered ${res.statusCode}` };
    if (body === undefined) return { ok: false, error: 'the attribute source answered too large a body' };
    let answer: unknown;
    try {
      answer = JSON.parse(body.toString('utf8'));
    } catch {
      return { ok: false, error: 'the attribute source answered something other than JSON' };
    }
    return pickAttributes(answer, cfg.pick);
  } catch (err) {
    const name = (err as Error).name;
    const timedOut = name === 'TimeoutError' || name === 'AbortError' || /Timeout/.test((err as { code?: string }).code ?? '');
    return { ok: false, error: timedOut ? `the attribute source did not answer within ${cfg.timeoutMs} ms` : `the attribute source is unreachable (${(err as { code?: string }).code ?? name})` };
  }
}

export function createAttributeSource(cfg: AttributeSourceConfig, opts: AttributeSourceOptions = {}): AttributeSource {
  const maxEntries = Math.max(1, opts.maxEntries ?? 1000);
  const now = opts.now ?? Date.now;
  const cache = new Map<string, { expires: number; result: AttributeLookup }>();
  const inFlight = new Map<string, Promise<AttributeLookup>>();
  let lookups = 0;
  let hits = 0;

  const remember = (url: string, result: AttributeLookup): void => {
    if (!result.ok || cfg.cacheSeconds <= 0) return;
    cache.delete(url);
    if (cache.size >= maxEntries) {
      const oldest = cache.keys().next();
      if (!oldest.done) cache.delete(oldest.value);
    }
    cache.set(url, { expires: now() + cfg.cacheSeconds * 1000, result });
  };

  return {
    lookup(params) {
      const url = fillTemplate(cfg.url, params);
      if (url === undefined) return Promise.resolve({ ok: false, error: 'a path parameter the attribute source needs is missing' });
      const cached = cache.get(url);
      if (cached !== undefined) {
        if (cached.expires > now()) {
          hits++;
          return Promise.resolve(cached.result);
        }
        cache.delete(url);
      }
      const pending = inFlight.get(url);
      if (pending !== undefined) {
        hits++;
        return pending;
      }
      lookups++;
      const p = fetchAttributes(url, cfg, opts).then((result) => {
        inFlight.delete(url);
        remember(url, result);
        return result;
      });
      inFlight.set(url, p);
      return p;
    },
    stats: () => ({ lookups, hits }),
  };
}
