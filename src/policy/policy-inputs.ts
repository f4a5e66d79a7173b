// Which request inputs a policy can read, found by walking its JSON form (scope and condition
// expression trees). The analysis is sound, not precise: any shape it does not know, and any
// dereference of an entity it cannot name (an entity literal, a computed entity), sets `all`, and
// reading more than a policy needs only makes a cache key longer, never wrong.
// The entities toCedar builds: the principal (parents: Role entities, which have no parents or
// attributes), the person acted for (the same), and the Route (no parents).
import { policyJson } from './policy-json.ts';

export interface Reads {
  /** An unhandled shape, or an input no key can carry: decide without the cache. */
  all: boolean;
  principalId: boolean;
  principalRoles: boolean;
  principalAttrs: Set<string>;
  routeId: boolean;
  resourceTags: boolean;
  allParams: boolean;
  params: Set<string>;
  /** Route attributes from an attribute source (resource.owner) read or tested with `has`. */
  resourceAttrs: Set<string>;
  /** Context fields read directly: stage, method, kind, mfa, clientIp, time, actingFor (presence), actingForRoles. */
  context: Set<string>;
  /** The acted-for person as an entity: its id, roles and attributes. */
  actingForEntity: boolean;
}

export function noReads(): Reads {
  return {
    all: false, principalId: false, principalRoles: false, principalAttrs: new Set(), routeId: false, resourceTags: false,
    allParams: false, params: new Set(), resourceAttrs: new Set(), context: new Set(), actingForEntity: false,
  };
}

export function mergeReads(into: Reads, from: Reads): void {
  into.all ||= from.all;
  into.principalId ||= from.principalId;
  into.principalRoles ||= from.principalRoles;
  into.routeId ||= from.routeId;
  into.resourceTags ||= from.resourceTags;
  into.allParams ||= from.allParams;
  into.actingForEntity ||= from.actingForEntity;
  for (const a of from.principalAttrs) into.principalAttrs.add(a);
  for (const p of from.params) into.params.add(p);
  for (const a of from.resourceAttrs) into.resourceAttrs.add(a);
  for (const c of from.context) into.context.add(c);
}

const PRINCIPAL_ATTRS = new Set(['subject', 'issuer', 'provider']);
const CONTEXT_FIELDS = new Set(['stage', 'method', 'kind', 'mfa', 'clientIp', 'time', 'actingFor', 'actingForRoles']);
const UNARY = new Set(['!', 'neg', 'isEmpty']);
const BINARY = new Set(['==', '!=', '<', '<=', '>', '>=', '&&', '||', '+', '-', '*', 'contains', 'containsAll', 'containsAny']);
// Cedar's extension functions are pure functions of their arguments.
const EXTENSIONS = new Set([
  'ip', 'decimal', 'isIpv4', 'isIpv6', 'isLoopback', 'isMulticast', 'isInRange', 'lessThan', 'lessThanOrEqual', 'greaterThan',
  'greaterThanOrEqual', 'datetime', 'duration', 'offset', 'durationSince', 'toDate', 'toTime', 'toDays', 'toHours', 'toMinutes',
  'toSeconds', 'toMilliseconds',
]);

type Json = Record<string, unknown>;
type Known = 'principal' | 'resource' | 'actingFor';

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function entityLiteral(e: unknown): { type: string; id: string } | undefined {
  if (!isObj(e) || !isObj(e.Value) || !isObj(e.Value.__entity)) return undefined;
  const { type, id } = e.Value.__entity;
  return typeof type === 'string' && typeof id === 'string' ? { type, id } : undefined;
}

class Walker {
  readonly r = noReads();

  /** The entity an expression names, when it is one whose parents and attributes the key can carry. */
  known(e: unknown): Known | undefined {
    if (!isObj(e)) return undefined;
    if (e.Var === 'principal' || e.Var === 'resource') return e.Var;
    const get = e['.'];
    if (isObj(get) && get.attr === 'actingFor' && isObj(get.left) && get.left.Var === 'context') {
      this.r.context.add('actingFor');
      return 'actingFor';
    }
    return undefined;
  }

  /** The entity's own uid (type and id). */
  uid(k: Known): void {
    if (k === 'principal') this.r.principalId = true;
    else if (k === 'resource') this.r.routeId = true;
    else this.r.actingForEntity = true;
  }

  /** `k in target`: true when target is k itself or one of its parents (only ever Role entities). */
  membership(k: Known, target: unknown): void {
    const literals = isObj(target) && Array.isArray(target.Set) ? target.Set.map(entityLiteral) : [entityLiteral(target)];
    if (literals.some((l) => l === undefined)) {
      this.value(target);
      this.uid(k);
      this.parents(k);
      return;
    }
    for (const l of literals) {
      if (l?.type === 'Role') this.parents(k);
      else this.uid(k);
    }
  }

  parents(k: Known): void {
    if (k === 'principal') this.r.principalRoles = true;
    else if (k === 'actingFor') this.r.actingForEntity = true;
  }

