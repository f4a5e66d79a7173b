// Which stage cells of a route to highlight (GET /api/routes says only whether the stages differ).
import type { StageGrants } from './types.ts';

/**
 * The stages whose grants differ from the others: those not holding the one most common value
 * (every stage when no single value is most common). Stages whose config does not load are left out.
 */
export function differingStages(grants: Record<string, StageGrants>): Set<string> {
  const shown = Object.entries(grants).filter(([, g]) => !('unavailable' in g));
  const counts = new Map<string, number>();
  const keyOf = new Map<string, string>();
  for (const [stage, g] of shown) {
    const key = JSON.stringify(g);
    keyOf.set(stage, key);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  if (counts.size <= 1) return new Set();
  const max = Math.max(...counts.values());
  const leaders = [...counts.values()].filter((c) => c === max).length;
  return new Set(shown.map(([stage]) => stage).filter((stage) => leaders > 1 || counts.get(keyOf.get(stage) ?? '') !== max));
}
