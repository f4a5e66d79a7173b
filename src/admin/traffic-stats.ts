// GET /api/stats: traffic, denials, 5xx errors and latency over the last hour, in 10-second buckets,
// for the dashboard's charts. Kept in memory since the process started, fed by the audit log's
// subscription (request events only, counted when they are recorded). Each bucket holds counters and
// a small fixed latency histogram, so memory is constant whatever the traffic.
import type { AuditEvent } from '../audit/event.ts';
import { isDenied } from './events-stream.ts';
import { jsonReply, problemReply } from './replies.ts';
import type { AdminReply } from './replies.ts';

export const BUCKET_MS = 10_000;
const HOUR_MS = 3_600_000;
const SLOTS = HOUR_MS / BUCKET_MS;
export const WINDOWS: Readonly<Record<string, number>> = { '15m': 15 * 60_000, '1h': HOUR_MS };

/** Upper bounds (ms) of the latency histogram's bins; one more bin holds everything above the last. */
export const LATENCY_BOUNDS_MS = [1, 2, 3, 5, 7.5, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1_000, 1_500, 2_000, 3_000, 5_000, 10_000, 30_000];

interface Bucket {
  /** Bucket start (ms); a slot whose start is not the one asked for is stale, i.e. empty. */
  t: number;
  requests: number;
  denied: number;
  errors: number;
  /** Latency histogram (LATENCY_BOUNDS_MS bins + overflow) and the largest latency seen. */
  bins: Uint32Array;
  maxMs: number;
}

export interface StatsBucket {
  t: number;
  requests: number;
  denied: number;
  errors: number;
  p50Ms: number | null;
  p95Ms: number | null;
}

export interface TrafficStats {
  /** Counts one audit event (system events are ignored). */
  observe(event: AuditEvent, now?: number): void;
  /** The buckets covering the last `windowMs`, oldest first, empty ones included. */
  buckets(windowMs: number, now?: number): StatsBucket[];
}

/** The q-quantile of a histogram: linear within the bin it falls in, never above the largest value seen. */
export function quantile(bins: Uint32Array, count: number, q: number, maxMs: number): number | null {
  if (count === 0) return null;
  const rank = q * count;
  let seen = 0;
  for (let i = 0; i < bins.length; i++) {
    const n = bins[i] ?? 0;
    if (n === 0) continue;
    if (seen + n >= rank) {
      const lower = i === 0 ? 0 : (LATENCY_BOUNDS_MS[i - 1] ?? 0);
      const upper = LATENCY_BOUNDS_MS[i] ?? maxMs;
      const value = lower + ((upper - lower) * (rank - seen)) / n;
      return Math.round(Math.min(value, maxMs) * 1000) / 1000;
    }
    seen += n;
  }
  return maxMs;
}

function binOf(ms: number): number {
  let i = 0;
  while (i < LATENCY_BOUNDS_MS.length && ms > (LATENCY_BOUNDS_MS[i] ?? Infinity)) i++;
  return i;
}

export function createTrafficStats(clock: () => number = Date.now): TrafficStats {
  const slots: Bucket[] = Array.from({ length: SLOTS }, () => ({ t: -1, requests: 0, denied: 0, errors: 0, bins: new Uint32Array(LATENCY_BOUNDS_MS.length + 1), maxMs: 0 }));
  const slotFor = (start: number): Bucket => {
    const slot = slots[Math.floor(start / BUCKET_MS) % SLOTS] as Bucket;
    if (slot.t !== start) {
      slot.t = start;
      slot.requests = 0;
      slot.denied = 0;
      slot.errors = 0;
      slot.bins.fill(0);
      slot.maxMs = 0;
    }
    return slot;
  };
  return {
    observe(event, now = clock()) {
      if (event.type !== 'request') return;
      const b = slotFor(now - (now % BUCKET_MS));
      b.requests++;
      if (isDenied(event)) b.denied++;
      if (event.outcome.status >= 500) b.errors++;
      const ms = event.outcome.durationMs;
      if (Number.isFinite(ms) && ms >= 0) {
        const bin = binOf(ms);
        b.bins[bin] = (b.bins[bin] ?? 0) + 1;
        if (ms > b.maxMs) b.maxMs = ms;
      }
    },
    buckets(windowMs, now = clock()) {
      const current = now - (now % BUCKET_MS);
      const count = Math.min(SLOTS, Math.max(1, Math.ceil(windowMs / BUCKET_MS)));
      const out: StatsBucket[] = [];
      for (let t = current - (count - 1) * BUCKET_MS; t <= current; t += BUCKET_MS) {
        const slot = slots[Math.floor(t / BUCKET_MS) % SLOTS] as Bucket;
        if (slot.t !== t) {
          out.push({ t, requests: 0, denied: 0, errors: 0, p50Ms: null, p95Ms: null });
          continue;
        }
        const timed = slot.bins.reduce((sum, n) => sum + n, 0);
        out.push({ t, requests: slot.requests, denied: slot.denied, errors: slot.errors, p50Ms: quantile(slot.bins, timed, 0.5, slot.maxMs), p95Ms: quantile(slot.bins, timed, 0.95, slot.maxMs) });
      }
      return out;
    },
  };
}

/** GET /api/stats?window=15m|1h (15m by default). */
export function statsEndpoint(ctx: { requestId: string; query: URLSearchParams }, stats: TrafficStats | undefined, now: number = Date.now()): AdminReply {
  if (stats === undefined) return problemReply('admin.not_found', ctx.requestId, 'This gateway does not keep traffic statistics (no audit subscription).');
  for (const name of ctx.query.keys()) {
    if (name !== 'window') return problemReply('request.malformed', ctx.requestId, `Unknown parameter "${name}".`);
  }
  const window = ctx.query.get('window') ?? '15m';
  const windowMs = Object.hasOwn(WINDOWS, window) ? WINDOWS[window] : undefined;
  if (windowMs === undefined) return problemReply('request.malformed', ctx.requestId, `window must be one of ${Object.keys(WINDOWS).join(', ')}.`);
  return jsonReply(200, { bucketMs: BUCKET_MS, now, buckets: stats.buckets(windowMs, now) });
}
