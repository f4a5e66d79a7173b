// A uPlot time-series chart that fills its container's width and redraws when the data changes.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface SeriesSpec {
  label: string;
  color: string;
  fill?: string;
  unit?: string;
  /** Counts per bucket read best as bars; measurements as a line with points. */
  bars?: boolean;
}

const HEIGHT = 190;
const barPaths = uPlot.paths.bars?.({ size: [0.7, 24], gap: 1 });

function axisColor(): uPlot.Axis {
  return {
    stroke: '#64748b',
    grid: { stroke: '#eef1f5', width: 1 },
    ticks: { stroke: '#e2e8f0', width: 1 },
    font: '11px system-ui, sans-serif',
  };
}

export function TimeChart({ testid, title, series, data }: { testid: string; title: string; series: SeriesSpec[]; data: uPlot.AlignedData }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);

  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: HEIGHT,
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, min, max) => [0, Math.max(1, max, min)] } },
      axes: [axisColor(), { ...axisColor(), size: 44 }],
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: s.bars === true ? 1 : 1.75,
          ...(s.fill === undefined ? {} : { fill: s.fill }),
          ...(s.bars === true && barPaths !== undefined ? { paths: barPaths, points: { show: false } } : { points: { size: 5 } }),
          spanGaps: false,
          value: (_u: uPlot, v: number | null) => (v === null ? '-' : `${Math.round(v * 10) / 10}${s.unit ?? ''}`),
        })),
      ],
    };
    const chart = new uPlot(opts, data, el);
    plot.current = chart;
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(200, el.clientWidth), height: HEIGHT }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = undefined;
    };
    // the chart is built once per series layout; data updates go through setData below
  }, [series.map((s) => s.label).join()]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  return (
    <div class="card chart-card">
      <h2>{title}</h2>
      <div class="chart" data-testid={testid} ref={box} />
    </div>
  );
}
