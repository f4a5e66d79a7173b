// Counter and histogram families for per-request metrics. prom-client's label children re-hash and
// re-validate their labels on every inc()/observe() (about 0.4 us for five labels); these keep
// each series as a plain object found by one Map lookup, and build prom-client's export shape
// only when scraped. They register into a prom-client Registry like any built-in metric.
import type { Metric, Registry } from 'prom-client';

type Labels = Record<string, string>;

interface ExportedValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

export interface CounterSeries {
  value: number;
}

interface CounterEntry extends CounterSeries {
  readonly labels: Labels;
}

export interface HistogramSeries {
  /** Non-cumulative count per bucket; the last slot is +Inf. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

interface HistogramEntry extends HistogramSeries {
  readonly labels: Labels;
}

/** The separator for series keys: NUL cannot occur in a route, method, code or sink name. */
export const KEY_SEPARATOR = '\u0000';

function labelsOf(names: readonly string[], values: readonly string[]): Labels {
  if (values.length !== names.length) throw new Error(`expected ${names.length} label values, got ${values.length}`);
  const labels: Labels = {};
  names.forEach((name, i) => (labels[name] = values[i] ?? ''));
  return labels;
}

abstract class Family<E> {
  // Not readonly: the Registry renames counters when it renders OpenMetrics.
  name: string;
  readonly help: string;
  abstract readonly type: 'counter' | 'histogram';
  readonly aggregator = 'sum';
  protected readonly labelNames: readonly string[];
  protected readonly entries = new Map<string, E>();

  constructor(registry: Registry, name: string, help: string, labelNames: readonly string[]) {
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
    // Duck-typed: the Registry only calls get(), reset() and reads name/help/type/aggregator.
    registry.registerMetric(this as unknown as Metric);
  }

  reset(): void {
    this.entries.clear();
  }

  abstract get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: ExportedValue[] }>;
}

export class CounterFamily extends Family<CounterEntry> {
  readonly type = 'counter';

  /** The series for `key` (label values joined with KEY_SEPARATOR), or undefined before its first use. */
  find(key: string): CounterSeries | undefined {
    return this.entries.get(key);
  }

  create(key: string, values: readonly string[]): CounterSeries {
    const entry: CounterEntry = { labels: labelsOf(this.labelNames, values), value: 0 };
    this.entries.set(key, entry);
    return entry;
  }

  /** Convenience for cold paths; hot paths call find() ?? create() with a key they build inline. */
  inc(values: readonly string[], by = 1): void {
    const key = values.join(KEY_SEPARATOR);
    (this.find(key) ?? this.create(key, values)).value += by;
  }

  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: ExportedValue[] }> {
    const values: ExportedValue[] = [];
    for (const e of this.entries.values()) values.push({ value: e.value, labels: e.labels });
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }
}

export class HistogramFamily extends Family<HistogramEntry> {
  readonly type = 'histogram';
  private readonly bounds: readonly number[];

  constructor(registry: Registry, name: string, help: string, labelNames: readonly string[], buckets: readonly number[]) {
    super(registry, name, help, labelNames);
    this.bounds = [...buckets].sort((a, b) => a - b);
  }

  find(key: string): HistogramSeries | undefined {
    return this.entries.get(key);
  }

  create(key: string, values: readonly string[]): HistogramSeries {
    const entry: HistogramEntry = {
      labels: labelsOf(this.labelNames, values),
      counts: new Float64Array(this.bounds.length + 1),
      sum: 0,
      count: 0,
    };
    this.entries.set(key, entry);
    return entry;
  }

  observe(series: HistogramSeries, value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    series.counts[i]! += 1;
    series.sum += value;
    series.count += 1;
  }

  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: ExportedValue[] }> {
    const values: ExportedValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const e of this.entries.values()) {
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += e.counts[i] ?? 0;
        values.push({ value: cumulative, labels: { le, ...e.labels }, metricName: bucket });
      });
      values.push({ value: e.count, labels: { le: '+Inf', ...e.labels }, metricName: bucket });
      values.push({ value: e.sum, labels: e.labels, metricName: `${this.name}_sum` });
      values.push({ value: e.count, labels: e.labels, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }
}
