// The policy bench's world, shared by the `policy` scenario and the in-process microbench
// (bench/policy-decisions.ts): 20 routes over five resources, grants for enough team roles to make
// about 1,000 policies with a hand-written file (ownership forbids like src/dev/policies/orders.cedar,
// per-intent service permits and suspension forbids, an MFA rule, one `like` rule), and 1,000 users
// whose roles come from 100 personas (one or two team roles, some customer/support/admin).
import { generatePolicies, parseFiles } from '../../src/policy/policies.ts';
import type { PolicyInput } from '../../src/policy/input.ts';
import { buildCatalog } from '../../src/policy/schema.ts';

export const RESOURCES = ['orders', 'customers', 'invoices', 'products', 'shipments'] as const;
const VERBS = [
  { verb: 'read', method: 'GET', item: true },
  { verb: 'list', method: 'GET', item: false },
  { verb: 'create', method: 'POST', item: false },
  { verb: 'update', method: 'PUT', item: true },
] as const;

export interface MixRoute {
  id: string;
  intent: string;
  method: string;
  /** The route's path template (/orders/{id}) and its match. */
  template: string;
  tags: string[];
  /** orders:read: the order's owner comes from an attribute source (resource.owner). */
  ownership: boolean;
}

export const ROUTES: readonly MixRoute[] = RESOURCES.flatMap((res) =>
  VERBS.map(({ verb, method, item }) => ({
    id: `${res}-${verb}`,
    intent: `${res}:${verb}`,
    method,
    template: item ? `/${res}/{id}` : `/${res}`,
    tags: [...(verb === 'update' ? ['destructive'] : []), ...(res === 'customers' ? ['pii'] : [])],
    ownership: res === 'orders' && verb === 'read',
  })),
);

export const TARGET_POLICIES = 1000;
export const USERS = 1000;
const PERSONAS = 100;

const OWNERSHIP = `// Ownership of orders, as in src/dev/policies/orders.cedar: the orders-read route's attribute source
// gives the order's owner as resource.owner.
@id("customers-read-own-orders")
forbid (principal is User, action == Action::"orders:read", resource)
when {
  principal in Role::"customer" && !(principal in Role::"support") && !(principal in Role::"admin") &&
  resource has owner && resource.owner != principal.subject
};

@id("agents-read-their-persons-orders")
forbid (principal is Agent, action == Action::"orders:read", resource)
when {
  context has actingFor && !(context.actingFor in Role::"support") && !(context.actingFor in Role::"admin") &&
  resource has owner && resource.owner != context.actingFor.subject
};

@id("prod-destructive-needs-mfa")
forbid (principal, action in Action::"tag:destructive", resource)
when { context.stage == "prod" && !context.mfa };

// Outside the fast path's subset (like): invoices:create is always decided by Cedar.
@id("no-bot-invoices")
forbid (principal is User, action == Action::"invoices:create", resource)
when { principal.subject like "bot-*" };
`;

/** The hand-written file: the rules above, and for each intent a service permit and a suspension forbid. */
export function handwrittenCedar(): string {
  const perIntent = ROUTES.map((r) => {
    const res = r.intent.split(':')[0];
    return [
      `@id("svc-${r.id}")`,
      `permit (principal is Service in Role::"svc-${res}", action == Action::"${r.intent}", resource);`,
      `@id("suspended-${r.id}")`,
      `forbid (principal, action == Action::"${r.intent}", resource) when { principal in Role::"suspended-${res}" };`,
    ].join('\n');
  });
  return `${OWNERSHIP}\n${perIntent.join('\n\n')}\n`;
}

function teamGrants(teams: number): Record<string, string[]> {
  const grants: Record<string, string[]> = {
    admin: ['*'],
    support: ['orders:read', 'orders:list', 'customers:*'],
    customer: ['orders:read', 'orders:list', 'orders:create', 'products:read', 'products:list'],
  };
  for (let t = 0; t < teams; t++) {
    const wildcard = RESOURCES[t % RESOURCES.length]!;
    const exact = ROUTES[(t * 7 + 3) % ROUTES.length]!.intent;
    grants[team(t)] = [`${wildcard}:*`, exact];
  }
  return grants;
}

const team = (t: number): string => `team-${String(t).padStart(3, '0')}`;

export interface PolicyWorld {
  input: PolicyInput;
  resourceAttributes: Map<string, 'string' | 'set'>;
  teams: number;
  policyCount: number;
}

/** The grants and file for about TARGET_POLICIES policies (more team roles until there are enough). */
export function policyWorld(target = TARGET_POLICIES): PolicyWorld {
  const intents = new Map(ROUTES.map((r) => [r.intent, [...r.tags].sort()]));
  const files = [{ path: 'bench-policies.cedar', text: handwrittenCedar() }];
  const written = parseFiles(files).policies.length;
  let teams = 1;
  for (;;) {
    const input: PolicyInput = { grants: teamGrants(teams), intents, agentForbidTags: ['destructive'], files };
    const count = generatePolicies(input, buildCatalog(input).catalog).length + written;
    if (count >= target || teams > 10_000) return { input, resourceAttributes: new Map([['owner', 'string']]), teams, policyCount: count };
    teams++;
  }
}

/** user-0000 … (the subjects the dev IdP mints for). */
export const subjectOf = (i: number): string => `user-${String(i).padStart(4, '0')}`;

/** A user's roles: those of its persona (user i has persona i % 100). */
export function rolesOf(i: number, teams: number): string[] {
  const p = i % PERSONAS;
  const roles = [team(p % teams)];
  if (p % 3 === 0) roles.push(team((p * 7 + 1) % teams));
  if (p % 2 === 0) roles.push('customer');
  if (p % 25 === 0) roles.push('support');
  if (p === 99) roles.push('admin');
  return [...new Set(roles)];
}

/** The path of a request to the route for user i: an order id is its owner's subject (the bench upstream answers the lookup so). */
export function pathFor(route: MixRoute, i: number, own = true): string {
  if (!route.template.includes('{id}')) return route.template;
  const id = route.ownership ? subjectOf(own ? i : (i + 1) % USERS) : `${route.id}-${i % 50}`;
  return route.template.replace('{id}', id);
}
