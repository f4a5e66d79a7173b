// Runs in its own process (pinned by the parent with taskset): autocannon at a fixed overall rate.
// Prints one JSON line (FixedRateResult) on stdout.
//
// Latencies are taken from autocannon's 'response' events (hrtime, fractional ms) rather than from
// its histogram, which stores whole milliseconds and, with a rate set, adds coordinated-omission
// corrections of a 1 ms interval; both are reported.
import { readFileSync } from 'node:fs';
import autocannon, { type Options } from 'autocannon';

export interface FixedRateRequest {
  url: string;
  rate: number;
  connections: number;
  durationS: number;
  /** Seconds of an identical, uncounted autocannon run first (warms up the generator's JIT). */
  warmupS: number;
  headers?: Record<string, string>;
  /** A file of access tokens, one a line: each request sends the next as `Authorization: Bearer`. */
  tokensFile?: string;
}

export interface FixedRateResult {
  targetRps: number;
  achievedRps: number;
  /** Requests completed by the warm-up run. */
  warmupCompleted: number;
  durationS: number;
  completed: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** autocannon's own p99 (whole ms, coordinated-omission corrected). */
  autocannonP99Ms: number;
  /** Highest rate seen over any 100 ms window. */
  peak100msRps: number;
  /** Share of 10 ms slots in which at least one response completed (1 = evenly spread). */
  activeShare: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** Request options: the static headers, or a setupRequest rotating through the tokens file. */
function requestOptions(req: FixedRateRequest): Pick<Options, 'headers' | 'requests'> {
  if (req.tokensFile === undefined) return { headers: req.headers };
  // A line is a token, or "token METHOD /path" (the request's method and path too).
  const lines = readFileSync(req.tokensFile, 'utf8').split('\n').filter((l) => l !== '').map((l) => l.split(/\s+/));
  if (lines.length === 0) throw new Error(`no tokens in ${req.tokensFile}`);
  let next = 0;
  return {
    headers: req.headers,
    requests: [
      {
        setupRequest: (r) => {
          const [token, method, path] = lines[next]!;
          next = (next + 1) % lines.length;
          const target = method !== undefined && path !== undefined ? { method: method as typeof r.method, path } : {};
          return { ...r, ...target, headers: { ...r.headers, authorization: `Bearer ${token ?? ''}` } };
        },
      },
    ],
  };
}

async function main(): Promise<void> {
  const req = JSON.parse(process.argv[2] ?? '{}') as FixedRateRequest;
  const reqOpts = requestOptions(req);
  let lat = new Float64Array(Math.max(1024, Math.ceil(req.rate * req.durationS * 1.5)));
  let n = 0;
  const slots = new Uint32Array(req.durationS * 100 + 200); // 10 ms slots

  let warmupCompleted = 0;
  if (req.warmupS > 0) {
    const w = await autocannon({
      url: req.url,
      connections: req.connections,
      duration: req.warmupS,
      overallRate: req.rate,
      ...reqOpts,
      timeout: 10,
    });
    warmupCompleted = w['2xx'] + w.non2xx;
  }

  const instance = autocannon({
    url: req.url,
    connections: req.connections,
    duration: req.durationS,
    overallRate: req.rate,
    ...reqOpts,
    timeout: 10,
  });
  const start = performance.now();
  instance.on('response', (_client, statusCode, _bytes, ms) => {
    if (statusCode < 200 || statusCode >= 300) return;
    if (n === lat.length) {
      const bigger = new Float64Array(lat.length * 2);
      bigger.set(lat);
      lat = bigger;
    }
    lat[n++] = ms;
    const slot = Math.floor((performance.now() - start) / 10);
    if (slot < slots.length) slots[slot]!++;
  });
  const r = await instance;

  const sorted = lat.subarray(0, n).sort();
  const usedSlots = Math.min(slots.length, Math.floor((r.duration * 1000) / 10));
  let active = 0;
  let peak = 0;
  let window = 0;
  for (let i = 0; i < usedSlots; i++) {
    if (slots[i]! > 0) active++;
    window += slots[i]!;
    if (i >= 10) window -= slots[i - 10]!;
    if (i >= 9) peak = Math.max(peak, window * 10);
  }
  const completed = r['2xx'] + r.non2xx;
  const result: FixedRateResult = {
    targetRps: req.rate,
    achievedRps: completed / r.duration,
    warmupCompleted,
    durationS: r.duration,
    completed,
    ok2xx: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    p50Ms: percentile(sorted, 50),
    p90Ms: percentile(sorted, 90),
    p99Ms: percentile(sorted, 99),
    p999Ms: percentile(sorted, 99.9),
    maxMs: percentile(sorted, 100),
    autocannonP99Ms: r.latency.p99,
    peak100msRps: peak,
    activeShare: usedSlots > 0 ? active / usedSlots : 0,
  };
  process.stdout.write(`BENCH_JSON ${JSON.stringify(result)}\n`);
}

await main();
