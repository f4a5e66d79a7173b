// Fixed-rate latency: runs bench/lib/fixed-rate-worker.ts (autocannon, overallRate) in a child
// process pinned to the load core, so the load generator never shares the proxy's core.
import { fileURLToPath } from 'node:url';
import { runPinned } from './processes.ts';
import type { FixedRateRequest, FixedRateResult } from './fixed-rate-worker.ts';

export type { FixedRateResult };

const WORKER = fileURLToPath(new URL('./fixed-rate-worker.ts', import.meta.url));

/** autocannon with overallRate (the load arrives in bursts at the start of each second). */
export async function runFixedRate(cpu: number, req: FixedRateRequest): Promise<FixedRateResult> {
  const r = await runPinned(cpu, process.execPath, [WORKER, JSON.stringify(req)], {
    timeoutMs: (req.warmupS + req.durationS + 60) * 1000,
  });
  const line = r.stdout.split('\n').find((l) => l.startsWith('BENCH_JSON '));
  if (r.code !== 0 || line === undefined) throw new Error(`autocannon run failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(line.slice('BENCH_JSON '.length)) as FixedRateResult;
}

/** The rate counts as sustained when at least 97% of it completed, all 2xx. */
export function sustained(r: FixedRateResult): boolean {
  return r.achievedRps >= 0.97 * r.targetRps && r.errors === 0 && r.non2xx === 0;
}
