// npx node bench/policy-decisions.ts [--requests N]
//
// The in-process policy microbench (bench/lib/policy-microbench.ts): ~1,000 policies, 1,000 users
// over 20 routes, uncached decision latency before the split, with it, and with the fast path.
import { parseArgs } from 'node:util';
import { runPolicyMicrobench } from './lib/policy-microbench.ts';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '8000' } } });
const r = runPolicyMicrobench(Number(values.requests));
const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
console.log(`policies: ${r.policies}, requests: ${r.requests} (${pct(r.allowShare)} allowed), fast path answers ${pct(r.fastShare)}`);
for (const t of r.timings) console.log(`${t.label.padEnd(30)} p50 ${t.p50Us.toFixed(1)} µs  p99 ${t.p99Us.toFixed(1)} µs  mean ${t.meanUs.toFixed(1)} µs`);
console.log(`decision cache over the mix ×10: hit rate ${pct(r.cacheHitRate)}`);
console.log(`a Cedar call on an empty set (fixed cost): p50 ${r.validation.withUs.toFixed(1)} µs with validateRequest, ${r.validation.withoutUs.toFixed(1)} µs without`);
