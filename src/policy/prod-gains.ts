// The prod-wider-than-staging rule of `cortex check`: every intent a group, service or agent holds
// in prod and not in staging must be listed in prod's policy.allowProdGains, with a reason.
import type { Config } from '../config/schema.ts';
import { patternCovers } from './schema.ts';
import { diffGrantees } from './stage-diff.ts';
import type { GranteeKind } from './stage-diff.ts';

export interface ProdGain {
  kind: GranteeKind;
  name: string;
  provider: string;
  intent: string;
  /** The allowProdGains reason that lets it through; undefined when nothing allows it. */
  allowedBecause?: string;
}

/** Prod's gains over staging, each marked allowed (with its reason) or not. Empty when either stage has no policy. */
export function prodGains(staging: Config, prod: Config): ProdGain[] {
  if (staging.policy === undefined || prod.policy === undefined) return [];
  const allow = prod.policy.allowProdGains;
  const gains: ProdGain[] = [];
  for (const change of diffGrantees({ label: 'staging', config: staging }, { label: 'prod', config: prod })) {
    for (const intent of change.gained) {
      const entry = allow.find(
        (a) => a.who === `${change.kind}:${change.name}` && (a.provider === undefined || a.provider === change.provider) && a.intents.some((p) => patternCovers(p, intent)),
      );
      gains.push({ kind: change.kind, name: change.name, provider: change.provider, intent, ...(entry ? { allowedBecause: entry.reason } : {}) });
    }
  }
  return gains;
}

export function describeGain(g: ProdGain): string {
  return `${g.kind} ${g.name} (${g.provider}) holds ${g.intent} in prod and not in staging`;
}
