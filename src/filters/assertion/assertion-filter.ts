// assertion: what the upstream learns about the caller, set last before the request leaves. The
// signed identity assertion (upstream `caller.assertion`, on by default; anonymous callers get one
// too, so an upstream can tell "nobody" from "forged"), optional plain cortex-* headers, and, unless
// `caller.forwardAuthorization`, the caller's own credentials removed. The header pass already
// dropped every cortex-* header the client sent (any case, `_` spellings, Connection-named), so what
// is set here is the only value the upstream receives.
import { CONTINUE } from '../../gateway/types.ts';
import type { FilterResult, HttpFilter, Identity, RequestContext } from '../../gateway/types.ts';
import type { AssertionMinter, AssertionSettings, MintedAssertion } from './assertion-minter.ts';

export interface AssertionFilterOptions {
  minter: AssertionMinter;
  /** credentials.assertion.header (lower-case). */
  header: string;
  /** The upstream's caller.audience, else its name. */
  audience: string;
  /** Read on the first request (the issuer may name the port the gateway listened on). */
  settings: () => AssertionSettings;
  assertion: boolean;
  plainHeaders: boolean;
  forwardAuthorization: boolean;
  /** Headers that carry a caller's credential besides Authorization (the API key header), lower-case. */
  credentialHeaders: readonly string[];
  /** Cortex's own cookies (session, login), removed from Cookie. */
  credentialCookies: ReadonlySet<string>;
}

export const PLAIN_HEADERS = ['cortex-user', 'cortex-kind', 'cortex-roles', 'cortex-acting-for', 'cortex-provider'] as const;

const unavailable: FilterResult = Object.freeze<FilterResult>({
  action: 'reply',
  reply: { code: 'credentials.signing_unavailable', detail: 'The gateway cannot sign the identity assertion for this upstream right now.', headers: { 'retry-after': '5' } },
});

/** A header-safe value: printable ASCII without commas as is, anything else percent-encoded. */
function plain(value: string): string {
  return /^[\x21-\x2b\x2d-\x7e](?:[\x20-\x2b\x2d-\x7e]*[\x21-\x2b\x2d-\x7e])?$/.test(value) ? value : encodeURIComponent(value);
}

/** cortex-user is the caller itself; for an agent acting for a person, cortex-acting-for names the person. */
function setPlainHeaders(headers: Record<string, string | string[]>, identity: Identity): void {
  headers['cortex-user'] = plain(identity.subject);
  headers['cortex-kind'] = identity.kind;
  headers['cortex-roles'] = identity.roles.map(plain).join(',');
  headers['cortex-provider'] = plain(identity.provider);
  if (identity.onBehalfOf !== undefined) headers['cortex-acting-for'] = plain(identity.onBehalfOf.subject);
}

/** Cookie without Cortex's own cookies; undefined when none is left. */
function withoutOwnCookies(header: string, names: ReadonlySet<string>): string | undefined {
  const kept: string[] = [];
  for (const part of header.split(';')) {
    const p = part.trim();
    if (p === '') continue;
    const eq = p.indexOf('=');
    if (!names.has((eq === -1 ? p : p.slice(0, eq)).trim())) kept.push(p);
  }
  return kept.length === 0 ? undefined : kept.join('; ');
}

/** The caller's credentials stop here; a value a route's requestHeaders set (not the client's) stays. */
function dropCredentials(ctx: RequestContext, o: AssertionFilterOptions): void {
  const h = ctx.upstreamHeaders;
  if (h.authorization !== undefined && h.authorization === ctx.req.headers.authorization) delete h.authorization;
  for (const name of o.credentialHeaders) {
    const value = h[name];
    // A repeated header (an array here) can only have come from the client.
    if (value !== undefined && (Array.isArray(value) || value === ctx.req.headers[name])) delete h[name];
  }
  const cookie = h.cookie;
  if (typeof cookie === 'string' && o.credentialCookies.size > 0) {
    const rest = withoutOwnCookies(cookie, o.credentialCookies);
    if (rest === undefined) delete h.cookie;
    else h.cookie = rest;
  }
}

/** Undefined when the upstream gets neither an assertion nor plain headers and takes the caller's credentials. */
export function createAssertionFilter(o: AssertionFilterOptions): HttpFilter | undefined {
  if (!o.assertion && !o.plainHeaders && o.forwardAuthorization) return undefined;
  let settings: AssertionSettings | undefined;
  const set = (ctx: RequestContext, minted: MintedAssertion): FilterResult => {
    ctx.upstreamHeaders[o.header] = minted.token;
    return CONTINUE;
  };
  const failed = (ctx: RequestContext, error: unknown): FilterResult => {
    ctx.log.error({ err: (error as Error).message, upstream: ctx.route.upstream }, 'cannot sign the identity assertion');
    return unavailable;
  };
  return {
    name: 'assertion',
    onRequest(ctx: RequestContext): FilterResult | Promise<FilterResult> {
      if (!o.forwardAuthorization) dropCredentials(ctx, o);
      const identity = ctx.identity;
      if (identity === undefined) return CONTINUE; // no authn filter ran: nothing to assert
      if (o.plainHeaders) setPlainHeaders(ctx.upstreamHeaders, identity);
      if (!o.assertion) return CONTINUE;
      settings ??= o.settings();
      let minted: MintedAssertion | Promise<MintedAssertion>;
      try {
        minted = o.minter.mint(identity, o.audience, settings);
      } catch (error) {
        return failed(ctx, error);
      }
      if (minted instanceof Promise) return minted.then((m) => set(ctx, m), (error: unknown) => failed(ctx, error));
      return set(ctx, minted);
    },
  };
}
