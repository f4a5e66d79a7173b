// Sets the forwarding headers the upstream may trust: from Cortex's own view of the connection,
// extended (never replaced by) a trusted proxy's headers. Untrusted peers' values were dropped
// by the header pass before any filter ran.
import { CONTINUE } from '../../gateway/types.ts';
import type { HttpFilter, RequestContext } from '../../gateway/types.ts';

export function createForwardedFilter(): HttpFilter {
  return {
    name: 'forwarded',
    onRequest(ctx: RequestContext) {
      const { request } = ctx;
      const h = ctx.upstreamHeaders;
      const incoming = request.trustedPeer ? request.forwardedIn : undefined;
      const peer = request.peer;
      const xff = incoming?.['x-forwarded-for'];
      h['x-forwarded-for'] = xff ? `${xff}, ${peer}` : peer;
      h['x-forwarded-proto'] = incoming?.['x-forwarded-proto'] ?? request.protocol;
      h['x-forwarded-host'] = incoming?.['x-forwarded-host'] ?? request.hostHeader;
      const element = `for=${forwardedNode(peer)};host=${quoteIfNeeded(request.hostHeader)};proto=${request.protocol}`;
      const prior = incoming?.forwarded;
      h.forwarded = prior ? `${prior}, ${element}` : element;
      return CONTINUE;
    },
  };
}

function forwardedNode(ip: string): string {
  return ip.includes(':') ? `"[${ip}]"` : ip;
}

function quoteIfNeeded(v: string): string {
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(v) ? v : `"${v.replace(/["\\]/g, '\\$&')}"`;
}
