// Who gains and loses which intents between two configs (two stages of one file, or two versions
// of a file for one stage), per identity-provider group through each side's claim-to-role mapping,
// per service client and per agent client: a role-by-role comparison would miss a mapping that
// widens (support → [support, admin] in prod). Hand-written Cedar is compared by policy id only.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../config/schema.ts';
import { parseFiles } from './policies.ts';
import { patternCovers } from './schema.ts';

export interface DiffSide {
  /** How the side is named in the output: a stage, or a file and its stage. */
  label: string;
  config: Config;
}

export type GranteeKind = 'group' | 'service' | 'agent';

export interface GranteeChange {
  kind: GranteeKind;
  name: string;
  provider: string;
  gained: string[];
  lost: string[];
}

export interface PolicyFileChanges {
  added: string[];
  removed: string[];
  changed: string[];
}

export interface GrantDiff {
  from: string;
  to: string;
  changes: GranteeChange[];
  policies: PolicyFileChanges;
  notes: string[];
}

type Grants = Readonly<Record<string, readonly string[]>>;

/** Every concrete intent either side knows: its routes' intents and the exact intents its grants name. */
function intentUniverse(sides: readonly DiffSide[]): string[] {
  const all = new Set<string>();
  for (const { config } of sides) {
    for (const rc of Object.values(config.routes)) if (rc.intent !== undefined) all.add(rc.intent);
    for (const patterns of Object.values(config.policy?.grants ?? {})) for (const p of patterns) if (p !== '*' && !p.endsWith(':*')) all.add(p);
  }
  return [...all].sort();
}

function tagsOf(config: Config): Map<string, readonly string[]> {
  const tags = new Map<string, readonly string[]>();
  for (const rc of Object.values(config.routes)) if (rc.intent !== undefined) tags.set(rc.intent, rc.tags);
  return tags;
}

function held(grants: Grants, roles: readonly string[], universe: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const role of roles) for (const p of grants[role] ?? []) for (const i of universe) if (patternCovers(p, i)) out.add(i);
  return out;
}

interface Holdings {
  /** `kind\0provider\0name` → intents held. */
  sets: Map<string, Set<string>>;
}

function keyOf(kind: GranteeKind, provider: string, name: string): string {
  return `${kind}\u0000${provider}\u0000${name}`;
}

/** Each grantee's intents on one side; `names` are the groups and clients of both sides, per provider. */
function holdings(side: DiffSide, universe: readonly string[], names: Map<string, { groups: Set<string>; services: Set<string>; agents: Set<string> }>): Holdings {
  const grants = side.config.policy?.grants ?? {};
  const forbid = side.config.policy?.agents.forbidTags ?? [];
  const tags = tagsOf(side.config);
  const sets = new Map<string, Set<string>>();
  for (const [provider, n] of names) {
    const cfg = side.config.identity.providers[provider];
    for (const group of n.groups) {
      const mapped = cfg?.roles.map[group];
      const roles = mapped ?? (cfg?.roles.keepUnmapped ? [group] : []);
      sets.set(keyOf('group', provider, group), held(grants, roles, universe));
    }
    for (const service of n.services) sets.set(keyOf('service', provider, service), held(grants, cfg?.services[service]?.roles ?? [], universe));
    for (const agent of n.agents) {
      const own = held(grants, cfg?.agents[agent]?.roles ?? [], universe);
      for (const i of own) if ((tags.get(i) ?? []).some((t) => forbid.includes(t))) own.delete(i);
      sets.set(keyOf('agent', provider, agent), own);
    }
  }
  return { sets };
}

function granteeNames(sides: readonly DiffSide[], notes: string[]): Map<string, { groups: Set<string>; services: Set<string>; agents: Set<string> }> {
  const names = new Map<string, { groups: Set<string>; services: Set<string>; agents: Set<string> }>();
  const roleNames = new Set(sides.flatMap((s) => Object.keys(s.config.policy?.grants ?? {})));
  for (const side of sides) {
    for (const [provider, cfg] of Object.entries(side.config.identity.providers)) {
      const n = names.get(provider) ?? { groups: new Set(), services: new Set(), agents: new Set() };
      names.set(provider, n);
      for (const [group, roles] of Object.entries(cfg.roles.map)) if (roles !== null) n.groups.add(group);
      if (cfg.roles.keepUnmapped) {
        for (const role of roleNames) n.groups.add(role);
        const note = `provider ${provider} keeps unmapped groups (keepUnmapped) in ${side.label}: groups named like a role are compared as that role; any other unmapped group holds nothing`;
        if (!notes.includes(note)) notes.push(note);
      }
      for (const s of Object.keys(cfg.services)) n.services.add(s);
      for (const a of Object.keys(cfg.agents)) n.agents.add(a);
    }
  }
  return names;
}

