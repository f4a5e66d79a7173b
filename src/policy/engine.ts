// The policy engine: grants and hand-written Cedar compiled once (schema generated from the intents,
// every policy validated strictly as one set), then per decision: the fast path where it provably
// gives Cedar's answer (fast-path.ts), else one Cedar call on the intent's own preparsed set, which
// holds only the policies that can apply to it (policy-split.ts). Cedar skips a policy whose
// evaluation errors, which would let an erroring forbid fail open: here any evaluation error denies.
import { preparsePolicySet, preparseSchema, statefulIsAuthorized, validate } from '@cedar-policy/cedar-wasm/nodejs';
import type { AuthorizationAnswer, Context, EntityJson, EntityUidJson } from '@cedar-policy/cedar-wasm/nodejs';
import type { Identity } from '../gateway/types.ts';
import { describeError, generatePolicies, parseFiles } from './policies.ts';
import type { SourcedPolicy } from './policies.ts';
import { analyzePolicy } from './policy-inputs.ts';
import { PolicySplit } from './policy-split.ts';
import { FastPaths } from './fast-paths.ts';
import { buildCatalog, schemaText } from './schema.ts';
import type { ActionCatalog, ResourceAttributeTypes } from './schema.ts';


export type { PolicyInput } from './input.ts';
export type { DecisionRequest, PolicyDecision } from './decision.ts';
export { hasMfa, uidOf } from './decision.ts';
import { hasMfa, uidOf } from './decision.ts';
import type { DecisionRequest, PolicyDecision } from './decision.ts';
import type { PolicyInput } from './input.ts';
/** What the engine compiles: the policy input, and the resource attributes routes' attribute sources give. */
export type EngineInput = PolicyInput & { resourceAttributes?: ResourceAttributeTypes };
export type CompileResult = { ok: true; engine: PolicyEngine } | { ok: false; problems: string[] };

export interface PolicyEngine {
  decide(req: DecisionRequest): PolicyDecision;
  /** The generated Cedar policies (each with an @id naming its source), for explain and docs. */
  readonly generatedPolicies: string;
  /** The generated Cedar schema, in Cedar's schema syntax. */
  readonly schema: string;
  /** Release the preparsed wasm state. */
  dispose(): void;
}

// A decision request as Cedar sees it: the principal entity (typed by the identity's kind, its id
// the identity's fingerprint so two issuers' "alice" never meet, its parents its roles), the person
// an agent acts for, the Route entity (tags attribute, path parameters as entity tags) and the context.
export interface CedarRequest {
  principal: EntityUidJson;
  action: EntityUidJson;
  resource: EntityUidJson;
  context: Context;
  entities: EntityJson[];
}

function principalEntity(identity: Identity, out: EntityJson[], roleSeen: Set<string>): { type: string; id: string } {
  const uid = uidOf(identity);
  if (identity.kind === 'anonymous') {
    out.push({ uid, attrs: {}, parents: [] });
    return uid;
  }
  const roles = [...new Set(identity.roles)];
  out.push({
    uid,
    attrs: { subject: identity.subject, issuer: identity.issuer, provider: identity.provider },
    parents: roles.map((id) => ({ type: 'Role', id })),
  });
  for (const id of roles) {
    if (roleSeen.has(id)) continue;
    roleSeen.add(id);
    out.push({ uid: { type: 'Role', id }, attrs: {}, parents: [] });
  }
  return uid;
}

export function toCedar(req: DecisionRequest, intentTags: readonly string[]): CedarRequest {
  const entities: EntityJson[] = [];
  const roleSeen = new Set<string>();
  const principal = principalEntity(req.identity, entities, roleSeen);
  const person = req.identity.kind === 'anonymous' ? undefined : req.identity.onBehalfOf;
  const context: Context = {
    stage: req.stage,
    method: req.identity.method,
    kind: req.identity.kind,
    mfa: hasMfa(req.identity.claims),
    clientIp: req.clientIp,
    time: Math.floor(req.nowMs / 1000),
    actingForRoles: person ? [...new Set(person.roles)] : [],
  };
  if (person) {
    // Always a User: only a person can be acted for.
    const uid = principalEntity({ ...person, kind: 'user' }, entities, roleSeen);
    context.actingFor = { __entity: uid };
  }
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.params)) if (value !== undefined) params[name] = value;
  const resource = { type: 'Route', id: req.routeId };
  const attrs: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(req.resourceAttributes ?? {})) attrs[name] = typeof value === 'string' ? value : [...value];
  attrs.tags = [...new Set([...req.tags, ...intentTags])];
  entities.push({ uid: resource, attrs, parents: [], tags: params });
  return { principal, action: { type: 'Action', id: req.intent }, resource, context, entities };
}

let nextSetId = 0;

function policyError(errors: string[], policyIds: string[] = []): PolicyDecision {
  return { allow: false, policyIds, reason: 'authz.policy_error', errors };
}

function toDecision(answer: AuthorizationAnswer): PolicyDecision {
  if (answer.type === 'failure') return policyError(answer.errors.map(describeError));
  const { decision, diagnostics } = answer.response;
  if (diagnostics.errors.length > 0) {
    const ids = [...new Set(diagnostics.errors.map((e) => e.policyId))];
    return policyError(diagnostics.errors.map((e) => `${e.policyId}: ${describeError(e.error)}`), ids);
  }
  if (decision === 'allow') return { allow: true, policyIds: [...diagnostics.reason].sort(), reason: 'ok', errors: [] };
  return { allow: false, policyIds: [...diagnostics.reason].sort(), reason: 'authz.denied', errors: [] };
}

