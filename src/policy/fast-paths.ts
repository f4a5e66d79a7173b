// The engine's fast path per intent: the intent's applicable policies compiled to predicates
// (fast-path.ts) on its first decision, or nothing when one of them is outside the handled subset.
import type { DecisionRequest, PolicyDecision } from './decision.ts';
import { compileFastPolicy, decideFast, fastEnv } from './fast-path.ts';
import type { FastPolicy } from './fast-path.ts';
import type { SourcedPolicy } from './policies.ts';
import type { PolicySplit } from './policy-split.ts';
import type { ResourceAttributeTypes } from './schema.ts';

export class FastPaths {
  readonly #policies: readonly SourcedPolicy[];
  readonly #split: PolicySplit;
  readonly #declared: ResourceAttributeTypes;
  readonly #compiled = new Map<number, FastPolicy | undefined>();
  readonly #byIntent = new Map<string, readonly FastPolicy[] | undefined>();

  constructor(policies: readonly SourcedPolicy[], split: PolicySplit, declared: ResourceAttributeTypes = new Map()) {
    this.#policies = policies;
    this.#split = split;
    this.#declared = declared;
  }

  /** The intent's policies as predicates, or undefined when Cedar must decide it. */
  forIntent(intent: string): readonly FastPolicy[] | undefined {
    if (this.#byIntent.has(intent)) return this.#byIntent.get(intent);
    const out: FastPolicy[] = [];
    let ok = true;
    for (const i of this.#split.applicable(intent)) {
      if (!this.#compiled.has(i)) this.#compiled.set(i, compileFastPolicy(this.#policies[i]!));
      const p = this.#compiled.get(i);
      if (p === undefined) ok = false;
      else out.push(p);
    }
    const result = ok ? out : undefined;
    this.#byIntent.set(intent, result);
    return result;
  }

  /** The decision Cedar would give, or undefined when only Cedar can tell. */
  decide(req: DecisionRequest, intentTags: readonly string[]): PolicyDecision | undefined {
    const policies = this.forIntent(req.intent);
    if (policies === undefined) return undefined;
    const env = fastEnv(req, intentTags, this.#declared);
    return env === undefined ? undefined : decideFast(policies, env);
  }
}