/** Hand-written policies by id; a file that cannot be read or parsed is noted, not fatal (diff is a report). */
function policyTexts(side: DiffSide, notes: string[]): Map<string, string> {
  const files: { path: string; text: string }[] = [];
  for (const file of side.config.policy?.files ?? []) {
    try {
      files.push({ path: file, text: readFileSync(resolve(file), 'utf8') });
    } catch (err) {
      notes.push(`${side.label}: the policy file ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  const parsed = parseFiles(files);
  for (const p of parsed.problems) notes.push(`${side.label}: ${p}`);
  return new Map(parsed.policies.map((p) => [p.id, p.text.trim()]));
}

export function diffPolicyFiles(a: DiffSide, b: DiffSide, notes: string[]): PolicyFileChanges {
  const before = policyTexts(a, notes);
  const after = policyTexts(b, notes);
  return {
    added: [...after.keys()].filter((id) => !before.has(id)).sort(),
    removed: [...before.keys()].filter((id) => !after.has(id)).sort(),
    changed: [...after.keys()].filter((id) => before.has(id) && before.get(id) !== after.get(id)).sort(),
  };
}

/** Only the grants part: who gains and loses which intents from side a to side b. */
export function diffGrantees(a: DiffSide, b: DiffSide, notes: string[] = []): GranteeChange[] {
  const universe = intentUniverse([a, b]);
  const names = granteeNames([a, b], notes);
  const before = holdings(a, universe, names).sets;
  const after = holdings(b, universe, names).sets;
  const changes: GranteeChange[] = [];
  for (const key of new Set([...before.keys(), ...after.keys()])) {
    const [kind, provider, name] = key.split('\u0000') as [GranteeKind, string, string];
    const x = before.get(key) ?? new Set<string>();
    const y = after.get(key) ?? new Set<string>();
    const gained = [...y].filter((i) => !x.has(i)).sort();
    const lost = [...x].filter((i) => !y.has(i)).sort();
    if (gained.length > 0 || lost.length > 0) changes.push({ kind, name, provider, gained, lost });
  }
  return changes.sort((p, q) => p.kind.localeCompare(q.kind) || p.name.localeCompare(q.name) || p.provider.localeCompare(q.provider));
}

export function diffSides(a: DiffSide, b: DiffSide): GrantDiff {
  const notes: string[] = [];
  if (a.config.policy === undefined || b.config.policy === undefined) {
    notes.push(`${a.config.policy === undefined ? a.label : b.label} has no policy section: any authenticated caller may use every route there`);
  }
  const changes = diffGrantees(a, b, notes);
  const policies = diffPolicyFiles(a, b, notes);
  notes.push('hand-written Cedar is compared by policy id only (added, removed, text changed); what a changed policy allows is not analysed');
  return { from: a.label, to: b.label, changes, policies, notes };
}

/** The stable text form: a headline, one line per change (sorted), then the notes. */
export function formatDiff(d: GrantDiff): string {
  const lines = [`diff ${d.from} → ${d.to}`];
  for (const c of d.changes) {
    const who = `${c.kind} ${c.name} (${c.provider})`;
    for (const i of c.gained) lines.push(`${who}: + ${i}`);
    for (const i of c.lost) lines.push(`${who}: - ${i}`);
  }
  if (d.changes.length === 0) lines.push('no group, service or agent gains or loses an intent');
  for (const id of d.policies.added) lines.push(`policy ${id}: added`);
  for (const id of d.policies.removed) lines.push(`policy ${id}: removed`);
  for (const id of d.policies.changed) lines.push(`policy ${id}: changed`);
  for (const n of d.notes) lines.push(`note: ${n}`);
  return `${lines.join('\n')}\n`;
}