  attr(k: Known, name: string): void {
    if (k === 'principal' && PRINCIPAL_ATTRS.has(name)) this.r.principalAttrs.add(name);
    else if (k === 'resource' && name === 'tags') this.r.resourceTags = true;
    else if (k === 'resource') this.r.resourceAttrs.add(name);
    else if (k === 'actingFor') this.r.actingForEntity = true;
    else this.r.all = true;
  }

  /** `.attr` or `has attr`: presence reads the same inputs as the value. */
  access(left: unknown, name: unknown, isHas: boolean): void {
    if (typeof name !== 'string') return void (this.r.all = true);
    if (isObj(left) && left.Var === 'context') {
      if (!CONTEXT_FIELDS.has(name)) return void (this.r.all = true);
      this.r.context.add(name);
      if (name === 'actingFor' && !isHas) this.r.actingForEntity = true;
      return;
    }
    if (isObj(left) && isObj(left.Record)) return this.value(left);
    const k = this.known(left);
    if (k === undefined) this.r.all = true;
    else this.attr(k, name);
  }

  value(e: unknown): void {
    if (this.r.all) return;
    if (!isObj(e)) return void (this.r.all = true);
    const keys = Object.keys(e);
    if (keys.length !== 1) return void (this.r.all = true);
    const op = keys[0] as string;
    const body = e[op];
    if (op === 'Value') return;
    if (op === 'Var') {
      if (body === 'principal' || body === 'resource') this.uid(body);
      else if (body !== 'action') this.r.all = true;
      return;
    }
    if (UNARY.has(op) && isObj(body)) return this.value(body.arg);
    if (BINARY.has(op) && isObj(body)) {
      this.value(body.left);
      return this.value(body.right);
    }
    if ((op === '.' || op === 'has') && isObj(body)) return this.access(body.left, body.attr, op === 'has');
    if (op === 'in' && isObj(body)) {
      const k = this.known(body.left);
      if (k === undefined) return void (this.r.all = true);
      return this.membership(k, body.right);
    }
    if (op === 'is' && isObj(body)) {
      const k = this.known(body.left);
      if (k === undefined) this.value(body.left);
      if (body.in === undefined) return;
      if (k === undefined) return void (this.r.all = true);
      return this.membership(k, body.in);
    }
    if ((op === 'hasTag' || op === 'getTag') && isObj(body)) {
      if (!isObj(body.left) || body.left.Var !== 'resource') return void (this.r.all = true);
      const right = body.right;
      if (isObj(right) && typeof right.Value === 'string') this.r.params.add(right.Value);
      else {
        this.r.allParams = true;
        this.value(right);
      }
      return;
    }
    if (op === 'like' && isObj(body)) return this.value(body.left);
    if (op === 'if-then-else' && isObj(body)) {
      for (const part of [body.if, body.then, body.else]) this.value(part);
      return;
    }
    if (op === 'Set' && Array.isArray(body)) return body.forEach((x) => this.value(x));
    if (op === 'Record' && isObj(body)) return Object.values(body).forEach((x) => this.value(x));
    if (EXTENSIONS.has(op) && Array.isArray(body)) return body.forEach((x) => this.value(x));
    this.r.all = true;
  }

  scope(k: 'principal' | 'resource', s: unknown): void {
    if (!isObj(s)) return void (this.r.all = true);
    if (s.op === 'All' || (s.op === 'is' && s.in === undefined)) return;
    const target = s.op === 'is' && isObj(s.in) ? s.in.entity : s.entity;
    const literal = isObj(target) ? entityLiteral({ Value: { __entity: target } }) : undefined;
    if (literal === undefined || (s.op !== '==' && s.op !== 'in' && s.op !== 'is')) return void (this.r.all = true);
    if (s.op === '==') this.uid(k);
    else this.membership(k, { Value: { __entity: literal } });
  }
}

/** A policy's analysis: what it reads, and which intents its action scope can match. */
export interface PolicyReads {
  reads: Reads;
  /** False when the policy's action scope cannot match the intent (memberOf: the intent and its action groups). */
  appliesTo(intent: string, memberOf: ReadonlySet<string>): boolean;
}

const always = (): boolean => true;

function actionFilter(scope: unknown): PolicyReads['appliesTo'] {
  if (!isObj(scope) || scope.op === 'All') return always;
  const list = scope.op === 'in' && Array.isArray(scope.entities) ? scope.entities : [scope.entity];
  const ids: string[] = [];
  for (const a of list) {
    if (!isObj(a) || a.type !== 'Action' || typeof a.id !== 'string') return always;
    ids.push(a.id);
  }
  if (scope.op === '==' && ids.length === 1) return (intent) => intent === ids[0];
  if (scope.op === 'in') return (_intent, memberOf) => ids.some((id) => memberOf.has(id));
  return always;
}

export function analyzePolicy(text: string): PolicyReads {
  const parsed = policyJson(text);
  const w = new Walker();
  if (parsed.type === 'failure') {
    w.r.all = true;
    return { reads: w.r, appliesTo: always };
  }
  const json = parsed.json as unknown as Json;
  w.scope('principal', json.principal);
  w.scope('resource', json.resource);
  const conditions = Array.isArray(json.conditions) ? json.conditions : [];
  for (const c of conditions) w.value(isObj(c) ? c.body : undefined);
  return { reads: w.r, appliesTo: actionFilter(json.action) };
}
