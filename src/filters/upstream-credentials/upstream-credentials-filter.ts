// Sets the credential Cortex adds on the way to an upstream (a static header, or an OAuth2 token
// from the upstream's own IdP). Runs last before the upstream filter, after every filter that
// edits the forwarded headers, and always removes the client's header of that name first: the
// client never chooses it. With no credential available the request is answered 503
// `upstream.credentials_unavailable` and nothing is forwarded.
import type { UpstreamCredential } from '../../credentials/upstream-secrets/types.ts';
import { CONTINUE } from '../../gateway/types.ts';
import type { FilterResult, HttpFilter, RequestContext } from '../../gateway/types.ts';

const DETAIL = 'Cortex has no valid credential for this upstream right now.';

export function createUpstreamCredentialsFilter(credential: UpstreamCredential): HttpFilter {
  const name = credential.header;
  const apply = (ctx: RequestContext, value: string | undefined): FilterResult => {
    if (value === undefined) return { action: 'reply', reply: { code: 'upstream.credentials_unavailable', detail: DETAIL } };
    ctx.upstreamHeaders[name] = value;
    return CONTINUE;
  };
  return {
    name: 'upstream-credentials',
    onRequest(ctx) {
      delete ctx.upstreamHeaders[name];
      const now = credential.valueNow();
      if (now !== undefined) return apply(ctx, now);
      return credential.value().then((value) => apply(ctx, value));
    },
  };
}
