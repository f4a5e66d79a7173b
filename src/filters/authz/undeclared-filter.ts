// undeclared: the catch-all under an imported API's prefix (intents/expand.ts adds one per API).
// Every request that reaches it names a method and path the API's OpenAPI document does not
// declare: 403 authz.undeclared_operation, whoever the caller is, and nothing reaches the upstream.
import type { FilterResult, HttpFilter, RequestContext } from '../../gateway/types.ts';

export interface UndeclaredObserver {
  (route: string, intent: string, result: 'undeclared'): void;
}

export function createUndeclaredFilter(api: string, observe?: UndeclaredObserver): HttpFilter {
  return {
    name: 'undeclared',
    onRequest(ctx: RequestContext): FilterResult {
      const { method, path } = ctx.request;
      ctx.decision = { allow: false, mode: 'enforce', policyIds: [], reason: 'authz.undeclared_operation' };
      observe?.(ctx.route.id, '-', 'undeclared');
      // The audit event records it; scanners probing a prefix would flood a warn-level log.
      ctx.log.debug({ route: ctx.route.id, api, method, path }, 'a request named an operation the API does not declare: denied');
      return {
        action: 'reply',
        reply: { code: 'authz.undeclared_operation', detail: `${method} ${path} is not an operation of the API ${api}: its OpenAPI document does not declare it.` },
      };
    },
  };
}