/** What the engine does per decision; the defaults are the fast ones (off only to measure them). */
export interface EngineOptions {
  /** One preparsed set per intent holding only the policies that can apply to it (policy-split.ts). */
  split?: boolean;
  /** Decide without Cedar where that is provably the same answer (fast-path.ts). */
  fastPath?: boolean;
}

class CedarEngine implements PolicyEngine {
  readonly generatedPolicies: string;
  readonly schema: string;
  readonly #setId: string;
  readonly #catalog: ActionCatalog;
  readonly #split: PolicySplit | undefined;
  readonly #fast: FastPaths | undefined;
  #disposed = false;

  constructor(setId: string, catalog: ActionCatalog, schema: string, generatedPolicies: string, split?: PolicySplit, fast?: FastPaths) {
    this.#setId = setId;
    this.#catalog = catalog;
    this.schema = schema;
    this.generatedPolicies = generatedPolicies;
    this.#split = split;
    this.#fast = fast;
  }

  decide(req: DecisionRequest): PolicyDecision {
    if (this.#disposed) return policyError(['the policy engine was disposed']);
    const intentTags = this.#catalog.intents.get(req.intent);
    if (intentTags === undefined) return policyError([`intent '${req.intent}' is not in the compiled policy schema`]);
    const fast = this.#fast?.decide(req, intentTags);
    if (fast !== undefined) return fast;
    let setId = this.#setId;
    if (this.#split !== undefined) {
      const set = this.#split.setFor(req.intent);
      if (!set.ok) return policyError([set.error]);
      setId = set.setId;
    }
    const call = toCedar(req, intentTags);
    return toDecision(statefulIsAuthorized({ ...call, preparsedPolicySetId: setId, preparsedSchemaName: this.#setId, validateRequest: true }));
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    // cedar-wasm has no way to drop a preparsed entry: replace it with an empty one.
    this.#split?.dispose();
    preparsePolicySet(this.#setId, { staticPolicies: {} });
    preparseSchema(this.#setId, '');
  }
}

function validationProblems(schema: string, policies: readonly SourcedPolicy[]): string[] {
  const byId = new Map(policies.map((p) => [p.id, p]));
  const answer = validate({
    schema,
    policies: { staticPolicies: Object.fromEntries(policies.map((p) => [p.id, p.text])) },
    validationSettings: { mode: 'strict' },
  });
  if (answer.type === 'failure') return answer.errors.map((e) => `policy validation failed: ${describeError(e)}`);
  return answer.validationErrors.map((e) => {
    const p = byId.get(e.policyId);
    const where = p === undefined ? '' : p.source === 'generated' ? 'generated policy: ' : `${p.source}${p.line ? `:${p.line}` : ''}: `;
    return `${where}policy ${e.policyId}: ${describeError(e.error)}`;
  });
}

// Cedar types `resource has x` as false when the schema has no x, so `resource has x && ...`
// validates and never applies: an attribute no route's source gives fails the load instead.
function undeclaredAttributes(policies: readonly SourcedPolicy[], declared: ResourceAttributeTypes = new Map()): string[] {
  const problems: string[] = [];
  for (const p of policies) {
    for (const name of analyzePolicy(p.text).reads.resourceAttrs) {
      if (!declared.has(name)) problems.push(`${p.source}${p.line ? `:${p.line}` : ''}: policy ${p.id} reads resource.${name}, which no route's attribute source (resource.attributes.pick) gives`);
    }
  }
  return problems;
}

export function compilePolicies(input: EngineInput, options: EngineOptions = {}): CompileResult {
  const { catalog, problems } = buildCatalog(input);
  const generated = generatePolicies(input, catalog);
  const written = parseFiles(input.files);
  problems.push(...written.problems);
  const all = [...generated, ...written.policies];
  const seen = new Map<string, SourcedPolicy>();
  for (const p of all) {
    const first = seen.get(p.id);
    if (first) problems.push(`${p.source}: policy id '${p.id}' is already used by ${first.source === 'generated' ? 'a generated policy' : first.source}`);
    else seen.set(p.id, p);
  }
  if (problems.length > 0) return { ok: false, problems };

  const schema = schemaText(catalog, input.resourceAttributes);
  const invalid = validationProblems(schema, all);
  if (invalid.length > 0) return { ok: false, problems: invalid };
  const undeclared = undeclaredAttributes(written.policies, input.resourceAttributes);
  if (undeclared.length > 0) return { ok: false, problems: undeclared };

  const setId = `cortex-policies-${++nextSetId}`;
  const parsedSchema = preparseSchema(setId, schema);
  const split = options.split === false ? undefined : new PolicySplit(setId, all, all.map((p) => analyzePolicy(p.text)), catalog);
  // With the split, the per-intent sets are preparsed on first use instead of the whole set.
  const parsedSet = preparsePolicySet(setId, { staticPolicies: split ? {} : Object.fromEntries(all.map((p) => [p.id, p.text])) });
  for (const r of [parsedSchema, parsedSet]) if (r.type === 'failure') return { ok: false, problems: r.errors.map(describeError) };
  const fast = split && options.fastPath !== false ? new FastPaths(all, split, input.resourceAttributes) : undefined;
  const text = generated.map((p) => p.text).join('\n\n');
  return { ok: true, engine: new CedarEngine(setId, catalog, schema, `${text}\n`, split, fast) };
}
