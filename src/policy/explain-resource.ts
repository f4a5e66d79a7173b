// The resource attributes `cortex explain` decides with: given by hand (--resource owner=bob, a
// set-typed attribute as a comma list) or looked up with the route's real attribute source (--lookup),
// which calls the live service exactly as the gateway's authz filter does.
import type { Config, RouteConfig } from '../config/schema.ts';
import { normalizeTarget } from '../gateway/normalize.ts';
import type { Router } from '../gateway/router.ts';
import { createAttributeSource, pickType } from './attribute-source.ts';
import type { AttributeLookup, AttributeValue, ResourceAttributes } from './attribute-source.ts';

/** Where explain's resource attributes come from. */
export type ExplainResourceInput =
  | { given: Readonly<Record<string, string | readonly string[]>> }
  | { lookup: AttributeLookup; url?: string | undefined };

/** What the explanation says about the resource attributes, when the route has an attribute source. */
export interface ExplainedResource {
  source: 'given' | 'lookup' | 'none';
  attributes: ResourceAttributes;
  /** For a lookup: false when the source answered 404 (the object does not exist). */
  found?: boolean;
  /** For a lookup that failed: why (the gateway denies with authz.attribute_unavailable). */
  error?: string;
}

/** `NAME=VALUE` strings from the command line → attribute values (the route decides a set's type later). */
export function parseResourceArgs(args: readonly string[]): { ok: true; given: Record<string, string> } | { ok: false; problem: string } {
  const given: Record<string, string> = {};
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0) return { ok: false, problem: `--resource takes NAME=VALUE (e.g. owner=bob), not "${arg}"` };
    given[arg.slice(0, eq)] = arg.slice(eq + 1);
  }
  return { ok: true, given };
}

/** The given attributes typed by the route's pick: a set from a comma list; names the route does not give are reported. */
export function typedAttributes(rc: RouteConfig, given: Readonly<Record<string, string | readonly string[]>>, notes: string[]): ResourceAttributes {
  const pick = rc.resource?.attributes.pick ?? {};
  const out: Record<string, AttributeValue> = {};
  for (const [name, value] of Object.entries(given)) {
    const spec = pick[name];
    if (spec === undefined) {
      notes.push(`the resource attribute ${name} is not one the route's attribute source gives (${Object.keys(pick).join(', ') || 'none'}): ignored`);
      continue;
    }
    const list = typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter((s) => s !== '') : [...value];
    if (pickType(spec) === 'set') out[name] = [...new Set(list)];
    else if (typeof value === 'string') out[name] = value;
    else notes.push(`the resource attribute ${name} is a single string, not a list: ignored`);
  }
  return out;
}

/**
 * Runs the attribute source of the route the request reaches, as the gateway would (one lookup, no
 * cache kept). Undefined when the request reaches no route, or a route with no attribute source.
 */
export async function lookupResource(world: { config: Config; router: Router<{ readonly id: string }> }, method: string, path: string, host: string | undefined): Promise<ExplainResourceInput | undefined> {
  const target = normalizeTarget(path);
  if (!target.ok) return undefined;
  const match = world.router.find(method.toUpperCase(), target.path, host ?? '');
  if (!match.found) return undefined;
  const source = world.config.routes[match.route.id]?.resource?.attributes;
  if (source === undefined) return undefined;
  return { lookup: await createAttributeSource(source).lookup(match.params) };
}
