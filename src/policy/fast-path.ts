// Deciding without calling Cedar where the answer is provably Cedar's. Each policy of an intent's set
// is compiled from its JSON form into a JavaScript predicate over the same entities toCedar builds;
// a policy using anything outside the handled subset (extension functions, `like`, arithmetic,
// `action` in a condition, ...) leaves its intent to Cedar. At decision time every case where Cedar
// would raise an error (a missing attribute or tag, a type mismatch, an entity literal whose
// parents or attributes live in the entity store) answers UNKNOWN, and the engine then asks Cedar,
// so the fast path only ever answers when no policy errored: forbids that hold deny, else permits
// that hold allow, else deny, with the holding policies' ids sorted (Cedar's diagnostics.reason).
import { policyJson } from './policy-json.ts';
import type { Identity } from '../gateway/types.ts';
import { hasMfa, uidOf } from './decision.ts';
import type { DecisionRequest, PolicyDecision } from './decision.ts';
import type { SourcedPolicy } from './policies.ts';
import type { ResourceAttributeTypes } from './schema.ts';

interface Ent {
  t: 'e';
  type: string;
  id: string;
  /** Role ids the entity is in; undefined for an entity literal (its parents are in the store). */
  ancestors?: ReadonlySet<string>;
  attrs?: Readonly<Record<string, Val>>;
  tags?: Readonly<Record<string, string>>;
}
interface VSet {
  t: 's';
  items: readonly Val[];
}
interface Rec {
  t: 'r';
  fields: Readonly<Record<string, Val>>;
}
type Val = string | boolean | number | Ent | VSet | Rec;

/** Cedar would error here, or the value depends on the entity store: ask Cedar. */
const UNKNOWN: unique symbol = Symbol('unknown');
type Out = Val | typeof UNKNOWN;

interface Env {
  principal: Ent;
  resource: Ent;
  context: Rec;
}
type Expr = (env: Env) => Out;

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isEnt = (v: Out): v is Ent => typeof v === 'object' && v.t === 'e';
const isSet = (v: Out): v is VSet => typeof v === 'object' && v.t === 's';

function literalEntity(v: unknown): Ent | undefined {
  if (!isObj(v) || typeof v.type !== 'string' || typeof v.id !== 'string') return undefined;
  return { t: 'e', type: v.type, id: v.id };
}

function equal(a: Val, b: Val): boolean {
  if (typeof a !== 'object' || typeof b !== 'object') return a === b;
  if (a.t === 'e' && b.t === 'e') return a.type === b.type && a.id === b.id;
  if (a.t === 's' && b.t === 's') return a.items.every((x) => b.items.some((y) => equal(x, y))) && b.items.every((y) => a.items.some((x) => equal(x, y)));
  if (a.t === 'r' && b.t === 'r') {
    const ka = Object.keys(a.fields);
    return ka.length === Object.keys(b.fields).length && ka.every((k) => k in b.fields && equal(a.fields[k]!, b.fields[k]!));
  }
  return false;
}

/** `left in target`, where left's parents are known (only ever Role entities). */
function isIn(left: Ent, target: Out): Out {
  if (left.ancestors === undefined) return UNKNOWN;
  const targets: readonly Out[] = isSet(target) ? target.items : [target];
  let found = false;
  for (const t of targets) {
    if (!isEnt(t)) return UNKNOWN;
    if ((t.type === left.type && t.id === left.id) || (t.type === 'Role' && left.ancestors.has(t.id))) found = true;
  }
  return found;
}

function attribute(left: Out, name: string, isHas: boolean): Out {
  const fields = isEnt(left) ? left.attrs : typeof left === 'object' && left.t === 'r' ? left.fields : undefined;
  if (fields === undefined) return UNKNOWN;
  if (isHas) return Object.hasOwn(fields, name);
  return Object.hasOwn(fields, name) ? fields[name]! : UNKNOWN;
}

const bool = (v: Out): boolean | undefined => (typeof v === 'boolean' ? v : undefined);

function binary(op: string, l: Expr, r: Expr): Expr | undefined {
  if (op === '&&' || op === '||') {
    const short = op === '||';
    return (env) => {
      const a = bool(l(env));
      if (a === undefined) return UNKNOWN;
      if (a === short) return a;
      const b = bool(r(env));
      return b === undefined ? UNKNOWN : b;
    };
  }
  const both = (f: (a: Val, b: Val) => Out): Expr => (env) => {
    const a = l(env);
    const b = r(env);
    return a === UNKNOWN || b === UNKNOWN ? UNKNOWN : f(a, b);
  };
  if (op === '==') return both(equal);
  if (op === '!=') return both((a, b) => !equal(a, b));
  if (op === 'contains') return both((a, b) => (isSet(a) ? a.items.some((x) => equal(x, b)) : UNKNOWN));
  if (op === 'containsAll' || op === 'containsAny') {
    const any = op === 'containsAny';
    return both((a, b) => {
      if (!isSet(a) || !isSet(b)) return UNKNOWN;
      const has = (y: Val): boolean => a.items.some((x) => equal(x, y));
      return any ? b.items.some(has) : b.items.every(has);
    });
  }
  if (op === 'in') return both((a, b) => (isEnt(a) ? isIn(a, b) : UNKNOWN));
  return undefined;
}

