// The signing key ring's keys as a gauge, read from the ring when Prometheus scrapes: an alert on
// the active key's age catches a rotation that stopped happening.
import { Gauge } from 'prom-client';
import type { Registry } from 'prom-client';

/** What the gauge needs of a ring key (credentials/types.ts KeyInfo, by shape). */
export interface SigningKeyInfo {
  readonly kid: string;
  readonly state: string;
  /** Unix milliseconds. */
  readonly createdAt: number;
}

export function registerSigningKeyMetrics(registry: Registry, keys: () => readonly SigningKeyInfo[] | undefined, now: () => number = Date.now): void {
  new Gauge({
    name: 'cortex_signing_key_age_seconds',
    help: "Age of each key in Cortex's signing key ring, by kid and state (next, active, retired).",
    labelNames: ['kid', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      const t = now();
      for (const k of keys() ?? []) this.set({ kid: k.kid, state: k.state }, Math.max(0, (t - k.createdAt) / 1000));
    },
  });
}
