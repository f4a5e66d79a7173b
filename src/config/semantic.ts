// Checks beyond the schema: references between sections, addresses, and
// routes that cannot both be served. All problems are collected; none stops the others.
import { accessSync, constants, readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { Config, RouteConfig } from './schema.ts';
import type { RawProblem } from './problems.ts';
import { apiProblem, checkApis, withApiRoutes } from './semantic-apis.ts';
import { checkIdentity } from './semantic-identity.ts';

export interface SemanticResult {
  errors: RawProblem[];
  warnings: RawProblem[];
}

export function checkSemantics(config: Config): SemanticResult {
  const result: SemanticResult = { errors: [], warnings: [] };
  checkTrustedProxies(config.gateway.trustedProxies, result);
  checkAdminListener(config.admin, result);
  checkTlsFiles(config.gateway.tls, result);
  checkMtlsFiles(config.gateway.mtls, result);
  checkUpstreamReferences(config, result);
  for (const [name, upstream] of Object.entries(config.upstreams)) checkUpstreamTargets(name, upstream, result);
  for (const [id, route] of Object.entries(config.routes)) {
    checkMatchHost(id, route, result);
    checkRewrite(id, route, result);
    checkCors(id, route, result);
  }
  checkRouteConflicts(config.routes, result);
  // The apis' auth settings are checked as routes: their imported routes carry them.
  const identity: SemanticResult = { errors: [], warnings: [] };
  checkIdentity(withApiRoutes(config), identity);
  const mapped = (p: RawProblem): RawProblem[] => {
    const api = apiProblem(config, p);
    return api === undefined ? [p] : api === null ? [] : [api];
  };
  result.errors.push(...identity.errors.flatMap(mapped));
  result.warnings.push(...identity.warnings.flatMap(mapped));
  checkApis(config, result);
  return result;
}

/**
 * When the schema has rejected the file, the checks that can still run on the raw tree (references
 * to upstreams, proxy addresses), so that `cortex check` lists them in the same pass.
 */
export function checkRawTree(tree: unknown): RawProblem[] {
  const result: SemanticResult = { errors: [], warnings: [] };
  const root = asRecord(tree);
  const proxies = asRecord(root.gateway).trustedProxies;
  if (Array.isArray(proxies)) checkTrustedProxies(proxies, result);
  const upstreams = asRecord(root.upstreams);
  const names = Object.keys(upstreams);
  for (const [id, route] of Object.entries(asRecord(root.routes))) {
    const upstream = asRecord(route).upstream;
    if (typeof upstream === 'string' && !Object.hasOwn(upstreams, upstream)) {
      const known = names.length > 0 ? `; upstreams are ${names.join(', ')}` : '; no upstreams are defined';
      result.errors.push({ at: ['routes', id, 'upstream'], message: `unknown upstream "${upstream}"${known}` });
    }
  }
  return result.errors;
}

function asRecord(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function checkTrustedProxies(entries: readonly unknown[], result: SemanticResult): void {
  entries.forEach((entry, index) => {
    if (typeof entry === 'string' && !isAddressOrCidr(entry)) {
      result.errors.push({ at: ['gateway', 'trustedProxies', index], message: `"${entry}" is not an IP address or CIDR (e.g. 10.0.0.0/8, fd00::/8)` });
    }
  });
}

export function isAddressOrCidr(entry: string): boolean {
  const [address = '', bits, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  if (!/^[0-9]{1,3}$/.test(bits) || Number(bits) > (family === 4 ? 32 : 128)) return false;
  try {
    new BlockList().addSubnet(address, Number(bits), family === 4 ? 'ipv4' : 'ipv6');
    return true;
  } catch {
    return false;
  }
}

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  const family = isIP(host);
  return family !== 0 && loopback.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

function checkAdminListener(admin: Config['admin'], result: SemanticResult): void {
  if (!admin.allowRemote && !isLoopbackHost(admin.listen.host)) {
    result.errors.push({
      at: ['admin', 'listen', 'host'],
      message: `"${admin.listen.host}" is not a loopback address; set admin.allowRemote: true to expose the admin listener`,
    });
  }
}

/** Each certificate's files are readable and form a usable pair (read locally; no network). */
function checkTlsFiles(tls: Config['gateway']['tls'], result: SemanticResult): void {
  tls?.certificates.forEach((c, index) => {
    let readable = true;
    for (const field of ['cert', 'key'] as const) {
      try {
        accessSync(resolve(c[field]), constants.R_OK);
      } catch (err) {
        readable = false;
        const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'is not readable';
        result.errors.push({ at: ['gateway', 'tls', 'certificates', index, field], message: `"${c[field]}" ${why}` });
      }
    }
    if (!readable) return;
    try {
      createSecureContext({ cert: readFileSync(resolve(c.cert)), key: readFileSync(resolve(c.key)) });
    } catch (err) {
      result.errors.push({
        at: ['gateway', 'tls', 'certificates', index],
        message: `"${c.cert}" and "${c.key}" are not a usable PEM certificate and matching key: ${(err as Error).message}`,
      });
    }
  });
}

function checkMtlsFiles(mtls: Config['gateway']['mtls'], result: SemanticResult): void {
  if (mtls === undefined) return;
  const files: [(string | number)[], string][] = [
    [['gateway', 'mtls', 'cert'], mtls.cert],
    [['gateway', 'mtls', 'key'], mtls.key],
    ...mtls.clientCas.map((f, i): [(string | number)[], string] => [['gateway', 'mtls', 'clientCas', i], f]),
  ];
  for (const [at, file] of files) {
    try {
      accessSync(resolve(file), constants.R_OK);
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'is not readable';
      result.errors.push({ at, message: `"${file}" ${why}` });
    }
  }
}

/** Exactly one of url / targets; TLS files readable; a client certificate comes with its key. */
function checkUpstreamTargets(name: string, upstream: Config['upstreams'][string], result: SemanticResult): void {
  const at = ['upstreams', name];
  if ((upstream.url === undefined) === (upstream.targets === undefined)) {
    result.errors.push({ at, message: 'exactly one of url or targets is required' });
  }
  const tls = upstream.tls;
  if (!tls) return;
  for (const field of ['ca', 'cert', 'key'] as const) {
    const file = tls[field];
    if (file === undefined) continue;
    try {
      accessSync(resolve(file), constants.R_OK);
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'is not readable';
      result.errors.push({ at: [...at, 'tls', field], message: `"${file}" ${why}` });
    }
  }
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    result.errors.push({ at: [...at, 'tls'], message: 'cert and key go together (a client certificate needs its key)' });
  }
  const urls = upstream.targets ?? (upstream.url !== undefined ? [upstream.url] : []);
  if (!urls.some((u) => u.startsWith('https:'))) {
    result.warnings.push({ at: [...at, 'tls'], message: 'tls is set but no target uses https' });
  }
}

function checkUpstreamReferences(config: Config, result: SemanticResult): void {
  const names = Object.keys(config.upstreams);
  const used = new Set<string>();
  for (const [id, route] of Object.entries(config.routes)) {
    used.add(route.upstream);
    if (!Object.hasOwn(config.upstreams, route.upstream)) {
      const known = names.length > 0 ? `; upstreams are ${names.join(', ')}` : '; no upstreams are defined';
      result.errors.push({ at: ['routes', id, 'upstream'], message: `unknown upstream "${route.upstream}"${known}` });
    }
  }
  for (const api of Object.values(config.apis)) used.add(api.upstream);
  for (const name of names) {
    if (!used.has(name)) result.warnings.push({ at: ['upstreams', name], message: 'no route uses this upstream' });
  }
}

function checkMatchHost(id: string, route: RouteConfig, result: SemanticResult): void {
  const host = route.match.host;
  if (host === undefined) return;
  const at = ['routes', id, 'match', 'host'];
  const bracketed = /^\[[^\]]*\](:.*)?$/.exec(host);
  if (bracketed ? bracketed[1] !== undefined : host.includes(':') && isIP(host) !== 6) {
    result.errors.push({ at, message: `"${host}" has a port; match.host is the host name alone` });
  }
  if (host !== host.toLowerCase()) {
    result.errors.push({ at, message: `"${host}" has uppercase letters; write host names in lowercase` });
  }
}

const PARAM = /\{([^{}/]*)\}/g;

function paramsOf(template: string): string[] {
  return [...template.matchAll(PARAM)].map((match) => match[1] ?? '');
}

function checkRewrite(id: string, route: RouteConfig, result: SemanticResult): void {
  const rewrite = route.rewrite;
  if (!rewrite) return;
  const kind = route.match.path !== undefined ? 'path' : 'prefix';
  const pattern = route.match.path ?? route.match.prefix ?? '';
  const strip = rewrite.stripPrefix;
  if (strip !== undefined) {
    const at = ['routes', id, 'rewrite', 'stripPrefix'];
    if (!pattern.startsWith(strip)) {
      result.errors.push({ at, message: `"${strip}" is not a prefix of match.${kind} "${pattern}"` });
    } else if (!strip.endsWith('/') && strip.length < pattern.length && pattern[strip.length] !== '/') {
      result.warnings.push({ at, message: `"${strip}" ends inside a path segment of "${pattern}"` });
    }
  }
  if (rewrite.template !== undefined) {
    const declared = new Set(paramsOf(pattern));
    for (const name of new Set(paramsOf(rewrite.template))) {
      if (declared.has(name)) continue;
      const offer = declared.size > 0 ? `declares ${[...declared].map((d) => `{${d}}`).join(', ')}` : 'declares no parameters';
      result.errors.push({ at: ['routes', id, 'rewrite', 'template'], message: `uses {${name}}, but match.${kind} ${offer}` });
    }
  }
}

function checkCors(id: string, route: RouteConfig, result: SemanticResult): void {
  const cors = route.cors;
  if (!cors) return;
  if (cors.credentials && cors.origins.includes('*')) {
    result.errors.push({
      at: ['routes', id, 'cors', 'credentials'],
      message: "credentials: true cannot be combined with origins: ['*']; list the allowed origins exactly",
    });
  }
}

interface RouteShape {
  id: string;
  methods: ReadonlySet<string> | undefined;
}

/**
 * Two routes conflict when the router would register the same pattern for a shared method: a path is
 * one pattern; a prefix `/p/` is two (`/p` and `/p/*`), so it also collides with a path `/p`.
 */
function checkRouteConflicts(routes: Config['routes'], result: SemanticResult): void {
  const seen = new Map<string, RouteShape[]>();
  for (const [id, route] of Object.entries(routes)) {
    const { host, path, prefix, methods } = route.match;
    const mine: RouteShape = { id, methods: methods ? new Set(methods) : undefined };
    const reported = new Set<string>();
    for (const pattern of registeredPatterns(path, prefix)) {
      const key = `${host?.toLowerCase() ?? '*'} ${pattern}`;
      const others = seen.get(key) ?? [];
      for (const other of others) {
        const shared = sharedMethods(mine.methods, other.methods);
        if (shared === undefined || reported.has(other.id)) continue;
        reported.add(other.id);
        const where = `${host ?? 'any host'}, ${shared}, ${path !== undefined ? `path ${path}` : `prefix ${prefix}`}`;
        result.errors.push({ at: ['routes', id, 'match'], message: `conflicts with route "${other.id}" (${where})` });
      }
      seen.set(key, [...others, mine]);
    }
  }
}

/** The patterns the router registers, with parameter names erased (they do not change a match). */
function registeredPatterns(path: string | undefined, prefix: string | undefined): string[] {
  if (path !== undefined) return [path.replace(PARAM, '{}')];
  const base = (prefix ?? '/').replace(PARAM, '{}').replace(/\/$/, '');
  return base === '' ? ['/*'] : [base, `${base}/*`];
}

function sharedMethods(a: ReadonlySet<string> | undefined, b: ReadonlySet<string> | undefined): string | undefined {
  if (a === undefined && b === undefined) return 'all methods';
  const shared = a === undefined ? [...(b ?? [])] : [...a].filter((method) => b === undefined || b.has(method));
  return shared.length > 0 ? shared.join(' ') : undefined;
}