/** The expression as a predicate, or undefined when it uses anything outside the handled subset. */
export function compileExpr(e: unknown): Expr | undefined {
  if (!isObj(e)) return undefined;
  const keys = Object.keys(e);
  if (keys.length !== 1) return undefined;
  const op = keys[0]!;
  const body = e[op];
  if (op === 'Value') {
    if (typeof body === 'string' || typeof body === 'boolean' || (typeof body === 'number' && Number.isSafeInteger(body))) return () => body;
    const ent = isObj(body) ? literalEntity(body.__entity) : undefined;
    return ent === undefined ? undefined : () => ent;
  }
  if (op === 'Var') return body === 'principal' || body === 'resource' || body === 'context' ? (env) => env[body] : undefined;
  if (op === 'Set' && Array.isArray(body)) {
    const items = body.map(compileExpr);
    if (items.some((x) => x === undefined)) return undefined;
    const fs = items as Expr[];
    return (env) => {
      const vals: Val[] = [];
      for (const f of fs) {
        const v = f(env);
        if (v === UNKNOWN) return UNKNOWN;
        vals.push(v);
      }
      return { t: 's', items: vals };
    };
  }
  if (!isObj(body)) return undefined;
  if (op === '!') {
    const arg = compileExpr(body.arg);
    return arg && ((env) => {
      const v = bool(arg(env));
      return v === undefined ? UNKNOWN : !v;
    });
  }
  if ((op === '.' || op === 'has') && typeof body.attr === 'string') {
    const left = compileExpr(body.left);
    const name = body.attr;
    return left && ((env) => {
      const v = left(env);
      return v === UNKNOWN ? UNKNOWN : attribute(v, name, op === 'has');
    });
  }
  if (op === 'is' && typeof body.entity_type === 'string') {
    const left = compileExpr(body.left);
    const type = body.entity_type;
    const target = body.in === undefined ? undefined : compileExpr(body.in);
    if (left === undefined || (body.in !== undefined && target === undefined)) return undefined;
    return (env) => {
      const v = left(env);
      if (!isEnt(v)) return UNKNOWN;
      if (v.type !== type || target === undefined) return v.type === type;
      const t = target(env);
      return t === UNKNOWN ? UNKNOWN : isIn(v, t);
    };
  }
  if (op === 'hasTag' || op === 'getTag') {
    const left = compileExpr(body.left);
    const right = compileExpr(body.right);
    if (left === undefined || right === undefined) return undefined;
    return (env) => {
      const v = left(env);
      const name = right(env);
      if (!isEnt(v) || v.tags === undefined || typeof name !== 'string') return UNKNOWN;
      const present = Object.hasOwn(v.tags, name);
      if (op === 'hasTag') return present;
      return present ? v.tags[name]! : UNKNOWN;
    };
  }
  const l = compileExpr(body.left);
  const r = compileExpr(body.right);
  return l && r && binary(op, l, r);
}

/** A principal or resource scope as a predicate (`principal`, `== E`, `in E`, `is T`, `is T in E`). */
function compileScope(s: unknown, v: 'principal' | 'resource'): Expr | undefined {
  if (!isObj(s)) return undefined;
  if (s.op === 'All') return () => true;
  const entity = s.op === 'is' ? (isObj(s.in) ? literalEntity(s.in.entity) : undefined) : literalEntity(s.entity);
  if (s.op === '==' && entity) return (env) => equal(env[v], entity);
  if (s.op === 'in' && entity) return (env) => isIn(env[v], entity);
  if (s.op === 'is' && typeof s.entity_type === 'string' && (s.in === undefined || entity)) {
    const type = s.entity_type;
    return (env) => env[v].type === type && (entity === undefined || isIn(env[v], entity) === true);
  }
  return undefined;
}

