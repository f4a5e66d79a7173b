// One preparsed Cedar policy set per intent, holding only the policies whose action scope can match
// it. Cedar checks a policy's scope before its conditions and a scope cannot error, so a policy whose
// action scope cannot match the intent never contributes to a decision or its diagnostics: leaving
// it out gives the same answer. The action-scope test (policy-inputs.ts appliesTo) is exact for
// `action`, `action == A` and `action in [..]` (the intent's groups are its only ancestors, and
// groups have none) and says "applies" for any shape it does not know, so a forbid that could apply
// is always in the set. Sets are preparsed on an intent's first decision; intents with the same
// policies share one.
import { preparsePolicySet } from '@cedar-policy/cedar-wasm/nodejs';
import { describeError } from './policies.ts';
import type { SourcedPolicy } from './policies.ts';
import type { PolicyReads } from './policy-inputs.ts';
import { prefixGroups, tagGroup } from './schema.ts';
import type { ActionCatalog } from './schema.ts';

export type SetLookup = { ok: true; setId: string } | { ok: false; error: string };

/** The intent and every action group it belongs to (its wildcard groups and its tag groups). */
export function actionGroupsOf(catalog: ActionCatalog, intent: string): Set<string> {
  return new Set([intent, ...prefixGroups(intent), ...(catalog.intents.get(intent) ?? []).map(tagGroup)]);
}

/** The policies (by index into `policies`) whose action scope can match the intent. */
export function applicableTo(analysed: readonly PolicyReads[], catalog: ActionCatalog, intent: string): number[] {
  const groups = actionGroupsOf(catalog, intent);
  const out: number[] = [];
  analysed.forEach((p, i) => {
    if (p.appliesTo(intent, groups)) out.push(i);
  });
  return out;
}

export class PolicySplit {
  readonly #baseId: string;
  readonly #policies: readonly SourcedPolicy[];
  readonly #analysed: readonly PolicyReads[];
  readonly #catalog: ActionCatalog;
  /** intent → its set's id. */
  readonly #byIntent = new Map<string, SetLookup>();
  /** The applicable policies' ids joined → the set's id, so intents with the same policies share a set. */
  readonly #byMembers = new Map<string, string>();
  readonly #preparsed: string[] = [];

  constructor(baseId: string, policies: readonly SourcedPolicy[], analysed: readonly PolicyReads[], catalog: ActionCatalog) {
    this.#baseId = baseId;
    this.#policies = policies;
    this.#analysed = analysed;
    this.#catalog = catalog;
  }

  /** The indexes of the policies that can apply to the intent. */
  applicable(intent: string): number[] {
    return applicableTo(this.#analysed, this.#catalog, intent);
  }

  /** The preparsed set for the intent (made on first use). */
  setFor(intent: string): SetLookup {
    const known = this.#byIntent.get(intent);
    if (known !== undefined) return known;
    const members = this.applicable(intent).map((i) => this.#policies[i]!);
    const key = members.map((p) => p.id).join('\n');
    let setId = this.#byMembers.get(key);
    let result: SetLookup;
    if (setId === undefined) {
      setId = `${this.#baseId}/${this.#preparsed.length}`;
      const parsed = preparsePolicySet(setId, { staticPolicies: Object.fromEntries(members.map((p) => [p.id, p.text])) });
      this.#preparsed.push(setId);
      if (parsed.type === 'failure') result = { ok: false, error: parsed.errors.map(describeError).join('; ') };
      else {
        this.#byMembers.set(key, setId);
        result = { ok: true, setId };
      }
    } else result = { ok: true, setId };
    this.#byIntent.set(intent, result);
    return result;
  }

  /** How many sets were preparsed (for tests and the bench). */
  get preparsedCount(): number {
    return this.#preparsed.length;
  }

  /** cedar-wasm has no way to drop a preparsed entry: replace each with an empty one. */
  dispose(): string[] {
    for (const id of this.#preparsed) preparsePolicySet(id, { staticPolicies: {} });
    const released = [...this.#preparsed];
    this.#preparsed.length = 0;
    this.#byIntent.clear();
    this.#byMembers.clear();
    return released;
  }
}
