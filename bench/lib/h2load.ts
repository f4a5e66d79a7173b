// h2load (Debian's nghttp2-client), pinned to a core: HTTP/2 over TLS load. Its summary gives
// requests/s and outcome counts; the latency percentiles come from its per-request log
// (--log-file: start time, status, elapsed µs per line), which covers the measured period only.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runPinned } from './processes.ts';
import type { WrkResult } from './wrk.ts';

export interface H2loadOptions {
  url: string;
  cpu: number;
  connections: number;
  /** Concurrent streams per connection (h2load -m). */
  streams: number;
  durationS: number;
  /** Uncounted seconds before the measurement (h2load --warm-up-time); 0 for none. */
  warmupS: number;
  workDir: string;
  headers?: Record<string, string>;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** Parses h2load's summary and its log file into the shape of a wrk result (latencies in ms). */
export function parseH2load(stdout: string, log: string): WrkResult {
  const finished = /finished in ([\d.]+)s, ([\d.]+) req\/s/.exec(stdout);
  const reqs = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(stdout);
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(stdout);
  if (finished === null || reqs === null || codes === null) throw new Error(`h2load: no summary in its output:\n${stdout}`);
  const lines = log.split('\n').filter(Boolean);
  const lat = new Float64Array(lines.length);
  let sum = 0;
  lines.forEach((l, i) => {
    const us = Number(l.split('\t')[2]);
    lat[i] = us / 1000;
    sum += us / 1000;
  });
  lat.sort();
  const rps = Number(finished[2]);
  const succeeded = Number(reqs[4]);
  return {
    requests: succeeded,
    durationS: rps > 0 ? succeeded / rps : Number(finished[1]),
    rps,
    p50Ms: percentile(lat, 50),
    p90Ms: percentile(lat, 90),
    p99Ms: percentile(lat, 99),
    p999Ms: percentile(lat, 99.9),
    maxMs: lat.length > 0 ? lat[lat.length - 1]! : 0,
    meanMs: lat.length > 0 ? sum / lat.length : 0,
    // h2load's failed includes errored (stream errors) and timeout; the rest of it is counted as connect.
    errors: {
      connect: Math.max(0, Number(reqs[5]) - Number(reqs[6]) - Number(reqs[7])),
      read: Number(reqs[6]),
      write: 0,
      status: Number(codes[3]) + Number(codes[4]),
      timeout: Number(reqs[7]),
    },
  };
}

export async function runH2load(o: H2loadOptions): Promise<WrkResult> {
  const logFile = join(o.workDir, 'h2load-requests.log');
  rmSync(logFile, { force: true });
  const args = ['-t1', `-c${o.connections}`, `-m${o.streams}`, `-D${o.durationS}`, `--log-file=${logFile}`];
  if (o.warmupS > 0) args.push(`--warm-up-time=${o.warmupS}`);
  for (const [k, v] of Object.entries(o.headers ?? {})) args.push('-H', `${k}: ${v}`);
  args.push(o.url);
  const r = await runPinned(o.cpu, 'h2load', args, { timeoutMs: (o.warmupS + o.durationS + 30) * 1000 });
  if (r.code !== 0) throw new Error(`h2load failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  if (!/Application protocol: h2/.test(r.stdout)) throw new Error(`h2load did not negotiate h2:\n${r.stdout}`);
  const result = parseH2load(r.stdout, readFileSync(logFile, 'utf8'));
  rmSync(logFile, { force: true });
  return result;
}
