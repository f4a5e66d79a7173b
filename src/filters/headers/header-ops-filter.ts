// Per-route header additions and removals, on the way in and on the way out.
import { CONTINUE } from '../../gateway/types.ts';
import type { HttpFilter } from '../../gateway/types.ts';
import type { HeaderOps } from '../../config/schema.ts';

export function createHeaderOpsFilter(request: HeaderOps | undefined, response: HeaderOps | undefined): HttpFilter | undefined {
  const reqRemove = (request?.remove ?? []).map((n) => n.toLowerCase());
  const reqSet = Object.entries(request?.set ?? {}).map(([n, v]) => [n.toLowerCase(), v] as const);
  const resRemove = (response?.remove ?? []).map((n) => n.toLowerCase());
  const resSet = Object.entries(response?.set ?? {}).map(([n, v]) => [n.toLowerCase(), v] as const);
  if (reqRemove.length + reqSet.length + resRemove.length + resSet.length === 0) return undefined;
  const filter: { -readonly [K in keyof HttpFilter]: HttpFilter[K] } = { name: 'headers' };
  if (reqRemove.length + reqSet.length > 0) {
    filter.onRequest = (ctx) => {
      const h = ctx.upstreamHeaders;
      for (const n of reqRemove) delete h[n];
      for (const [n, v] of reqSet) h[n] = v;
      return CONTINUE;
    };
  }
  if (resRemove.length + resSet.length > 0) {
    filter.onResponse = (_ctx, _status, headers) => {
      for (const n of resRemove) delete headers[n];
      for (const [n, v] of resSet) headers[n] = v;
    };
  }
  return filter;
}
