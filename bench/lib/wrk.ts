// wrk, pinned to a core, with a Lua done() hook that prints the summary as one JSON line.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runPinned } from './processes.ts';

export interface WrkResult {
  requests: number;
  durationS: number;
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  meanMs: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
}

const MARK = 'BENCH_JSON ';

// wrk reports latency in microseconds; summary.duration is in microseconds too.
const DONE_LUA = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '${MARK}{"requests":%d,"duration_us":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"mean":%.3f,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\\n',
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout))
end
`;

export function writeWrkScript(workDir: string): string {
  const file = join(workDir, 'wrk-done.lua');
  writeFileSync(file, DONE_LUA);
  return file;
}

export interface WrkOptions {
  url: string;
  cpu: number;
  connections: number;
  durationS: number;
  script: string;
  headers?: Record<string, string>;
}

export async function runWrk(o: WrkOptions): Promise<WrkResult> {
  const args = ['-t1', `-c${o.connections}`, `-d${o.durationS}s`, '--timeout', '5s', '-s', o.script];
  for (const [k, v] of Object.entries(o.headers ?? {})) args.push('-H', `${k}: ${v}`);
  args.push(o.url);
  const r = await runPinned(o.cpu, 'wrk', args, { timeoutMs: (o.durationS + 30) * 1000 });
  const line = r.stdout.split('\n').find((l) => l.startsWith(MARK));
  if (r.code !== 0 || line === undefined) {
    throw new Error(`wrk failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  const j = JSON.parse(line.slice(MARK.length)) as Record<string, number>;
  const n = (k: string): number => j[k] ?? 0;
  const durationS = n('duration_us') / 1e6;
  return {
    requests: n('requests'),
    durationS,
    rps: durationS > 0 ? n('requests') / durationS : 0,
    p50Ms: n('p50') / 1000,
    p90Ms: n('p90') / 1000,
    p99Ms: n('p99') / 1000,
    p999Ms: n('p999') / 1000,
    maxMs: n('max') / 1000,
    meanMs: n('mean') / 1000,
    errors: { connect: n('connect'), read: n('read'), write: n('write'), status: n('status'), timeout: n('timeout') },
  };
}

export function wrkErrorCount(r: WrkResult): number {
  const e = r.errors;
  return e.connect + e.read + e.write + e.status + e.timeout;
}
