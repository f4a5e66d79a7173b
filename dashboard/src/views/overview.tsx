// The overview: traffic, denials and latency over the last minutes (GET /api/stats, every 10 s),
// and the signing keys with their rotation state (GET /api/keys).
import { useMemo } from 'preact/hooks';
import type uPlot from 'uplot';
import { getJson } from '../api.ts';
import { TimeChart } from '../chart.tsx';
import type { SeriesSpec } from '../chart.tsx';
import { age, dateTime, milliseconds } from '../format.ts';
import type { SigningKey, Stats } from '../types.ts';
import { usePoll } from '../use-poll.ts';

const REFRESH_MS = 10_000;

const TRAFFIC: SeriesSpec[] = [
  { label: 'requests', color: '#2563eb', fill: 'rgba(37, 99, 235, 0.55)', bars: true },
  { label: '5xx errors', color: '#f59e0b', fill: 'rgba(245, 158, 11, 0.8)', bars: true },
];
const DENIALS: SeriesSpec[] = [{ label: 'denied', color: '#dc2626', fill: 'rgba(220, 38, 38, 0.6)', bars: true }];
const LATENCY: SeriesSpec[] = [
  { label: 'p50', color: '#0d9488', unit: ' ms' },
  { label: 'p95', color: '#7c3aed', unit: ' ms' },
];

function columns(stats: Stats | undefined): { traffic: uPlot.AlignedData; denials: uPlot.AlignedData; latency: uPlot.AlignedData } {
  const b = stats?.buckets ?? [];
  const t = b.map((x) => x.t / 1000);
  return {
    traffic: [t, b.map((x) => x.requests), b.map((x) => x.errors)],
    denials: [t, b.map((x) => x.denied)],
    latency: [t, b.map((x) => x.p50Ms), b.map((x) => x.p95Ms)],
  };
}

function lastValue(values: (number | null)[]): number | null {
  for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null && values[i] !== undefined) return values[i] ?? null;
  return null;
}

function KeyState({ state }: { state: string }) {
  const cls = state === 'active' ? 'tag-ok' : state === 'retired' || state === 'revoked' ? 'tag-muted' : 'tag-info';
  return <span class={`tag ${cls}`}>{state}</span>;
}

export function Overview() {
  const stats = usePoll(() => getJson<Stats>('/api/stats?window=15m'), REFRESH_MS, []);
  const keys = usePoll(() => getJson<{ keys: SigningKey[] }>('/api/keys'), REFRESH_MS, []);
  const data = useMemo(() => columns(stats.data), [stats.data]);
  const buckets = stats.data?.buckets ?? [];
  const total = buckets.reduce((n, b) => n + b.requests, 0);
  const denied = buckets.reduce((n, b) => n + b.denied, 0);
  const errors = buckets.reduce((n, b) => n + b.errors, 0);
  const p95 = lastValue(buckets.map((b) => b.p95Ms));
  return (
    <section class="page">
      <header class="page-head">
        <div>
          <h1>Overview</h1>
          <p class="muted">The last 15 minutes, in {stats.data === undefined ? 10 : stats.data.bucketMs / 1000}-second buckets; refreshed every 10 s.</p>
        </div>
        <div class="stat-tiles">
          <div class="tile">
            <div class="tile-value">{total}</div>
            <div class="tile-label">requests</div>
          </div>
          <div class="tile">
            <div class={`tile-value ${denied > 0 ? 'text-deny' : ''}`}>{denied}</div>
            <div class="tile-label">denied</div>
          </div>
          <div class="tile">
            <div class={`tile-value ${errors > 0 ? 'text-warn' : ''}`}>{errors}</div>
            <div class="tile-label">5xx</div>
          </div>
          <div class="tile">
            <div class="tile-value">{milliseconds(p95)}</div>
            <div class="tile-label">latest p95</div>
          </div>
        </div>
      </header>
      {stats.error !== undefined && <div class="banner error">Statistics: {stats.error}</div>}
      <div class="grid-3">
        <TimeChart testid="chart-traffic" title="Traffic" series={TRAFFIC} data={data.traffic} />
        <TimeChart testid="chart-denials" title="Denials" series={DENIALS} data={data.denials} />
        <TimeChart testid="chart-latency" title="Latency" series={LATENCY} data={data.latency} />
      </div>
      <div class="card">
        <h2>Signing keys</h2>
        {keys.error !== undefined && <div class="banner error">{keys.error}</div>}
        <table class="table compact">
          <thead>
            <tr>
              <th>Key id</th>
              <th>State</th>
              <th>Algorithm</th>
              <th>Age</th>
              <th>Created</th>
              <th>Activates</th>
              <th>Retires</th>
              <th>Published</th>
            </tr>
          </thead>
          <tbody>
            {(keys.data?.keys ?? []).map((k) => (
              <tr key={k.kid} data-testid="key-row" data-kid={k.kid}>
                <td class="mono kid" title={k.kid}>
                  {k.kid}
                </td>
                <td>
                  <KeyState state={k.state} />
                </td>
                <td class="mono">{k.alg}</td>
                <td class="nowrap">{age(k.ageSeconds)}</td>
                <td class="nowrap">{dateTime(k.createdAt)}</td>
                <td class="nowrap">{dateTime(k.activatesAt)}</td>
                <td class="nowrap">{dateTime(k.retiresAt)}</td>
                <td>{k.published ? 'yes' : 'no'}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {keys.data !== undefined && keys.data.keys.length === 0 && <div class="empty">No signing keys.</div>}
      </div>
    </section>
  );
}