/** True for the action scopes on which policy-inputs' appliesTo is exact. */
function exactActionScope(s: unknown): boolean {
  if (!isObj(s)) return false;
  if (s.op === 'All') return true;
  const list = s.op === 'in' && Array.isArray(s.entities) ? s.entities : s.op === '==' || s.op === 'in' ? [s.entity] : [];
  return list.length > 0 && list.every((a) => isObj(a) && a.type === 'Action' && typeof a.id === 'string');
}

export interface FastPolicy {
  id: string;
  forbid: boolean;
  holds: Expr;
}

/** The policy as a predicate, or undefined when its intent must be left to Cedar. */
export function compileFastPolicy(p: SourcedPolicy): FastPolicy | undefined {
  const parsed = policyJson(p.text);
  if (parsed.type === 'failure') return undefined;
  const json = parsed.json as unknown as Json;
  if (!exactActionScope(json.action)) return undefined;
  const principal = compileScope(json.principal, 'principal');
  const resource = compileScope(json.resource, 'resource');
  if (principal === undefined || resource === undefined) return undefined;
  const conditions: { when: boolean; body: Expr }[] = [];
  for (const c of Array.isArray(json.conditions) ? json.conditions : []) {
    const body = isObj(c) && (c.kind === 'when' || c.kind === 'unless') ? compileExpr(c.body) : undefined;
    if (body === undefined || !isObj(c)) return undefined;
    conditions.push({ when: c.kind === 'when', body });
  }
  const holds: Expr = (env) => {
    if (principal(env) !== true || resource(env) !== true) return false;
    for (const c of conditions) {
      const v = bool(c.body(env));
      if (v === undefined) return UNKNOWN;
      if (v !== c.when) return false;
    }
    return true;
  };
  return { id: p.id, forbid: json.effect === 'forbid', holds };
}

function personEntity(who: Identity, type: string): Ent {
  const roles = who.kind === 'anonymous' ? [] : who.roles;
  const attrs: Record<string, Val> = who.kind === 'anonymous' ? {} : { subject: who.subject, issuer: who.issuer, provider: who.provider };
  return { t: 'e', type, id: who.fingerprint, ancestors: new Set(roles), attrs };
}

/**
 * The entities and context toCedar gives Cedar, or undefined where Cedar could refuse the request
 * itself (an attribute the schema does not declare or of the wrong type, a time that is not a Long,
 * the acted-for person with the principal's own uid).
 */
export function fastEnv(req: DecisionRequest, intentTags: readonly string[], declared: ResourceAttributeTypes): Env | undefined {
  const who = req.identity;
  const time = Math.floor(req.nowMs / 1000);
  if (!Number.isSafeInteger(time)) return undefined;
  const person = who.kind === 'anonymous' ? undefined : who.onBehalfOf;
  if (person && who.kind === 'user' && person.fingerprint === who.fingerprint) return undefined;
  const attrs: Record<string, Val> = {};
  for (const [name, value] of Object.entries(req.resourceAttributes ?? {})) {
    if (typeof value !== 'string' && !Array.isArray(value)) return undefined;
    const type = declared.get(name);
    if (typeof value === 'string' ? type !== 'string' : type !== 'set' || !value.every((x) => typeof x === 'string')) return undefined;
    attrs[name] = typeof value === 'string' ? value : { t: 's', items: [...new Set(value)] };
  }
  attrs.tags = { t: 's', items: [...new Set([...req.tags, ...intentTags])] };
  const tags: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.params)) if (value !== undefined) tags[name] = value;
  const fields: Record<string, Val> = {
    stage: req.stage,
    method: who.method,
    kind: who.kind,
    mfa: hasMfa(who.claims),
    clientIp: req.clientIp,
    time,
    actingForRoles: { t: 's', items: person ? [...new Set(person.roles)] : [] },
  };
  if (person) fields.actingFor = personEntity(person, 'User');
  return {
    principal: personEntity(who, uidOf(who).type),
    resource: { t: 'e', type: 'Route', id: req.routeId, ancestors: new Set(), attrs, tags },
    context: { t: 'r', fields },
  };
}

/** The decision, or undefined when a policy's answer is UNKNOWN (Cedar decides then). */
export function decideFast(policies: readonly FastPolicy[], env: Env): PolicyDecision | undefined {
  const permits: string[] = [];
  const forbids: string[] = [];
  for (const p of policies) {
    const v = p.holds(env);
    if (v === UNKNOWN) return undefined;
    if (v === true) (p.forbid ? forbids : permits).push(p.id);
  }
  if (forbids.length > 0) return { allow: false, policyIds: forbids.sort(), reason: 'authz.denied', errors: [] };
  if (permits.length > 0) return { allow: true, policyIds: permits.sort(), reason: 'ok', errors: [] };
  return { allow: false, policyIds: [], reason: 'authz.denied', errors: [] };
}
